/**
 * Adjoint (reverse) mode: `K_b(p, pb, …)`, state-transforming. Structure (see analysis/tape.ts):
 *   forward sweep F (the primal, plus pushes of overwritten values the reverse sweep needs),
 *   save the arrays the reverse sweep changes, reverse sweep R, restore them, return scalar adjoints.
 * A parallel loop nest's reverse sweep restores its snapshot, then per iteration recomputes the live
 * part of its body and runs the body's reverse sweep; for now it writes `xb[f(i)] +=` directly
 * (the exclusive-read analysis and gather/reduction/atomic strategies plug in here).
 */
import type { Kernel, Stmt, Expr, LValue, ForLoop } from '../ir/types.js';
import type { Activity } from '../analysis/activity.js';
import type { TapePlan, Scope } from '../analysis/tape.js';
import { Names, adjointName } from '../naming.js';
import { Linearizer, transposeOf, collectTerms, type Linearized } from './linearize.js';
import { readsOf, v, neg, num, walkExpr, sameExpr, tapeDecl } from '../ir/build.js';
import { rhsOf, isActiveTarget, accumulation } from './needs.js';
import { targetName, readsOfStmts, forEachStmt } from '../ir/walk.js';
import type { FunctionIR } from './function.js';
import { kernelReductionsOf, reductionUpdate, type NestReduction } from '../ir/reduction.js';

/**
 * The adjoint function. Each parallel nest's adjoint is left as a `nestAdjoint` statement (one pass
 * with direct updates) for the schedule phase (schedule/) to lower per target.
 */
export function adjointFunction(
  kernel: Kernel,
  activity: Activity,
  plan: TapePlan,
  names: Names,
  fileName: string,
): FunctionIR {
  const isActive = (n: string) => activity.isActive(n);
  const tape = names.tape();
  const retb = names.returnAdjoint(kernel.name);
  const bTarget = (t: LValue): LValue =>
    t.k === 'var' ? { k: 'var', name: names.b(t.name) } : { k: 'index', array: names.b(t.array), index: t.index };
  const lvalueExpr = (t: LValue): Expr => (t.k === 'var' ? v(t.name) : { k: 'index', array: t.array, index: t.index });
  const topScope = plan.scopes.get('top')!;

  const isNest = (s: Stmt, scope: Scope): boolean => s.k === 'for' && s.parallel && scope.kind === 'top';

  // ---------------- reductions of parallel nests (ir/reduction.ts) ----------------
  /**
   * A `*`, `max` or `min` reduction of an active scalar s: its result's linearization is
   * c₀·ṡ₀ + Σᵢ cᵢ·ėᵢ, an accumulation with coefficients. The forward sweep records, per nest, what
   * the coefficients need (declared before the nest, updated by each iteration; pushed after the
   * nest when it stands inside a top-level loop or branch); each iteration's reverse adds cᵢ·s̄ to
   * its contribution's adjoint, and after the nest's reverse s̄ becomes c₀·s̄.
   * - max/min: the iteration whose contribution is the result: cᵢ = 1 there, 0 elsewhere. Ties are
   *   broken as the sequential loop's adjoint does: `Math.max(s, e)` keeps the earlier value (the
   *   initial one, then the first iteration), `Math.max(e, s)` takes the later one.
   * - `*`: cᵢ = s₀·Π_{j≠i} eⱼ, from the count of zero factors and the product of the others.
   */
  interface ReductionAdjoint {
    red: NestReduction;
    /** forward sweep: before the nest */
    decls: Stmt[];
    /** what the forward sweep records, pushed after a nest that is not at the kernel's top level */
    recorded: string[];
    /** forward sweep, in the iteration: after `const t = e` */
    track: (t: string) => Stmt[];
    /** reverse sweep, in the iteration: the contribution's seed, given its value and s̄ */
    seed: (value: Expr, sb: Expr) => Expr;
    /** reverse sweep, after the nest: s̄'s new value (the initial value's adjoint) */
    initial: (sb: Expr) => Expr;
  }
  const kernelReductions = kernelReductionsOf(kernel);
  const sFirst = (red: NestReduction): boolean => {
    const u = red.updates[0];
    return u.value.k === 'call' && u.value.args[0].k === 'var' && u.value.args[0].name === red.name;
  };
  const reductionAdjoints = new Map<ForLoop, ReductionAdjoint[]>();
  const byUpdate = new Map<Stmt, ReductionAdjoint>();
  const eq = (a: Expr, b: Expr): Expr => ({ k: 'binary', op: '===', l: a, r: b });
  const cond = (c: Expr, t: Expr, f: Expr): Expr => ({ k: 'cond', c, t, f });
  for (const [loop, reds] of kernelReductions) {
    const list: ReductionAdjoint[] = [];
    for (const red of reds) {
      if (red.op === '+' || !isActive(red.name)) continue;
      const sName = red.name;
      let ra: ReductionAdjoint;
      if (red.op === 'max' || red.op === 'min') {
        const won = names.reduction(sName, 'won');
        const at = red.nest.map((_, k) => names.reduction(sName, `at${k}`));
        ra = {
          red,
          decls: [won, ...at].map((n) => ({ k: 'decl', name: n, mutable: true, init: num(0) })),
          recorded: [won, ...at],
          // the iteration wins as in the sequential loop's adjoint: Math.max(s, e) keeps s on ties, Math.max(e, s) takes e
          track: (t) => [
            {
              k: 'if',
              cond: sFirst(red)
                ? { k: 'unary', op: '!', e: { k: 'binary', op: red.op === 'max' ? '>=' : '<=', l: v(sName), r: v(t) } }
                : { k: 'binary', op: red.op === 'max' ? '>=' : '<=', l: v(t), r: v(sName) },
              else: [],
              then: [
                { k: 'assign', target: { k: 'var', name: won }, op: '=', value: num(1) },
                ...red.nest.map(
                  (l, k): Stmt => ({ k: 'assign', target: { k: 'var', name: at[k] }, op: '=', value: v(l.v) }),
                ),
              ],
            },
          ],
          seed: (_value, sb) =>
            cond(
              red.nest.reduce(
                (c: Expr, l, k) => ({ k: 'binary', op: '&&', l: c, r: eq(v(l.v), v(at[k])) }),
                eq(v(won), num(1)),
              ),
              sb,
              num(0),
            ),
          initial: (sb) => cond(eq(v(won), num(0)), sb, num(0)),
        };
      } else {
        const zeros = names.reduction(sName, 'zeros');
        const nz = names.reduction(sName, 'nz');
        const init = names.reduction(sName, 'init');
        const others = (value: Expr | undefined, sb: Expr): Expr => {
          const p: Expr = { k: 'binary', op: '*', l: v(init), r: v(nz) };
          return { k: 'binary', op: '*', l: value ? { k: 'binary', op: '/', l: p, r: value } : p, r: sb };
        };
        ra = {
          red,
          decls: [
            { k: 'decl', name: zeros, mutable: true, init: num(0) },
            { k: 'decl', name: nz, mutable: true, init: num(1) },
            { k: 'decl', name: init, mutable: false, init: v(sName) },
          ],
          recorded: [zeros, nz, init],
          track: (t) => [
            {
              k: 'if',
              cond: eq(v(t), num(0)),
              then: [{ k: 'assign', target: { k: 'var', name: zeros }, op: '+=', value: num(1) }],
              else: [{ k: 'assign', target: { k: 'var', name: nz }, op: '*=', value: v(t) }],
            },
          ],
          seed: (value, sb) =>
            cond(
              { k: 'binary', op: '!==', l: value, r: num(0) },
              cond(eq(v(zeros), num(0)), others(value, sb), num(0)),
              cond(eq(v(zeros), num(1)), others(undefined, sb), num(0)),
            ),
          initial: (sb) => cond(eq(v(zeros), num(0)), { k: 'binary', op: '*', l: v(nz), r: sb }, num(0)),
        };
      }
      list.push(ra);
      byUpdate.set(red.updates[0], ra);
    }
    if (list.length) reductionAdjoints.set(loop, list);
  }
  /** The nest's body as the forward sweep runs it: each coefficient reduction's contribution recorded. */
  const tracked = (loop: ForLoop, body: Stmt[]): Stmt[] => {
    if (!reductionAdjoints.has(loop)) return body;
    return body.flatMap((s): Stmt[] => {
      const ra = byUpdate.get(s);
      if (!ra || s.k !== 'assign') return [s];
      const u = reductionUpdate(s, ra.red.name)!;
      const t = names.temp('t');
      const value: Expr =
        s.value.k === 'call'
          ? { ...s.value, args: s.value.args.map((a) => (a.k === 'var' && a.name === ra.red.name ? a : v(t))) }
          : v(t);
      return [{ k: 'decl', name: t, mutable: false, init: u.e }, ...ra.track(t), { ...s, value }];
    });
  };
  /** Forward sweep around a nest: what its reductions' adjoints record, before and after it. */
  const reductionsAround = (loop: ForLoop, nestStmt: Stmt): Stmt[] => {
    const list = reductionAdjoints.get(loop);
    if (!list) return [nestStmt];
    const pushes = kernel.body.includes(loop)
      ? []
      : list.flatMap((ra) => ra.recorded.map((n): Stmt => ({ k: 'push', tape, value: v(n) })));
    return [...list.flatMap((ra) => ra.decls), nestStmt, ...pushes];
  };
  /** Reverse sweep around a nest: pop what the forward sweep pushed; afterwards the initial values' adjoints. */
  const reductionsReversed = (loop: ForLoop, rev: Stmt[]): Stmt[] => {
    const list = reductionAdjoints.get(loop);
    if (!list) return rev;
    const pops = kernel.body.includes(loop)
      ? []
      : list
          .flatMap((ra) => ra.recorded)
          .reverse()
          .map((n): Stmt => ({ k: 'decl', name: n, mutable: false, init: { k: 'pop', tape } }));
    const after = list.map((ra): Stmt => {
      const sb = names.b(ra.red.name);
      return { k: 'assign', target: { k: 'var', name: sb }, op: '=', value: ra.initial(v(sb)) };
    });
    return [...pops, ...rev, ...after];
  };
  const isLive = (s: Stmt, scope: Scope) => scope.kind === 'top' || plan.live.has(s);

  // ---------------- values already held by locals ----------------
  const assigned = new Set<string>();
  forEachStmt(kernel.body, (s) => {
    if (s.k === 'assign') assigned.add(targetName(s.target));
  });
  /** Reads only names nothing assigns (parameters, constant locals, arrays the kernel never writes) and the nest's variables. */
  const unchanging = (e: Expr, nestVars: Set<string>): boolean => {
    let ok = true;
    walkExpr(e, (x) => {
      if (x.k === 'pop' || x.k === 'runtime') ok = false;
      else if (x.k === 'var' && assigned.has(x.name) && !nestVars.has(x.name)) ok = false;
      else if ((x.k === 'index' || x.k === 'length') && assigned.has(x.array)) ok = false;
    });
    return ok;
  };
  /**
   * In a nest's iteration: the constant locals of its body (top level, never reassigned, of values
   * that do not change while the iteration runs) that hold an expression, once the pass has computed
   * them (every statement in the fused pass, the live ones in a recompute pass; `before`: only those
   * before it). The Linearizer then reuses them instead of computing the expression again.
   */
  const knownIn = (scope: Scope, fused: boolean, before?: Stmt) => {
    if (scope.kind === 'top') return undefined;
    const nestVars = new Set(scope.nest.map((l) => l.v));
    const end = before ? scope.body.indexOf(before) : scope.body.length;
    const held = scope.body
      .slice(0, end)
      .filter(
        (s): s is Stmt & { k: 'decl' } =>
          s.k === 'decl' &&
          !s.mutable &&
          !scope.hoisted.has(s.name) &&
          !plan.push.has(s) &&
          (fused || plan.live.has(s)) &&
          !assigned.has(s.name) &&
          unchanging(s.init, nestVars),
      );
    if (!held.length) return undefined;
    return (e: Expr): Expr | undefined => {
      const d = held.find((x) => sameExpr(x.init, e));
      return d && v(d.name);
    };
  };
  let fusedScope: Scope | undefined;

  // ---------------- forward sweep ----------------
  /**
   * `restored`: in a nest's recompute sweep, the stored loops and the assignments that restore
   * their results from the values popped at the top of the iteration.
   */
  const forward = (body: Stmt[], scope: Scope, restored?: Map<Stmt, Stmt[]>, allLive = false): Stmt[] => {
    const out: Stmt[] = [];
    for (const s of body) {
      if (isNest(s, scope)) {
        for (const a of plan.snapshot.get(s as ForLoop) ?? []) out.push({ k: 'pushArray', tape, array: a });
        out.push(...reductionsAround(s as ForLoop, withStores(s as ForLoop)));
        continue;
      }
      const r = restored?.get(s);
      if (r) {
        out.push(...r);
        continue;
      }
      if (!allLive && !isLive(s, scope)) continue;
      switch (s.k) {
        case 'decl':
          if (plan.push.has(s)) out.push({ k: 'push', tape, value: v(s.name) });
          out.push(
            scope.hoisted.has(s.name)
              ? { k: 'assign', target: { k: 'var', name: s.name }, op: '=', value: s.init, loc: s.loc }
              : s,
          );
          break;
        case 'assign':
          if (plan.push.has(s)) out.push({ k: 'push', tape, value: lvalueExpr(s.target) });
          out.push(s);
          break;
        case 'if': {
          const then = forward(s.then, scope, restored, allLive);
          const els = forward(s.else, scope, restored, allLive);
          if (plan.flag.has(s)) {
            then.push({ k: 'push', tape, value: num(1) });
            els.push({ k: 'push', tape, value: num(0) });
          }
          out.push({ ...s, then, else: els });
          break;
        }
        case 'for':
          out.push({ ...s, body: forward(s.body, scope, restored, allLive) });
          break;
        default:
          break;
      }
    }
    return out;
  };

  // ---------------- reverse sweep ----------------
  /**
   * `given`: the statement's linearization, already computed (and its temporaries emitted) by the
   * forward statement right before, in a fused loop.
   */
  const adjointAssign = (s: Stmt & { k: 'decl' | 'assign' }, scope: Scope, out: Stmt[], given?: Linearized): void => {
    // A declaration outside nested blocks is the variable's birth: its adjoint is dead afterwards.
    const needsReset = !(s.k === 'decl' && !scope.hoisted.has(s.name));
    const target: LValue = s.k === 'decl' ? { k: 'var', name: s.name } : s.target;
    const tb = bTarget(target);
    const tbExpr = lvalueExpr(tb);
    const name = targetName(target);
    const L = new Linearizer(names, isActive, knownIn(scope, scope === fusedScope));
    const ra = byUpdate.get(s);
    if (ra) {
      // a coefficient reduction's update: ē += cᵢ·s̄, s̄ unchanged until the nest's reverse is done
      const r = L.run(reductionUpdate(s, name)!.e);
      if (!r.lin) return;
      out.push(...L.pre);
      const seed = names.temp('s');
      out.push({ k: 'decl', name: seed, mutable: false, init: ra.seed(r.value, tbExpr) });
      transposeOf(collectTerms(r.lin), v(seed), names, out);
      return;
    }
    const acc = given ? undefined : accumulation(s);
    if (acc) {
      // x += e: x̄ is unchanged, ē += x̄
      const r = L.run(acc.e);
      out.push(...L.pre);
      transposeOf(collectTerms(r.lin), acc.sign < 0 ? neg(tbExpr) : tbExpr, names, out);
      return;
    }
    const rhs = rhsOf(s);
    const r = given ?? L.run(rhs);
    const pre = given ? [] : L.pre;
    const reset: Stmt = { k: 'assign', target: tb, op: '=', value: num(0) };
    if (!r.lin) {
      if (needsReset) out.push(reset);
      return;
    }
    if (readsOf(rhs).has(name) || tb.k === 'index') {
      // the seed must be read before x̄ is reset (x appears on both sides, or x̄ is an element)
      const seed = names.temp('s');
      out.push({ k: 'decl', name: seed, mutable: false, init: tbExpr }, ...(needsReset ? [reset] : []), ...pre);
      transposeOf(collectTerms(r.lin), v(seed), names, out);
      return;
    }
    out.push(...pre);
    transposeOf(collectTerms(r.lin), tbExpr, names, out);
    if (needsReset) out.push(reset);
  };

  const reverse = (body: Stmt[], scope: Scope): Stmt[] => {
    const out: Stmt[] = [];
    for (let i = body.length - 1; i >= 0; i--) {
      const s = body[i];
      if (isNest(s, scope)) {
        out.push(...reductionsReversed(s as ForLoop, reverseNest(s as ForLoop)));
        continue;
      }
      switch (s.k) {
        case 'decl':
        case 'assign': {
          if (plan.push.has(s) && isLive(s, scope)) {
            const target: LValue = s.k === 'decl' ? { k: 'var', name: s.name } : s.target;
            out.push({ k: 'assign', target, op: '=', value: { k: 'pop', tape } });
          }
          if (isActiveTarget(s, activity)) adjointAssign(s, scope, out);
          break;
        }
        case 'if': {
          const then = reverse(s.then, scope);
          const els = reverse(s.else, scope);
          const flagged = plan.flag.has(s) && isLive(s, scope);
          if (!then.length && !els.length && !flagged) break;
          const cond: Expr = flagged ? { k: 'binary', op: '!==', l: { k: 'pop', tape }, r: num(0) } : s.cond;
          out.push({ k: 'if', cond, then, else: els, loc: s.loc });
          break;
        }
        case 'for': {
          const rb = reverse(s.body, scope);
          if (!rb.length) break;
          // locals that are cheaper to recompute than to tape, used by this iteration's reverse sweep
          const used = readsOfStmts(rb);
          const again = (plan.recompute.get(s) ?? []).filter((d) => d.k === 'decl' && used.has(d.name));
          const recomputed: Stmt[] = again.map((d) =>
            d.k === 'decl' ? { k: 'assign', target: { k: 'var', name: d.name }, op: '=', value: d.init } : d,
          );
          out.push({ ...s, reversed: true, body: [...recomputed, ...rb] });
          break;
        }
        case 'return':
          if (s.value) {
            const L = new Linearizer(names, isActive);
            const r = L.run(s.value);
            if (r.lin) {
              out.push(...L.pre);
              transposeOf(collectTerms(r.lin), v(retb), names, out);
            }
          }
          break;
        default:
          break;
      }
    }
    return out;
  };

  const adjointDecls = (scope: Scope): Stmt[] =>
    scope.activeLocals.map((n) => ({ k: 'decl', name: names.b(n), mutable: true, init: num(0) }));
  const hoistedDecls = (scope: Scope): Stmt[] =>
    [...scope.hoisted].map((n) => ({ k: 'decl', name: n, mutable: true, init: num(0) }));

  const storedIn = (body: Stmt[]) => body.filter((s) => plan.store.has(s));

  /** The nest as the forward sweep runs it: the results of stored loops pushed after them. */
  const withStores = (loop: ForLoop): ForLoop => {
    const scope = plan.scopes.get(loop)!;
    if (!storedIn(scope.body).length && !reductionAdjoints.has(loop)) return loop;
    const body = tracked(loop, scope.body).flatMap((s): Stmt[] => [
      s,
      ...(plan.store.get(s) ?? []).map((n): Stmt => ({ k: 'push', tape, value: v(n) })),
    ]);
    return rebuildNest(scope.nest, body, false);
  };

  const rebuildNest = (nest: ForLoop[], body: Stmt[], reversed: boolean): ForLoop => {
    let inner: Stmt[] = body;
    for (let d = nest.length - 1; d >= 0; d--) inner = [{ ...nest[d], body: inner, reversed: reversed || undefined }];
    return inner[0] as ForLoop;
  };

  /**
   * Reverse of a parallel nest: restore its snapshot, then per iteration: recompute, reverse.
   * With stored loop results, the iterations run backwards and pop them first.
   */
  const reverseNest = (loop: ForLoop): Stmt[] => {
    const scope = plan.scopes.get(loop)!;
    const out: Stmt[] = [];
    for (const a of [...(plan.snapshot.get(loop) ?? [])].reverse()) out.push({ k: 'popArray', tape, array: a });
    const rev = reverse(scope.body, scope);
    const stored = storedIn(scope.body);
    if (!rev.length && !stored.length) return out;
    const pops: Stmt[] = [];
    const restored = new Map<Stmt, Stmt[]>();
    for (const s of [...stored].reverse()) {
      const assigns: Stmt[] = [];
      for (const n of [...plan.store.get(s)!].reverse()) {
        const t = names.temp('r');
        pops.push({ k: 'decl', name: t, mutable: false, init: { k: 'pop', tape } });
        assigns.unshift({ k: 'assign', target: { k: 'var', name: n }, op: '=', value: v(t) });
      }
      restored.set(s, assigns);
    }
    const fwd = forward(scope.body, scope, restored);
    out.push(
      ...scheduled(
        loop,
        rebuildNest(
          scope.nest,
          [...pops, ...hoistedDecls(scope), ...fwd, ...adjointDecls(scope), ...rev],
          stored.length > 0,
        ),
      ),
    );
    return out;
  };

  /** The nest's adjoint pass, for the schedule phase to apply the strategies of its reads. */
  const scheduled = (loop: ForLoop, pass: ForLoop): Stmt[] => [
    { k: 'nestAdjoint', loop, nest: plan.scopes.get(loop)!.nest, pass },
  ];

  /** The last nest, each iteration running its primal statements and then its reverse sweep. */
  const fusedNest = (loop: ForLoop): Stmt[] => scheduled(loop, fusedPass(loop));
  const fusedPass = (loop: ForLoop): ForLoop => {
    const scope = plan.scopes.get(loop)!;
    fusedScope = scope;
    // every statement runs: they produce the outputs
    const last = scope.body[scope.body.length - 1];
    if (
      last &&
      (last.k === 'decl' || (last.k === 'assign' && last.op === '=')) &&
      isActiveTarget(last, activity) &&
      !plan.push.has(last) &&
      !accumulation(last)
    ) {
      // The last statement's reverse comes right after it: it reuses the statement's temporaries.
      const L = new Linearizer(names, isActive, knownIn(scope, true, last));
      const r = L.run(rhsOf(last));
      const primal: Stmt = last.k === 'decl' ? { ...last, init: r.value } : { ...last, value: r.value };
      const fwd = [...forward(scope.body.slice(0, -1), scope, undefined, true), ...L.pre, primal];
      const rev: Stmt[] = [];
      adjointAssign(last, scope, rev, r);
      rev.push(...reverse(scope.body.slice(0, -1), scope));
      return rebuildNest(scope.nest, [...hoistedDecls(scope), ...fwd, ...adjointDecls(scope), ...rev], false);
    }
    const fwd = forward(scope.body, scope, undefined, true);
    const rev = reverse(scope.body, scope);
    return rebuildNest(scope.nest, [...hoistedDecls(scope), ...fwd, ...adjointDecls(scope), ...rev], false);
  };

  // ---------------- the function ----------------
  const body: Stmt[] = [];
  if (plan.usesTape) body.push(tapeDecl(tape));
  const scalarParams = kernel.params.filter((p) => p.active && p.kind === 'scalar');
  for (const p of scalarParams) body.push({ k: 'decl', name: names.b(p.name), mutable: true, init: num(0) });
  body.push(...hoistedDecls(topScope));
  body.push({ k: 'comment', text: 'forward sweep' });
  const fused = plan.fused;
  const before = fused ? kernel.body.slice(0, -1) : kernel.body;
  body.push(...forward(before, topScope));
  if (fused) {
    // the fused loop's reverse part already accumulates into the adjoints of top-level locals
    body.push({ k: 'comment', text: 'last loop: forward and reverse sweep of each iteration together' });
    body.push(...adjointDecls(topScope), ...fusedNest(fused));
  }
  const saved = [...plan.modified].sort();
  for (const a of saved) body.push({ k: 'saveArray', name: names.saved(a), array: a });
  const rev = reverse(before, topScope);
  if (rev.length) {
    body.push({ k: 'comment', text: 'reverse sweep' });
    body.push(...(fused ? [] : adjointDecls(topScope)), ...rev);
  }
  for (const a of saved) body.push({ k: 'restoreArray', name: names.saved(a), array: a });
  if (scalarParams.length) {
    // the keys are the contract's `<name>b`, whatever the local adjoint variables are called
    const fields = scalarParams.map((p) => ({ key: `${p.name}b`, value: v(names.b(p.name)) }));
    body.push({ k: 'return', value: { k: 'record', fields } });
  }

  const params: FunctionIR['params'] = [];
  for (const p of kernel.params) {
    params.push({ name: p.name, type: p.type });
    if (p.active && p.kind === 'array') params.push({ name: names.b(p.name), type: p.type });
  }
  if (kernel.returns !== 'void') params.push({ name: retb, type: kernel.returns });
  const returnType = scalarParams.length ? `{ ${scalarParams.map((p) => `${p.name}b: number`).join('; ')} }` : 'void';

  const comment = [
    `Adjoint of ${kernel.name} (${fileName}:${kernel.loc.line}), generated by parad.`,
    `Each active array p is followed by its adjoint pb: on entry the adjoint w.r.t. p's value at exit of ${kernel.name},`,
    `on return w.r.t. its value at entry (inputs accumulate, overwritten outputs are reset).`,
    kernel.returns === 'void' ? '' : `The last parameter is the adjoint of the returned value.`,
    scalarParams.length
      ? `Returns the adjoints of the active scalars: { ${scalarParams.map((p) => `${p.name}b`).join(', ')} }.`
      : '',
    `Runs the primal: on return the primal arrays hold ${kernel.name}'s outputs.`,
    ...describePlan(plan, fileName),
  ].filter(Boolean);
  const results = scalarParams.map((p) => ({ key: `${p.name}b`, name: names.b(p.name) }));
  return { name: adjointName(kernel.name), params, returnType, comment, body, results };
}

function describePlan(plan: TapePlan, fileName: string): string[] {
  const at = (s: Stmt) => ('loc' in s && s.loc ? `${fileName}:${s.loc.line}` : '?');
  const lines: string[] = [];
  const saved = [...plan.push].map(
    (s) => `${s.k === 'decl' ? s.name : s.k === 'assign' ? targetName(s.target) : '?'} (${at(s)})`,
  );
  if (saved.length) lines.push(`Tape: saves overwritten values of ${saved.join(', ')}.`);
  if (plan.flag.size) lines.push(`Tape: saves the branch taken at ${[...plan.flag].map(at).join(', ')}.`);
  for (const [loop, arrays] of plan.snapshot)
    lines.push(`Tape: saves ${arrays.join(', ')} whole before the parallel loop at ${at(loop)}.`);
  for (const loop of plan.scopes.keys()) {
    if (loop === 'top') continue;
    lines.push(
      loop === plan.fused
        ? `The parallel loop at ${at(loop)} runs each iteration's forward and reverse sweep together (nothing recomputed).`
        : `Recomputes: the parallel loop at ${at(loop)} recomputes each iteration's values in its reverse sweep.`,
    );
  }
  for (const [loop, vars] of plan.store) {
    lines.push(`Tape: saves ${vars.join(', ')} after the loop at ${at(loop)} instead of recomputing it.`);
  }
  for (const [loop, decls] of plan.recompute) {
    const names = decls.map((d) => (d.k === 'decl' ? d.name : '?'));
    lines.push(
      `Recomputes: ${names.join(', ')} in each reversed iteration of the loop at ${at(loop)} (cheaper than the tape).`,
    );
  }
  if (!plan.usesTape) lines.push('Tape: none (no value the reverse sweep needs is overwritten).');
  return lines;
}
