/**
 * Tape plan for the adjoint: which overwritten values the forward sweep saves, and what the
 * reverse sweep recomputes.
 *
 * The adjoint of a block runs its forward sweep F, then its reverse sweep R (statements backwards).
 * Invariant: R(s) starts with the state s left and ends with the state s found, as far as the
 * values R(s) and earlier statements' R read are concerned (their "needs", differentiate/needs.ts).
 * A write to a value some already-executed statement needs is preceded by a push of the old value
 * ("to be recorded", Tapenade's TBR); R pops it back. Sequential loops are reversed iteration by
 * iteration. A parallel loop nest is a *recompute scope*: its iterations are independent, so the
 * forward sweep runs it as is (saving whole arrays it overwrites and reads: a snapshot), and the
 * reverse sweep restores the snapshot, then per iteration recomputes the body's live statements
 * (liveness below) and runs the body's reverse sweep. Branches are re-evaluated in R unless the
 * branch writes what its condition reads; then the branch taken is pushed.
 *
 * The result is a side table with a printer; the IR is not annotated.
 */
import type { ForLoop, Stmt, Kernel } from '../ir/types.js';
import { readsOf } from '../ir/build.js';
import { childBlocks, declaredIn, forEachStmt, readsOfStmts, targetName, writesOf } from '../ir/walk.js';
import type { Activity } from './activity.js';
import { kernelReductionsOf, nestOf } from '../ir/reduction.js';

/** What the reverse sweep of a statement reads from the primal state (differentiate/needs.ts makes it). */
export type Needs = (s: Stmt) => ReadonlySet<string>;

export interface Scope {
  kind: 'top' | 'parallel';
  /** The perfectly nested parallel loops (outermost first); empty for the top scope. */
  nest: ForLoop[];
  body: Stmt[];
  /** Locals declared inside nested blocks: declared once at the scope's top in the adjoint. */
  hoisted: Set<string>;
  /** Active locals of the scope (their adjoints are declared before the scope's reverse sweep). */
  activeLocals: string[];
}

export interface TapePlan {
  /** decl/assign statements whose target's old value is pushed before they run in F. */
  readonly push: ReadonlySet<Stmt>;
  /** if statements whose branch is pushed (the branch writes what the condition reads). */
  readonly flag: ReadonlySet<Stmt>;
  /** Parallel loops: arrays saved whole before the loop in F and restored before its reverse. */
  readonly snapshot: ReadonlyMap<ForLoop, string[]>;
  /** Statements of parallel scopes that the reverse sweep recomputes (the others are dead there). */
  readonly live: ReadonlySet<Stmt>;
  /** Scope of each parallel nest (keyed by its outermost loop) and the top scope. */
  readonly scopes: ReadonlyMap<ForLoop | 'top', Scope>;
  /**
   * Sequential loops: body-level locals recomputed at the top of each reversed iteration instead of
   * being pushed (their value depends only on loop indices and values nothing writes).
   */
  readonly recompute: ReadonlyMap<ForLoop, Stmt[]>;
  /**
   * Sequential loops at the top of a parallel body whose results (scalar locals) the forward sweep
   * pushes after the loop, so the reverse sweep restores them instead of recomputing the loop
   * (e.g. a dot product feeding a nonlinearity). The nest's reverse sweep then runs backwards.
   */
  readonly store: ReadonlyMap<Stmt, string[]>;
  /**
   * The kernel's last statement, when it is a parallel nest whose forward and reverse sweeps can run
   * in one loop: each iteration computes its outputs, then at once its adjoint (the output adjoints
   * are known on entry). Nothing is recomputed or stored for it.
   */
  readonly fused?: ForLoop;
  /** Arrays the reverse sweep changes: saved after F and restored at the end (outputs stay K's). */
  readonly modified: ReadonlySet<string>;
  readonly usesTape: boolean;
  print(): string;
}

/** The perfect nest of `@parallel` loops starting at `loop` (ir/reduction.ts). */
export const parallelNest = nestOf;

const union = <T>(a: Iterable<T>, b: Iterable<T>): Set<T> => {
  const s = new Set(a);
  for (const x of b) s.add(x);
  return s;
};

export function planTape(kernel: Kernel, activity: Activity, needs: Needs): TapePlan {
  const push = new Set<Stmt>();
  const flag = new Set<Stmt>();
  const snapshot = new Map<ForLoop, string[]>();
  const live = new Set<Stmt>();
  const scopes = new Map<ForLoop | 'top', Scope>();
  const arrays = new Set(kernel.params.filter((p) => p.kind === 'array').map((p) => p.name));
  const modified = new Set<string>();
  const loopVars = new Set<string>();
  forEachStmt(kernel.body, (s) => {
    if (s.k === 'for') loopVars.add(s.v);
  });

  // ---- recomputation of loop-body locals (cheaper than the tape) ----
  const assigned = new Set<string>();
  const declCount = new Map<string, number>();
  forEachStmt(kernel.body, (s) => {
    if (s.k === 'assign') assigned.add(targetName(s.target));
    if (s.k === 'decl') declCount.set(s.name, (declCount.get(s.name) ?? 0) + 1);
  });
  /** Names whose value never changes once set: unwritten parameters and top-level single assignment locals. */
  const stable = new Set<string>(kernel.params.filter((p) => !assigned.has(p.name)).map((p) => p.name));
  for (const s of kernel.body)
    if (s.k === 'decl' && !assigned.has(s.name) && declCount.get(s.name) === 1) stable.add(s.name);
  const recompute = new Map<ForLoop, Stmt[]>();
  const recomputed = new Set<Stmt>();
  /** `inNest`: inside a parallel nest's body, where every loop is reversed as a sequential one. */
  const findRecompute = (body: Stmt[], loopVars: Set<string>, inNest: boolean): void => {
    for (const s of body) {
      if (s.k !== 'for') {
        for (const c of childBlocks(s)) findRecompute(c, loopVars, inNest);
        continue;
      }
      const vars = union(loopVars, [s.v]);
      // a parallel nest is not reversed: its iterations recompute their locals anyway
      if (s.parallel && !inNest) {
        findRecompute(s.body, vars, true);
        continue;
      }
      const known = union(stable, vars);
      const list: Stmt[] = [];
      for (const d of s.body) {
        if (d.k !== 'decl' || assigned.has(d.name) || declCount.get(d.name) !== 1) continue;
        if ([...readsOf(d.init)].every((n) => known.has(n))) {
          list.push(d);
          recomputed.add(d);
          known.add(d.name);
        }
      }
      if (list.length) recompute.set(s, list);
      findRecompute(s.body, vars, inNest);
    }
  };
  findRecompute(kernel.body, new Set(), false);

  /** Is `s` an opaque parallel nest in a scope of kind `kind`? */
  const isNest = (s: Stmt, kind: Scope['kind']): boolean => s.k === 'for' && s.parallel && kind === 'top';

  const isLive = (s: Stmt, kind: Scope['kind']) => kind === 'top' || live.has(s);

  /** Does the branch write what its condition reads (so R cannot re-evaluate it)? */
  const flagged = (s: Stmt & { k: 'if' }): boolean => {
    const w = writesOf([...s.then, ...s.else]);
    return [...readsOf(s.cond)].some((n) => w.has(n));
  };

  const deepMemo = new Map<Stmt, Set<string>>();
  /** Everything R(s) (including nested statements) reads from the state s found. */
  const neededDeep = (s: Stmt, kind: Scope['kind']): Set<string> => {
    let out = deepMemo.get(s);
    if (out) return out;
    if (isNest(s, kind)) {
      out = new Set(nestDemand(s as ForLoop));
    } else if (s.k === 'if') {
      // a branch whose flag is taped needs no condition in R (always so in the top scope)
      out = kind === 'top' && flagged(s) ? new Set() : readsOf(s.cond);
      for (const b of [s.then, s.else]) for (const c of b) for (const n of neededDeep(c, kind)) out.add(n);
    } else if (s.k === 'for') {
      out = union(readsOf(s.init), readsOf(s.bound));
      for (const c of s.body) for (const n of neededDeep(c, kind)) out.add(n);
      out.delete(s.v);
    } else {
      out = new Set(needs(s));
    }
    deepMemo.set(s, out);
    return out;
  };

  const store = new Map<Stmt, string[]>();
  /**
   * A sequential loop of a parallel body can be stored instead of recomputed when it writes only
   * scalars, none of which its own reverse sweep or an earlier statement's needs (so it pushes
   * nothing itself), and has no branches.
   */
  const storeCandidate = (s: Stmt, before: Set<string>): boolean => {
    if (s.k !== 'for') return false;
    let branches = false;
    forEachStmt([s], (x) => {
      if (x.k === 'if') branches = true;
    });
    if (branches) return false;
    const written = writesOf([s]);
    for (const l of loopVars) written.delete(l);
    const needed = union(neededDeep(s, 'parallel'), before);
    return [...written].every((n) => !arrays.has(n) && !needed.has(n));
  };
  const candidates = new Set<Stmt>();

  /** Backward liveness of the recompute sweep of a parallel scope; returns the demand before `body`. */
  const liveness = (body: Stmt[], after: Set<string>): Set<string> => {
    let D = new Set(after);
    for (let i = body.length - 1; i >= 0; i--) {
      const s = body[i];
      if (candidates.has(s)) {
        const outputs = [...writesOf([s])].filter((n) => D.has(n) && !declaredIn([s]).has(n)).sort();
        if (outputs.length) {
          store.set(s, outputs);
          for (const n of outputs) D.delete(n);
          D = union(D, neededDeep(s, 'parallel'));
          continue;
        }
      }
      if (s.k === 'decl' || s.k === 'assign') {
        const t = s.k === 'decl' ? s.name : targetName(s.target);
        if (D.has(t)) {
          live.add(s);
          if (s.k === 'decl' || (s.op === '=' && s.target.k === 'var')) D.delete(t);
          readsOfStmts([s], D);
        }
        for (const n of needs(s)) D.add(n);
      } else if (s.k === 'if') {
        const Dt = liveness(s.then, D);
        const De = liveness(s.else, D);
        D = union(union(Dt, De), readsOf(s.cond));
        if ([...s.then, ...s.else].some((c) => live.has(c))) live.add(s);
      } else if (s.k === 'for') {
        let end = new Set(D);
        let start: Set<string>;
        for (;;) {
          start = liveness(s.body, end);
          const next = union(end, start);
          if (next.size === end.size) break;
          end = next;
        }
        if (s.body.some((c) => live.has(c))) live.add(s);
        D = union(union(D, start), union(readsOf(s.init), readsOf(s.bound)));
        D.delete(s.v);
      } else if (s.k === 'return') {
        for (const n of needs(s)) D.add(n);
      }
    }
    return D;
  };

  /** Forward walk deciding pushes, flags and snapshots; returns the needed set after `body`. */
  const walk = (body: Stmt[], N: Set<string>, scope: Scope): Set<string> => {
    let cur = N;
    for (const s of body) {
      if (isNest(s, scope.kind)) {
        // R(P) reads (from the state P found) what its recompute and reverse sweeps demand
        const demand = nestDemand(s as ForLoop);
        const snap = snapshotArrays(s as ForLoop, demand, cur);
        if (snap.length) {
          snapshot.set(s as ForLoop, snap);
          for (const a of snap) modified.add(a);
        }
        cur = union(cur, demand);
      } else if (s.k === 'decl' || s.k === 'assign') {
        const t = s.k === 'decl' ? s.name : targetName(s.target);
        if (isLive(s, scope.kind)) {
          if (!loopVars.has(t) && !recomputed.has(s) && (cur.has(t) || needs(s).has(t))) {
            push.add(s);
            if (arrays.has(t)) modified.add(t);
          }
        }
        cur = union(cur, needs(s));
        // a scalar's new value: what R needed of the old one, this statement's push restores; a
        // later statement that overwrites it again needs no push unless something in between reads it
        if (s.k === 'decl' || s.target.k === 'var') cur.delete(t);
      } else if (s.k === 'if') {
        const a = walk(s.then, cur, scope);
        const b = walk(s.else, cur, scope);
        // R evaluates the branch only if its branches have a reverse: otherwise a flag would be dead
        // (pushed, popped, unused: `if (tape.pop() !== 0) {}`) and the condition is not read
        const work = reverseWork(s, scope.kind);
        if (isLive(s, scope.kind) && flagged(s) && work) flag.add(s);
        cur = union(union(a, b), flag.has(s) || !work ? [] : readsOf(s.cond));
      } else if (s.k === 'for') {
        // the reversed loop evaluates its bounds again; what an iteration's R needs, the R of the
        // iteration before it (run after it) must find: the demand at the loop head, to a fixed point
        let head = union(cur, union(readsOf(s.init), readsOf(s.bound)));
        for (;;) {
          const next = union(head, walk(s.body, head, scope));
          if (next.size === head.size) break;
          head = next;
        }
        cur = head;
      } else if (s.k === 'return') {
        cur = union(cur, needs(s));
      }
    }
    return cur;
  };

  /**
   * Does R of the branch `s` do anything: adjoints of active targets, pops of pushed values, a
   * parallel nest's reverse (in the top scope), a nested branch's flag?
   */
  const reverseWork = (s: Stmt & { k: 'if' }, kind: Scope['kind']): boolean => {
    let work = false;
    forEachStmt([...s.then, ...s.else], (x) => {
      if (
        (x.k === 'decl' || x.k === 'assign') &&
        (activity.isActive(x.k === 'decl' ? x.name : targetName(x.target)) || push.has(x))
      )
        work = true;
      else if (x.k === 'if' && flag.has(x)) work = true;
      else if (isNest(x, kind)) work = true;
    });
    return work;
  };

  const collectLocals = (body: Stmt[], kind: Scope['kind'], nested: boolean, scope: Scope): void => {
    for (const s of body) {
      if (isNest(s, kind)) continue;
      if (s.k === 'decl') {
        if (nested) scope.hoisted.add(s.name);
        // (a name declared in two sibling blocks, `const d` in two loops, has one adjoint)
        if (activity.isActive(s.name) && !scope.activeLocals.includes(s.name)) scope.activeLocals.push(s.name);
      }
      for (const child of childBlocks(s)) collectLocals(child, kind, true, scope);
    }
  };

  /** Arrays a parallel nest overwrites that its reverse sweep or an earlier statement needs. */
  const snapshotArrays = (loop: ForLoop, demand: Set<string>, before: Set<string>): string[] =>
    [...writesOf([loop])].filter((a) => arrays.has(a) && (before.has(a) || demand.has(a))).sort();
  /** Conservative: would any array the nest writes be snapshotted, whatever comes before it? */
  const kernelReads = readsOfStmts(kernel.body);
  const snapshotNeeded = (loop: ForLoop, demand: Set<string>): boolean =>
    [...writesOf([loop])].some((a) => arrays.has(a) && (demand.has(a) || kernelReads.has(a)));

  const demands = new Map<ForLoop, Set<string>>();
  /** What the reverse sweep of a parallel nest reads from the state the nest found. */
  const nestDemand = (loop: ForLoop): Set<string> => {
    let d = demands.get(loop);
    if (!d) {
      d = analyzeScope(loop);
      demands.set(loop, d);
    }
    return d;
  };

  const analyzeScope = (loop: ForLoop | 'top'): Set<string> => {
    const nest = loop === 'top' ? [] : parallelNest(loop);
    const body = loop === 'top' ? kernel.body : nest[nest.length - 1].body;
    const scope: Scope = {
      kind: loop === 'top' ? 'top' : 'parallel',
      nest,
      body,
      hoisted: new Set(),
      activeLocals: [],
    };
    scopes.set(loop, scope);
    collectLocals(body, scope.kind, false, scope);
    let demand = new Set<string>();
    if (scope.kind === 'parallel') {
      // loops whose results are stored rather than recomputed (not with a snapshot: LIFO order)
      let before = new Set<string>();
      for (const s of body) {
        if (storeCandidate(s, before)) candidates.add(s);
        before = union(before, neededDeep(s, 'parallel'));
      }
      demand = liveness(body, new Set());
      if (loop !== 'top' && snapshotNeeded(loop, demand)) {
        // a snapshot is popped before the recompute runs: stores would be under it on the tape
        for (const s of body) store.delete(s);
        for (const s of body) candidates.delete(s);
        demand = liveness(body, new Set());
      }
      for (const d of declaredIn(nest)) demand.delete(d);
      // A local whose declaration is dead but which a live statement assigns is declared up front.
      const assignedLive = liveWrites(body);
      for (const s of body) for (const n of store.get(s) ?? []) assignedLive.add(n);
      forEachStmt(body, (s) => {
        if (s.k === 'decl' && !live.has(s) && assignedLive.has(s.name)) scope.hoisted.add(s.name);
      });
      forEachStmt(body, (s) => {
        if (live.has(s) && s.k === 'assign' && s.target.k === 'index') modified.add(s.target.array);
      });
    }
    walk(body, new Set(), scope);
    return demand;
  };

  const liveWrites = (body: Stmt[]): Set<string> => {
    const out = new Set<string>();
    forEachStmt(body, (s) => {
      if (live.has(s) && s.k === 'assign') out.add(targetName(s.target));
    });
    return out;
  };

  analyzeScope('top');

  // Fusion of the last statement's sweeps: it must be a parallel nest without a snapshot, and what
  // its recompute sweep skips (dead there) must be safe to run in place: plain assignments whose
  // targets no reverse statement of the body reads (so they need no push).
  let fused: ForLoop | undefined;
  const last = kernel.body[kernel.body.length - 1];
  // `*`, `max` and `min` reductions: their adjoints' coefficients are known once every iteration ran
  const reductions = kernelReductionsOf(kernel);
  const coefficients = (l: ForLoop) => (reductions.get(l) ?? []).some((r) => r.op !== '+');
  if (last && last.k === 'for' && last.parallel && !snapshot.has(last) && !coefficients(last)) {
    const scope = scopes.get(last)!;
    const needed = new Set<string>();
    forEachStmt(scope.body, (x) => {
      for (const n of needs(x)) needed.add(n);
    });
    let ok = true;
    forEachStmt(scope.body, (x) => {
      if (live.has(x)) return;
      if (x.k === 'if') ok = false;
      else if (x.k === 'decl' || x.k === 'assign') {
        const t = x.k === 'decl' ? x.name : targetName(x.target);
        if (needed.has(t)) ok = false;
      }
    });
    if (ok) {
      fused = last;
      for (const x of scope.body) store.delete(x);
    }
  }

  // a nest inside a top-level loop or branch pushes what its reductions' adjoints need
  const tapedReductions = [...reductions.keys()].some((l) => coefficients(l) && !kernel.body.includes(l));
  const usesTape = push.size > 0 || flag.size > 0 || snapshot.size > 0 || store.size > 0 || tapedReductions;
  return {
    push,
    flag,
    snapshot,
    live,
    scopes,
    modified,
    usesTape,
    recompute,
    store,
    fused,
    print: () => {
      const lines = [`tape plan of ${kernel.name}:`];
      const at = (s: Stmt) => ('loc' in s && s.loc ? `line ${s.loc.line}` : '?');
      for (const s of push)
        lines.push(`  push ${s.k === 'decl' ? s.name : s.k === 'assign' ? targetName(s.target) : '?'} before ${at(s)}`);
      for (const s of flag) lines.push(`  push branch of if at ${at(s)}`);
      for (const [l, a] of snapshot) lines.push(`  snapshot ${a.join(', ')} before parallel loop at ${at(l)}`);
      for (const [l, v] of store)
        lines.push(`  store ${v.join(', ')} after the loop at ${at(l)} (instead of recomputing it)`);
      for (const [l, d] of recompute)
        lines.push(
          `  recompute ${d.map((x) => (x.k === 'decl' ? x.name : '?')).join(', ')} in each reversed iteration of the loop at ${at(l)}`,
        );
      for (const [k, sc] of scopes) {
        if (k === 'top') continue;
        const n = sc.body.filter((s) => live.has(s)).length;
        lines.push(`  parallel loop at ${at(k)}: recompute ${n} of ${sc.body.length} body statements`);
      }
      if (fused) lines.push(`  the parallel loop at ${at(fused)} runs its forward and reverse sweeps in one loop`);
      if (modified.size) lines.push(`  outputs saved across the reverse sweep: ${[...modified].sort().join(', ')}`);
      return lines.join('\n');
    },
  };
}
