/**
 * The gather schedule (TF-MAD, "transposed forward mode"): the adjoint of a nest whose iterations
 * share reads of x turns `xb[f(it)] += e(it)` (a scatter: iterations race on xb) into a loop over
 * the elements j of xb, each summing e over the iterations it with f(it) = j (a gather: each j
 * owns its element). For a convolution this is the flipped filter. See docs/tf-mad.md.
 *
 * Per scatter site, f is a polynomial over the loop variables (nest and inner sequential loops)
 * and integer parameters. It is delinearized into mixed-radix digits: terms are grouped by their
 * parameter monomial (the stride: H·W, W, 1 for `(c*H + y)*W + x`), and each digit e_d (c, y, x)
 * must lie in [0, S_{d-1}/S_d) for the decomposition of j to be unique; that is proven on the loop
 * bounds, or left as a run-time condition. Each digit then yields one loop variable by solving
 * e_d = j_d (with divisibility and range guards); the variables no digit yields are summed over.
 *
 * Values of the iteration the contribution needs (an adjoint like `accb`) are stored per
 * iteration by the first pass ("staged"); inner-loop locals are recomputed; arrays the first pass
 * does not write are read directly. A site outside these rules keeps its scatter (the caller falls
 * back to another strategy) with the reason.
 */
import type { Expr, ForLoop, Stmt } from '../ir/types.js';
import { add, sub, mul, div, num, v, bin, idx, call, readsOf, substitute, sameExpr, walkExpr } from '../ir/build.js';
import { printExpr } from '../ir/print.js';
import { ownExprs, targetName, forEachStmt, writesOf, mapExpr } from '../ir/walk.js';
import {
  type Poly,
  type Def,
  type Defs,
  type Quot,
  addPoly,
  constPoly,
  mulPoly,
  symbolsOf,
  substPoly,
  samePoly,
  isQuot,
  defSymbols,
  divideBy,
} from '../analysis/exclusive/poly.js';
import type { Names } from '../naming.js';
import { type IndexForms, flatIndex, inRange, polyExpr, tripCount } from './space.js';

type Decl = Stmt & { k: 'decl' };
type Assign = Stmt & { k: 'assign' };

/** Where a scatter site sits in the iteration body. */
interface SiteAt {
  stmt: Assign;
  /** the statement of the iteration body (top level) that contains the site */
  top: Stmt;
  /** inner sequential loops around the site, outermost first */
  loops: ForLoop[];
  /** branch conditions that hold at the site */
  conds: Expr[];
  /** declarations inside `top` that are in scope at the site, in order */
  visible: Decl[];
  /**
   * Locals of the iteration whose value at the site is the last plain assignment before it on the
   * way there (`t = o - k` at the top of the loop around the site), written in loop variables and
   * constants: no other statement on the way assigns them, and no loop entered after that
   * assignment does either (so none carries a value from an earlier iteration)
   */
  defs: Map<string, Expr>;
}

/** One digit of the delinearized index: Σ coef·var + offset, at stride `stride` (a monomial key). */
interface Digit {
  stride: string;
  /** ratio to the next outer stride (undefined for the outermost digit) */
  radix?: string;
  terms: Map<string, Poly>;
  offset: Poly;
}

export interface GatherSite {
  at: SiteAt;
  sign: 1 | -1;
  digits: Digit[];
  /** loop variables solved from a digit, in order, with the digit they come from and their coefficient (a constant or a parameter monomial) */
  solved: { v: string; digit: number; coef: Poly }[];
  /** loop variables summed over, in loop order */
  summed: ForLoop[];
  /** digits all of whose variables are known otherwise: checked for equality */
  checked: number[];
  /** iteration-level values the contribution needs (variables, or elements `ab[f(it)]`), staged by the first pass */
  staged: Expr[];
  /** inner-loop locals recomputed in the gather pass, in order */
  recompute: Decl[];
  /** bounds on summed loops implied by the solved variables' ranges (see `narrowing`) */
  narrow: Map<string, { lower: Poly[]; upper: Poly[] }>;
  /** the loops the index is solved over: the nest's and the inner ones, a split variable's replaced by its quotient and remainder loops */
  loops: ForLoop[];
  /** split loop variables, rebuilt from their quotient and remainder (v = k·q + r) and checked against their loop */
  rebuilt: { v: string; init: Expr; loop: ForLoop }[];
  /**
   * The contribution itself is staged, per iteration and inner iteration, by the first pass where
   * the update was (the gather pass could not recompute it: `why`); `zero` when a branch condition
   * around it is left to the store (the staging array is zeroed, `at.conds` holds the others)
   */
  perInner?: { zero: boolean; why: string };
}

export interface GatherPlan {
  /** the adjoint array gathered into */
  target: string;
  sites: GatherSite[];
  /** run-time conditions under which the delinearization is unique (proven ones are omitted) */
  conditions: Expr[];
  /**
   * Is the gather's work bounded by the fan-in (elements times the iterations reading each, up to
   * the trip counts of the primal's inner loops)? True when every summed loop of every site is a
   * loop the index does not use (each of its values reads the element), narrowed to the window
   * around the element, or an inner loop of the primal whose bounds do not move with the nest.
   * False when some element scans iterations that mostly do not read it (`why` says which): such a
   * gather costs about |x| × |iterations|, and a scheduler should not pick it.
   */
  bounded: boolean;
  why?: string;
  /** how the gather differs from the plain form, for the decision's reason (contributions staged per inner iteration) */
  note?: string;
}

export interface GatherContext {
  nest: ForLoop[];
  /** the nest's generated iteration body (innermost nest loop's body) */
  body: Stmt[];
  /** index polynomials; also which names the iteration body never writes */
  forms: IndexForms;
  /** names declared (at any depth) in the iteration body */
  declared: Set<string>;
}

const monomial = (key: string): string[] => (key ? key.split('*') : []);
/** Does monomial a divide monomial b (multiset inclusion)? */
function divides(a: string, b: string): boolean {
  const rest = monomial(b);
  for (const s of monomial(a)) {
    const i = rest.indexOf(s);
    if (i < 0) return false;
    rest.splice(i, 1);
  }
  return true;
}
function quotient(b: string, a: string): string {
  const rest = monomial(b);
  for (const s of monomial(a)) rest.splice(rest.indexOf(s), 1);
  return rest.sort().join('*');
}
const monoPoly = (key: string, c = 1): Poly => new Map([[key, c]]);
/** A positive multiple of a product of parameters (no loop variable): `stride`, `2·K`. */
const paramMonomial = (p: Poly, loopVars: Set<string>): boolean =>
  p.size === 1 && [...p][0][1] > 0 && [...symbolsOf(p)].every((x) => !loopVars.has(x)) && !p.has('');
const constOf = (p: Poly): number | undefined =>
  p.size === 0 ? 0 : p.size === 1 && p.has('') ? p.get('')! : undefined;

/** Plans the gather of adjoint array `target`, or says why it does not apply. */
export function planGather(ctx: GatherContext, target: string): GatherPlan | string {
  const found = findSites(ctx.body, target, ctx.nest, ctx.declared);
  if (typeof found === 'string') return found;
  if (!found.length) return `no update of ${target} in the loop`;
  const sites: GatherSite[] = [];
  const conditions: Expr[] = [];
  for (const at of found) {
    const s = planSite(ctx, at, conditions);
    if (typeof s === 'string') return s;
    sites.push(...(Array.isArray(s) ? s : [s]));
  }
  // once each; `s >= 0` where `s >= 1` is checked too
  const atLeast = (c: Expr, n: number): Expr | undefined =>
    c.k === 'binary' && c.op === '>=' && c.r.k === 'num' && c.r.value === n ? c.l : undefined;
  const unique = conditions.filter((c, i) => {
    const e = atLeast(c, 0);
    return (
      conditions.findIndex((d) => sameExpr(c, d)) === i &&
      !(
        e &&
        conditions.some((d) => {
          const f = atLeast(d, 1);
          return f && sameExpr(e, f);
        })
      )
    );
  });
  const why = sites.map((s) => unboundedSum(ctx, s, target)).find((x) => x !== undefined);
  const perInner = [...new Set(sites.filter((s) => s.perInner).map((s) => s.perInner!.why))];
  const note = perInner.length
    ? `the contributions the gather pass cannot recompute staged per inner iteration (${perInner.join('; ')})`
    : undefined;
  return { target, sites, conditions: unique, bounded: !why, ...(why ? { why } : {}), ...(note ? { note } : {}) };
}

/** Why a site's gather scans more than the fan-in (a summed loop that filters), or undefined. */
function unboundedSum(ctx: GatherContext, site: GatherSite, target: string): string | undefined {
  const nestVars = new Set(ctx.nest.map((l) => l.v));
  const used = new Set(site.digits.flatMap((d) => [...d.terms.keys()]));
  for (const l of site.summed) {
    if (!used.has(l.v)) continue; // every value of it reads the element
    const n = site.narrow.get(l.v);
    if (n?.lower.length && n.upper.length) continue; // a window around the element
    const inner = site.at.loops.includes(l);
    // the primal runs it per iteration too
    if (inner && [...readsOf(l.init), ...readsOf(l.bound)].every((x) => !nestVars.has(x))) continue;
    return `each element of ${target} scans ${inner ? 'the inner loop' : 'the parallel loop'} over ${l.v}, which its index uses but does not determine: ~${target}.length × its trip count in all`;
  }
  return undefined;
}

/** No tape, no opaque text: a value that can be evaluated again. */
const pure = (e: Expr): boolean => {
  let ok = true;
  walkExpr(e, (x) => {
    if (x.k === 'pop' || x.k === 'runtime' || x.k === 'tuple') ok = false;
  });
  return ok;
};

function findSites(body: Stmt[], target: string, nest: ForLoop[], declared: Set<string>): SiteAt[] | string {
  const sites: SiteAt[] = [];
  let problem: string | undefined;
  const nestVars = new Set(nest.map((l) => l.v));
  const changed = assignedIn({ k: 'block', body });
  // The forward sweep's branches, by condition and enclosing loop variables: the locals each
  // assigns last at its top level (`iy = ty / stride`), with the defs reaching that assignment.
  const forward = new Map<string, { defs: Map<string, Expr>; then: Stmt[] }[]>();
  const keyOf = (cond: Expr, loops: ForLoop[]) => `${loops.map((l) => l.v).join(',')}|${printExpr(cond)}`;
  const collect = (block: Stmt[], loops: ForLoop[]) => {
    for (const s of block) {
      if (s.k === 'for') {
        if (!s.reversed) collect(s.body, [...loops, s]);
      } else if (s.k === 'if') {
        const list = forward.get(keyOf(s.cond, loops)) ?? [];
        list.push({ defs: new Map(), then: s.then });
        forward.set(keyOf(s.cond, loops), list);
        collect(s.then, loops);
        collect(s.else, loops);
      } else if (s.k === 'block') collect(s.body, loops);
    }
  };
  collect(body, []);
  /**
   * A branch of the reverse sweep that restores `x = tape.pop()` at its top level runs, by the
   * adjoint's invariant, in the state its forward branch (same condition, same loops) left: `x`
   * holds what that branch assigned it last, when it did so once, at its top level, with a value
   * the defs at the site give (`iy = ty / stride`, ty = oy - ky on the way to both).
   */
  const restored = (
    s: Stmt & { k: 'if' },
    loops: ForLoop[],
    defs: Map<string, Expr>,
    loopVars: Set<string>,
  ): Map<string, Expr> => {
    const out = new Map<string, Expr>();
    if (!loops.length || !loops.every((l) => l.reversed)) return out;
    const popped = s.then.flatMap((x) =>
      x.k === 'assign' && x.op === '=' && x.target.k === 'var' && x.value.k === 'pop' ? [x.target.name] : [],
    );
    if (!popped.length) return out;
    const matches = (forward.get(keyOf(s.cond, loops)) ?? []).filter((f) => f.then !== s.then);
    if (matches.length !== 1) return out;
    const fwd = matches[0].then;
    for (const x of popped) {
      const writes = fwd.filter((t) => assignedIn(t).has(x));
      const w = writes.length === 1 ? writes[0] : undefined;
      if (!w || w.k !== 'assign' || w.op !== '=' || w.target.k !== 'var' || !pure(w.value)) continue;
      // what the value reads must not change in the forward branch after the assignment... nor before it
      if ([...readsOf(w.value)].some((n) => fwd.some((t) => assignedIn(t).has(n)))) continue;
      const value = substitute(w.value, (e) => (e.k === 'var' ? defs.get(e.name) : undefined));
      if ([...readsOf(value)].every((n) => loopVars.has(n) || (!changed.has(n) && !declared.has(n)))) out.set(x, value);
    }
    return out;
  };
  const walk = (
    block: Stmt[],
    top: Stmt | undefined,
    loops: ForLoop[],
    conds: Expr[],
    visible: Decl[],
    reaching: Map<string, Expr>,
  ) => {
    const vis = [...visible];
    const defs = new Map(reaching);
    const loopVars = new Set([...nestVars, ...loops.map((l) => l.v)]);
    for (const s of block) {
      const t = top ?? s;
      if (s.k === 'assign' && s.target.k === 'index' && s.target.array === target && (s.op === '+=' || s.op === '-=')) {
        if (readsOf(s.value).has(target) || readsOf(s.target.index).has(target))
          problem ??= `an update of ${target} reads ${target}`;
        sites.push({ stmt: s, top: t, loops, conds, visible: vis, defs: new Map(defs) });
        continue;
      }
      if (ownExprs(s).some((e) => readsOf(e).has(target)) || (s.k === 'assign' && targetName(s.target) === target)) {
        problem ??= `the loop also reads or resets ${target}`;
      }
      if (s.k === 'decl' && top) vis.push(s);
      const entered = s.k === 'for' ? [...loops, s] : loops;
      // a loop's body starts from what reaches it, less what the loop changes (carried from an earlier iteration)
      const inner = new Map(defs);
      if (s.k === 'for') for (const n of assignedIn(s)) inner.delete(n);
      if (s.k === 'if') {
        walk(s.then, t, loops, [...conds, s.cond], vis, new Map([...inner, ...restored(s, loops, defs, loopVars)]));
        walk(s.else, t, loops, [...conds, { k: 'unary', op: '!', e: s.cond }], vis, inner);
      } else if (s.k === 'for') walk(s.body, t, entered, conds, vis, inner);
      else if (s.k === 'block') walk(s.body, t, loops, conds, vis, inner);
      // what reaches the statements after s
      for (const n of assignedIn(s)) defs.delete(n);
      if (s.k === 'assign' && s.op === '=' && s.target.k === 'var') {
        const value = substitute(s.value, (x) => (x.k === 'var' ? defs.get(x.name) : undefined));
        const known = [...readsOf(value)].every((n) => loopVars.has(n) || (!changed.has(n) && !declared.has(n)));
        if (known && pure(value)) defs.set(s.target.name, value);
      }
    }
  };
  walk(body, undefined, [], [], [], new Map());
  return problem ?? sites;
}

/**
 * Why the site's contributions cannot be staged per inner iteration, or undefined: the inner loops
 * around it must run the same trips in every iteration (bounds in names the nest never writes), so
 * that (iteration, inner iteration) numbers a slot of one array.
 */
function innerStaging(ctx: GatherContext, at: SiteAt): string | undefined {
  const vars = new Set([...ctx.nest, ...at.loops].map((l) => l.v));
  for (const l of at.loops)
    for (const n of [...readsOf(l.init), ...readsOf(l.bound)])
      if (vars.has(n) || !ctx.forms.constant(n))
        return `the trips of the loop over ${l.v}${l.loc ? ` (line ${l.loc.line})` : ''} depend on ${n}`;
  return undefined;
}

/** Names assigned (not declared) anywhere in `s`. */
function assignedIn(s: Stmt): Set<string> {
  const out = new Set<string>();
  forEachStmt([s], (x) => {
    if (x.k === 'assign') out.add(targetName(x.target));
  });
  return out;
}

/** A clamp's case: the index with the clamp replaced by one argument, and `upper` facts `a <= b` (`a < b` when strict) that select it. */
interface ClampCase {
  index: Poly;
  upper: { a: Poly; b: Poly; strict: boolean }[];
}

function planSite(
  ctx: GatherContext,
  at: SiteAt,
  conditions: Expr[],
  clampCase?: ClampCase,
): GatherSite | GatherSite[] | string {
  const target = at.stmt.target as { k: 'index'; array: string; index: Expr };
  const loops = [...ctx.nest, ...at.loops];
  const loopVars = new Set(loops.map((l) => l.v));
  const where = `${target.array}[…] in the loop`;

  // ---- what the contribution reads ----
  const changedInTop = assignedIn(at.top);
  const nestVars = new Set(ctx.nest.map((l) => l.v));
  /** what evaluating `exprs` in the gather pass needs (staged values, recomputed locals), or why it cannot */
  const readsOfSite = (exprs: Expr[]): { staged: Expr[]; recompute: Decl[] } | string => {
    const staged: Expr[] = [];
    const recompute: Decl[] = [];
    let problem: string | undefined;
    const stage = (e: Expr) => {
      if (!staged.some((x) => sameExpr(x, e))) staged.push(e);
    };
    const visit = (e: Expr): void => {
      switch (e.k) {
        case 'pop':
        case 'str':
        case 'runtime':
        case 'record':
        case 'tuple':
          problem ??= `an update of ${where} uses a taped value`;
          return;
        case 'var':
          useVar(e.name);
          return;
        case 'index': {
          if (ctx.forms.constant(e.array)) {
            visit(e.index);
            return;
          }
          // an element the iteration owns (its index uses nest variables and constants only), fixed while `top` runs
          const own = [...readsOf(e.index)].every((n) => nestVars.has(n) || ctx.forms.constant(n));
          if (own && !changedInTop.has(e.array)) stage(e);
          else problem ??= `an update of ${where} reads ${e.array}, which the loop writes`;
          return;
        }
        case 'unary':
          visit(e.e);
          return;
        case 'binary':
          visit(e.l);
          visit(e.r);
          return;
        case 'cond':
          visit(e.c);
          visit(e.t);
          visit(e.f);
          return;
        case 'call':
          e.args.forEach(visit);
          return;
        default:
          return;
      }
    };
    const useVar = (name: string) => {
      if (loopVars.has(name) || recompute.some((d) => d.name === name)) return;
      // a local assigned on the way to the site (findSites' defs): recomputed from its value there
      const def = at.defs.get(name);
      if (def) {
        visit(def);
        recompute.push({ k: 'decl', name, mutable: false, init: def });
        return;
      }
      const local = at.visible.find((d) => d.name === name);
      if (local) {
        if (changedInTop.has(name)) problem ??= `${name} changes inside the loop around ${where}`;
        visit(local.init);
        recompute.push(local);
      } else if (ctx.declared.has(name)) {
        if (changedInTop.has(name)) problem ??= `${name} changes inside the loop around ${where}`;
        stage(v(name));
      } else if (!ctx.forms.constant(name)) {
        problem ??= `an update of ${where} reads ${name}, which the loop writes`;
      }
    };
    for (const e of exprs) visit(e);
    if (problem) return problem;
    recompute.sort((a, b) => at.visible.indexOf(a) - at.visible.indexOf(b));
    return { staged, recompute };
  };
  let reads = readsOfSite([...at.conds, at.stmt.value]);
  // a contribution the gather pass cannot recompute (a running maximum's `mb`, which the reverse
  // sweep changes from one inner iteration to the next) inside inner loops that run the same trips
  // for every iteration: the first pass stores it per (iteration, inner iteration), where the
  // update was; the gather pass reads it back. The branch conditions it cannot recompute are left
  // to the store (the array is then zeroed: a slot whose branch did not run adds nothing)
  let perInner: GatherSite['perInner'];
  let guard = at.conds;
  if (typeof reads === 'string' && at.loops.length) {
    const why = innerStaging(ctx, at);
    if (why) return `${reads}; staging per inner iteration: ${why}`;
    guard = at.conds.filter((c) => typeof readsOfSite([c]) !== 'string');
    const kept = readsOfSite(guard);
    if (typeof kept === 'string') return reads;
    perInner = { zero: guard.length < at.conds.length, why: reads };
    reads = kept;
  }
  if (typeof reads === 'string') return reads;
  const { staged, recompute } = reads;

  // ---- the index as digits ----
  const withDefs = (e: Expr): Expr => substitute(e, (x) => (x.k === 'var' ? at.defs.get(x.name) : undefined));
  // a division the guard makes exact (`iy = ty / stride` under `ty % stride === 0`) is its truncation
  const guarded = at.conds
    .map(withDefs)
    .flatMap(conjunctsOf)
    .flatMap((c) => {
      const m =
        c.k === 'binary' && (c.op === '===' || c.op === '==')
          ? c.r.k === 'num' && c.r.value === 0
            ? c.l
            : c.l.k === 'num' && c.l.value === 0
              ? c.r
              : undefined
          : undefined;
      return m && m.k === 'binary' && m.op === '%' ? [m] : [];
    });
  const exactDivisions = (e: Expr): Expr =>
    mapExpr(e, (x) =>
      x.k === 'binary' && x.op === '/' && guarded.some((m) => sameExpr(m.l, x.l) && sameExpr(m.r, x.r))
        ? call('Math.trunc', x)
        : undefined,
    );
  const q = clampCase?.index ?? ctx.forms.quasiPoly(exactDivisions(withDefs(target.index)), loopVars);
  if (!q) return `the index of ${where} has no polynomial form`;
  // a clamp (`Math.min(y0 + 1, H - 1)`): one site per case, under the condition that selects it
  const clamp = [...symbolsOf(q)].find((x) => {
    const d = ctx.forms.quasi[x];
    return d && !isQuot(d);
  });
  if (clamp) {
    const d = ctx.forms.quasi[clamp] as Def & { op: 'min' | 'max' };
    const expr = (p: Poly) => defExpr(polyExpr(p), ctx.forms.quasi);
    const out: GatherSite[] = [];
    for (let i = 0; i < d.args.length; i++) {
      // the first argument that is the least (greatest): <= the later ones, < the earlier ones
      const cmp = (j: number): Expr =>
        bin(d.op === 'min' ? (j > i ? '<=' : '<') : j > i ? '>=' : '>', expr(d.args[i]), expr(d.args[j]));
      const others = d.args.map((_, j) => j).filter((j) => j !== i);
      const upper = d.op === 'min' ? others.map((j) => ({ a: d.args[i], b: d.args[j], strict: j < i })) : [];
      const index = substPoly(q, (x) => (x === clamp ? d.args[i] : undefined));
      const r = planSite(ctx, { ...at, conds: [...at.conds, ...others.map(cmp)] }, conditions, {
        index,
        upper: [...(clampCase?.upper ?? []), ...upper],
      });
      if (typeof r === 'string') return r;
      out.push(...(Array.isArray(r) ? r : [r]));
    }
    return out;
  }
  // quotients of loop variables (`i >> 2`, `(y / r) | 0`) as iter of their own
  // quotients the site's guard makes exact (`if (t % s === 0) … x[(t / s) | 0]`)
  const exact = exactQuotients(at.conds.map(withDefs), (e) => ctx.forms.quasiPoly(e, loopVars));
  const split = splitQuotients(q, loops, ctx.forms.quasi, (l) => ctx.forms.paramPoly(l.bound, loopVars), exact);
  if (typeof split === 'string') return `the index of ${where} ${split}`;
  const { p, rebuilt } = split;
  // an exact quotient's range from the guard (`ty >= 0 && ((ty / stride) | 0) < H`: [0, H)), a
  // polynomial one where the loop's own (⌊c / k⌋ … from the other loop variables) is not
  split.loops = split.loops.map((l) => {
    const e = split.exactLoops.find((x) => x.v === l.v);
    const r =
      e &&
      guardRange(
        at.conds.map((c) => exactDivisions(withDefs(c))),
        e.sym,
        e.num,
        (x) => ctx.forms.quasiPoly(x, loopVars),
        loopVars,
      );
    return r ? { ...l, init: num(0), bound: polyExpr(r) } : l;
  });
  // an exact quotient's loop v = s·q − c is rebuilt with s >= 1 (the range of q assumes it)
  for (const den of split.exactDens)
    if (constOf(den) === undefined && !positiveStride(ctx, den, loopVars))
      conditions.push(bin('>=', polyExpr(den), num(1)));
  // a clamp's case bounds the split loops (`Math.min(x0 + 1, W - 1)` taking x0 + 1: x0 < W - 1)
  const iter = split.loops.map((l) => {
    if (!clampCase || l.step !== 1 || l.cmp !== '<') return l;
    let bound = ctx.forms.paramPoly(l.bound, loopVars);
    let changed = false;
    for (const f of clampCase.upper) {
      // a − b = u + R (≤ 0, or < 0): u < −R + 1 (or u < −R)
      const diff = addPoly(split.subst(f.a), split.subst(f.b), -1);
      if (
        diff.get(l.v) !== 1 ||
        [...symbolsOf(diff)].some(
          (x) => x !== l.v && (loopVars.has(x) || split.loops.some((o) => o.v === x) || ctx.forms.quasi[x]),
        )
      )
        continue;
      const rest = addPoly(diff, new Map([[l.v, 1]]), -1);
      const tighter = addPoly(constPoly(f.strict ? 0 : 1), rest, -1);
      if (bound && (constOf(addPoly(bound, tighter, -1)) ?? -1) > 0) {
        bound = tighter;
        changed = true;
      }
    }
    return bound && changed ? { ...l, bound: polyExpr(bound) } : l;
  });
  const iterVars = new Set(iter.map((l) => l.v));
  // the digits of every monomial (a chain), else those of the inner iter' strides (see delinearize)
  const innerVars = new Set(at.loops.map((l) => l.v));
  const all = delinearize(p, iterVars, innerVars, false);
  if (typeof all === 'string') return all;
  const byInner = delinearize(p, iterVars, innerVars, true) as Digit[];
  const inRangeAll = digitsInRange(ctx, all, iter, iterVars);
  const inRangeInner = digitsInRange(ctx, byInner, iter, iterVars);
  // proven digits first; then one digit rather than a run-time check that a window fits under a
  // stride (`x[s·o + k]`: k < s only for non-overlapping windows); then checked digits
  let ds: Digit[];
  if (all.length > 1 && inRangeAll?.length === 0) ds = all;
  else if (byInner.length > 1 && inRangeInner?.length === 0) ds = byInner;
  else if (byInner.length === 1 && all.length > 1) ds = byInner;
  else if (byInner.length > 1 && inRangeInner) ds = byInner;
  else ds = all.length > 1 && inRangeAll ? all : [single(p, iterVars)];
  const proven = ds === all ? inRangeAll : ds === byInner ? inRangeInner : [];
  conditions.push(...(proven ?? []));

  // ---- which variables each digit yields ----
  const order = iter.map((l) => l.v);
  const known = new Set<string>();
  const solved: GatherSite['solved'] = [];
  const sum = new Set<string>();
  const checked: number[] = [];
  ds.forEach((d, i) => {
    const free = [...d.terms.keys()].filter((x) => !known.has(x));
    // a constant coefficient, or a parameter monomial (a run-time stride, checked >= 1 at run time)
    const unit = (x: string) => Math.abs(constOf(d.terms.get(x)!) ?? 0) === 1;
    const candidates = free
      .filter((x) => (constOf(d.terms.get(x)!) ?? 0) !== 0 || paramMonomial(d.terms.get(x)!, iterVars))
      .sort(
        (a, b) =>
          Number(nestVars.has(b)) - Number(nestVars.has(a)) ||
          Number(!unit(a)) - Number(!unit(b)) ||
          Number(constOf(d.terms.get(a)!) === undefined) - Number(constOf(d.terms.get(b)!) === undefined) ||
          order.indexOf(a) - order.indexOf(b),
      );
    if (!candidates.length) {
      free.forEach((x) => {
        sum.add(x);
        known.add(x);
      });
      checked.push(i);
      return;
    }
    const s = candidates[0];
    for (const x of free)
      if (x !== s) {
        sum.add(x);
        known.add(x);
      }
    const coef = d.terms.get(s)!;
    if (constOf(coef) === undefined && !positiveStride(ctx, coef, loopVars))
      conditions.push(bin('>=', polyExpr(coef), num(1)));
    solved.push({ v: s, digit: i, coef });
    known.add(s);
  });
  for (const x of order) if (!known.has(x)) sum.add(x);
  const summed = iter.filter((l) => sum.has(l.v));
  // a summed loop's bounds may use constants and the summed iter around it only
  const seen = new Set<string>();
  for (const l of summed) {
    for (const n of [...readsOf(l.init), ...readsOf(l.bound)]) {
      if (iterVars.has(n) ? !seen.has(n) : !ctx.forms.constant(n))
        return `the bounds of the loop over ${l.v} depend on ${n}`;
    }
    seen.add(l.v);
  }
  for (const l of iter) {
    if (sum.has(l.v)) continue;
    for (const n of [...readsOf(l.init), ...readsOf(l.bound)]) {
      if (!iterVars.has(n) && !ctx.forms.constant(n)) return `the bounds of the loop over ${l.v} depend on ${n}`;
    }
  }
  const narrow = narrowing(ctx, ds, solved, summed, iter, iterVars);
  const checked_at = split.checks.length || guard !== at.conds ? { ...at, conds: [...guard, ...split.checks] } : at;
  return {
    at: checked_at,
    ...(perInner ? { perInner } : {}),
    sign: at.stmt.op === '-=' ? -1 : 1,
    digits: ds,
    solved,
    summed,
    checked,
    staged,
    recompute,
    narrow,
    loops: iter,
    rebuilt,
  };
}

/**
 * Loop variables the index uses through quotients, split: v over [0, B) (step 1) used as ⌊v / k⌋
 * (`v >> 2`, `(v / k) | 0`, `Math.floor(v / k)`; the same as trunc for v ≥ 0) and as v (`v % k` is
 * v − k·⌊v / k⌋) becomes v = k·q + r with q over [0, ⌊(B − 1) / k⌋ + 1) and r over [0, k): the
 * index is then a polynomial in q and r (`x[i >> 2]` is x[q]: element q gathers from the
 * iterations 4q … 4q + 3). Other quasi-affine symbols have no form here.
 */
function splitQuotients(
  p: Poly,
  loops: ForLoop[],
  defs: Defs,
  boundOf: (l: ForLoop) => Poly | undefined,
  exact: Quot[] = [],
):
  | {
      p: Poly;
      loops: ForLoop[];
      rebuilt: GatherSite['rebuilt'];
      subst: (q: Poly) => Poly;
      exactDens: Poly[];
      exactLoops: { v: string; sym: string; num: Poly }[];
      checks: Expr[];
    }
  | string {
  const used = [...symbolsOf(p)].filter((x) => defs[x]);
  if (!used.length) return { p, loops, rebuilt: [], subst: (q) => q, exactDens: [], exactLoops: [], checks: [] };
  const loopVars = new Set(loops.map((x) => x.v));
  const byVar = new Map<string, { den: Poly; offset: Poly; syms: string[]; exact: boolean; scale?: Poly }>();
  const checks: Expr[] = [];
  for (const q of used) {
    const d = defs[q];
    // ⌊(a·v + c) / k⌋ with a ≠ 1 (a parameter or constant: bilinear resize's ⌊oy·H / OH⌋)
    const sc =
      isQuot(d) && !exact.some((e) => samePoly(e.num, d.num) && samePoly(e.den, d.den))
        ? scaledQuotient(d, loops, loopVars, defs)
        : undefined;
    if (sc && isQuot(d)) {
      const { l, a, offset } = sc;
      if (l.step !== 1 || l.cmp !== '<' || !(l.init.k === 'num' && l.init.value === 0))
        return `divides ${l.v}, whose loop does not run from 0 up by 1`;
      if (!((constOf(offset) ?? -1) >= 0) || (!paramMonomial(d.den, loopVars) && !((constOf(d.den) ?? 0) > 0)))
        return 'uses a quotient or remainder the gather cannot invert';
      if (p.has(l.v) || byVar.has(l.v)) return `divides ${l.v} in two different ways`;
      byVar.set(l.v, { den: d.den, offset, syms: [q], exact: false, scale: a });
      // the iteration's own quotient, computed as the primal does (floating point on the GPU too),
      // must be the element's: the candidates cover one more on each side for its rounding
      const fn = d.op === 'floor' ? 'Math.floor' : 'Math.trunc';
      checks.push(
        bin('===', call(fn, div(defExpr(polyExpr(d.num), defs), defExpr(polyExpr(d.den), defs))), {
          k: 'var',
          name: `${l.v}$q`,
        }),
      );
      continue;
    }
    // the guard says the division leaves no remainder: (v + c) / k = q exactly, whatever c (other
    // loop variables too) and the rounding, so v = k·q − c (a transposed convolution's o = s·i + k)
    const isExact = isQuot(d) && exact.some((e) => samePoly(e.num, d.num) && samePoly(e.den, d.den));
    // ⌊(v + c) / k⌋: v a loop variable with coefficient 1 (the outermost such), c free of loop variables unless exact
    const v = isQuot(d) ? loops.find((l) => d.num.get(l.v) === 1)?.v : undefined;
    const l = v !== undefined ? loops.find((x) => x.v === v) : undefined;
    const offset = v !== undefined && isQuot(d) ? addPoly(d.num, new Map([[v, 1]]), -1) : new Map<string, number>();
    if (
      !l ||
      !isQuot(d) ||
      [...symbolsOf(offset)].some((x) => (loopVars.has(x) && !isExact) || x === v || defs[x]) ||
      (!paramMonomial(d.den, loopVars) && constOf(d.den) === undefined)
    ) {
      return 'uses a quotient or remainder the gather cannot invert';
    }
    if (l.step !== 1 || l.cmp !== '<' || !(l.init.k === 'num' && l.init.value === 0))
      return `divides ${l.v}, whose loop does not run from 0 up by 1`;
    // truncation is the floor where v + c >= 0: v >= 0 here, so a constant c >= 0, or c >= B − 1 for
    // the loop's bound B (`(i + n - 1) % n` over i < n: B >= 1 wherever an iteration runs)
    const bound = boundOf(l);
    const aboveBound = bound ? constOf(addPoly(offset, bound, -1)) : undefined;
    if (!isExact && d.op === 'trunc' && !((constOf(offset) ?? -1) >= 0) && !((aboveBound ?? -2) >= -1))
      return `divides ${l.v} + ${printExpr(polyExpr(offset))}, which may be negative (truncation)`;
    const prev = byVar.get(l.v);
    if (prev && (!samePoly(prev.den, d.den) || !samePoly(prev.offset, offset) || prev.exact !== isExact))
      return `divides ${l.v} in two different ways`;
    byVar.set(l.v, { den: d.den, offset, syms: [...(prev?.syms ?? []), q], exact: isExact });
  }
  const out: ForLoop[] = [];
  const rebuilt: GatherSite['rebuilt'] = [];
  const repl = new Map<string, Poly>();
  for (const l of loops) {
    const sp = byVar.get(l.v);
    if (!sp) {
      out.push(l);
      continue;
    }
    const qv = `${l.v}$q`,
      rv = `${l.v}$r`;
    const k = polyExpr(sp.den);
    const c = polyExpr(sp.offset);
    if (sp.scale) {
      // q = ⌊(a·v + c) / k⌋ over v in [0, B): q from ⌊c / k⌋ (0 when c = 0) below a when c = 0 and
      // B = k (`oy < OH`, q < H), else ⌊(a·(B − 1) + c) / k⌋ + 1; v from ⌈(k·q − c) / a⌉ − 1, at
      // most 2·⌈k / a⌉ + 2 candidates (the check keeps those whose quotient is q)
      const a = polyExpr(sp.scale);
      const Bp = boundOf(l);
      const qBound =
        !sp.offset.size && Bp && samePoly(Bp, sp.den)
          ? a
          : add(call('Math.floor', div(add(mul(a, sub(l.bound, num(1))), c), k)), num(1));
      out.push({ ...l, v: qv, init: sp.offset.size ? call('Math.floor', div(c, k)) : num(0), bound: qBound, body: [] });
      out.push({ ...l, v: rv, init: num(0), bound: add(mul(num(2), call('Math.ceil', div(k, a))), num(2)), body: [] });
      for (const q of sp.syms) repl.set(q, new Map([[qv, 1]]));
      rebuilt.push({
        v: l.v,
        init: add(sub(call('Math.ceil', div(sub(mul(k, v(qv)), c), a)), num(1)), v(rv)),
        loop: l,
      });
      continue;
    }
    // v + c = k·q + r: q from ⌊c / k⌋ to ⌊(B − 1 + c) / k⌋; q < B / k when c = 0 and k divides B (`y < H * r`)
    const B = boundOf(l);
    const M = !sp.offset.size && B ? divideBy(B, sp.den) : undefined;
    const qInit = sp.offset.size ? call('Math.floor', div(c, k)) : num(0);
    const qBound = M ? polyExpr(M) : add(call('Math.floor', div(add(sub(l.bound, num(1)), c), k)), num(1));
    if (sp.exact) {
      // no remainder: v = k·q − c, q over ⌊c / k⌋ … ⌊(B − 1 + c) / k⌋ (c may use other loop variables)
      out.push({ ...l, v: qv, init: qInit, bound: qBound, body: [] });
      repl.set(l.v, addPoly(mulPoly(sp.den, new Map([[qv, 1]])), sp.offset, -1));
      for (const q of sp.syms) repl.set(q, new Map([[qv, 1]]));
      rebuilt.push({ v: l.v, init: sub(mul(k, v(qv)), c), loop: l });
      continue;
    }
    out.push({ ...l, v: qv, init: qInit, bound: qBound, body: [] }, { ...l, v: rv, init: num(0), bound: k, body: [] });
    repl.set(l.v, addPoly(addPoly(mulPoly(sp.den, new Map([[qv, 1]])), new Map([[rv, 1]])), sp.offset, -1));
    for (const q of sp.syms) repl.set(q, new Map([[qv, 1]]));
    rebuilt.push({ v: l.v, init: sub(add(mul(k, v(qv)), v(rv)), c), loop: l });
  }
  const p2 = substPoly(p, (x) => repl.get(x));
  if ([...symbolsOf(p2)].some((x) => defs[x])) return 'uses a quotient or remainder the gather cannot invert';
  if ([...byVar].some(([lv, x]) => x.scale && symbolsOf(p2).has(lv)))
    return 'uses a scaled quotient of a loop variable and the variable itself';
  const exactLoops = [...byVar]
    .filter(([, x]) => x.exact && x.syms.length === 1)
    .map(([lv, x]) => ({ v: `${lv}$q`, sym: x.syms[0], num: (defs[x.syms[0]] as Quot).num }));
  return {
    p: p2,
    loops: out,
    rebuilt,
    subst: (x) => substPoly(x, (y) => repl.get(y)),
    exactDens: [...byVar.values()].filter((x) => x.exact).map((x) => x.den),
    exactLoops,
    checks,
  };
}

/** ⌊(a·v + c) / k⌋ with v a loop variable, a a constant other than 1 or a parameter monomial, c free of loop variables. */
function scaledQuotient(
  d: Quot,
  loops: ForLoop[],
  loopVars: Set<string>,
  defs: Defs,
): { l: ForLoop; a: Poly; offset: Poly } | undefined {
  const withLoop = [...d.num].filter(([key]) => monomial(key).some((x) => loopVars.has(x)));
  if (withLoop.length !== 1) return undefined;
  const [key, c] = withLoop[0];
  const syms = monomial(key);
  const lv = syms.filter((x) => loopVars.has(x));
  if (lv.length !== 1 || (syms.length === 1 && c === 1) || c <= 0 || syms.some((x) => defs[x])) return undefined;
  const l = loops.find((x) => x.v === lv[0])!;
  const rest = [...syms];
  rest.splice(rest.indexOf(lv[0]), 1);
  const offset = new Map(d.num);
  offset.delete(key);
  if ([...symbolsOf(offset)].some((x) => loopVars.has(x) || defs[x])) return undefined;
  return { l, a: monoPoly(rest.sort().join('*'), c), offset };
}

/**
 * [0, B) for the quotient `sym` = e / k when the guard has `e >= 0` (or `sym >= 0`) and `sym < B`
 * (or `sym <= B − 1`), B free of loop variables; undefined otherwise.
 */
function guardRange(
  conds: Expr[],
  sym: string,
  num: Poly,
  polyOf: (e: Expr) => Poly | undefined,
  loopVars: Set<string>,
): Poly | undefined {
  const conjuncts = (e: Expr): Expr[] =>
    e.k === 'binary' && e.op === '&&' ? [...conjuncts(e.l), ...conjuncts(e.r)] : [e];
  const q: Poly = new Map([[sym, 1]]);
  let lower = false;
  let upper: Poly | undefined;
  for (const c of conds.flatMap(conjuncts)) {
    if (c.k !== 'binary' || !['<', '<=', '>', '>='].includes(c.op)) continue;
    // as a < b or a <= b
    const [a, b] = c.op === '<' || c.op === '<=' ? [c.l, c.r] : [c.r, c.l];
    const strict = c.op === '<' || c.op === '>';
    const pa = polyOf(a);
    const pb = polyOf(b);
    if (!pa || !pb) continue;
    if (!strict && constOf(pa) === 0 && (samePoly(pb, num) || samePoly(pb, q))) lower = true;
    if (samePoly(pa, q) && [...symbolsOf(pb)].every((x) => !loopVars.has(x) && !x.startsWith('$')))
      upper = strict ? pb : addPoly(pb, constPoly(1));
  }
  return lower ? upper : undefined;
}

/**
 * Quotients a site's guard makes exact: conjuncts `e % k === 0` (or `0 === e % k`, `==`) of its
 * branch conditions, as ⌊e / k⌋'s numerator and denominator polynomials.
 */
const conjunctsOf = (e: Expr): Expr[] =>
  e.k === 'binary' && e.op === '&&' ? [...conjunctsOf(e.l), ...conjunctsOf(e.r)] : [e];

function exactQuotients(conds: Expr[], polyOf: (e: Expr) => Poly | undefined): Quot[] {
  const out: Quot[] = [];
  const conjuncts = conjunctsOf;
  const zero = (e: Expr) => e.k === 'num' && e.value === 0;
  for (const c of conds.flatMap(conjuncts)) {
    if (c.k !== 'binary' || (c.op !== '===' && c.op !== '==')) continue;
    const m = zero(c.r) ? c.l : zero(c.l) ? c.r : undefined;
    if (!m || m.k !== 'binary' || m.op !== '%') continue;
    const n = polyOf(m.l);
    const d = polyOf(m.r);
    if (n && d) out.push({ op: 'trunc', num: n, den: d });
  }
  return out;
}

/** An expression with quasi-affine symbols (`$q0`) written back as JavaScript (`Math.floor(i / 2)`). */
function defExpr(e: Expr, defs: Defs): Expr {
  return substitute(e, (x) => {
    const d = x.k === 'var' ? defs[x.name] : undefined;
    if (!d) return undefined;
    if (!isQuot(d))
      return call(d.op === 'min' ? 'Math.min' : 'Math.max', ...d.args.map((a) => defExpr(polyExpr(a), defs)));
    return call(
      d.op === 'floor' ? 'Math.floor' : 'Math.trunc',
      div(defExpr(polyExpr(d.num), defs), defExpr(polyExpr(d.den), defs)),
    );
  });
}

/** The symbol standing for digit `i` of the gathered element in `narrowing`'s polynomials. */
const digitSymbol = (i: number): string => `$digit${i}`;

/**
 * Bounds on the summed loops implied by the solved variables' ranges: a window `c[j]`, `j` from
 * `i - size` to `i + size`, solves j = element and sums over i, and `i - size <= j <= i + size`
 * gives `j - size <= i <= j + size`, so the loop over i runs 2·size + 1 times, not n. Only for
 * step-1 summed loops and unit coefficients; the range guards stay (the bounds only skip
 * iterations they would reject). Polynomials over the digits (`digitSymbol`), parameters and
 * summed variables of outer loops.
 */
function narrowing(
  ctx: GatherContext,
  digits: Digit[],
  solved: GatherSite['solved'],
  summed: ForLoop[],
  loops: ForLoop[],
  loopVars: Set<string>,
): GatherSite['narrow'] {
  const out: GatherSite['narrow'] = new Map();
  for (const s of solved) {
    const coefValue = constOf(s.coef);
    if (coefValue !== 1 && coefValue !== -1) continue;
    const l = loops.find((x) => x.v === s.v)!;
    const lo = ctx.forms.poly(l.init, loopVars);
    const bound = ctx.forms.poly(l.bound, loopVars);
    if (!lo || !bound) continue;
    // the solved value: coef·(digit − Σ other terms − offset)
    const d = digits[s.digit];
    let rest: Poly = addPoly(new Map([[digitSymbol(s.digit), 1]]), d.offset, -1);
    for (const [x, coef] of d.terms) if (x !== s.v) rest = addPoly(rest, mulByVar(coef, x), -1);
    const value = coefValue === 1 ? rest : addPoly(new Map(), rest, -1);
    // each P >= k that holds where the site runs
    const up = l.step > 0;
    const facts: [Poly, number][] = [[up ? addPoly(value, lo, -1) : addPoly(lo, value, -1), 0]];
    const strict = l.cmp === '<' || l.cmp === '>' ? 1 : 0;
    facts.push([up ? addPoly(bound, value, -1) : addPoly(value, bound, -1), strict]);
    summed.forEach((sl, k) => {
      if (sl.step !== 1 || (sl.cmp !== '<' && sl.cmp !== '<=')) return;
      const later = new Set(summed.slice(k + 1).map((x) => x.v));
      for (const [P, min] of facts) {
        const c = P.get(sl.v);
        if (c !== 1 && c !== -1) continue;
        const R = addPoly(P, new Map([[sl.v, c]]), -1);
        const syms = [...R.keys()].flatMap((key) => (key ? key.split('*') : []));
        // R may use digits, constants and summed variables of outer loops only
        if (
          syms.some(
            (x) => later.has(x) || x === sl.v || (loopVars.has(x) && !summed.slice(0, k).some((o) => o.v === x)),
          )
        )
          continue;
        const entry = out.get(sl.v) ?? { lower: [], upper: [] };
        // c·i + R >= min  ⇒  i >= min − R (c = 1) or i <= R − min (c = −1)
        if (c === 1) entry.lower.push(addPoly(constPoly(min), R, -1));
        else entry.upper.push(addPoly(R, constPoly(min), -1));
        out.set(sl.v, entry);
      }
    });
  }
  return out;
}

const mulByVar = (coef: Poly, x: string): Poly => {
  const out: Poly = new Map();
  for (const [k, c] of coef) out.set(k ? [...k.split('*'), x].sort().join('*') : x, c);
  return out;
};

/** Groups the index's terms by parameter monomial into digits ordered by stride, or says why not. */
function delinearize(p: Poly, loopVars: Set<string>, innerVars: Set<string>, innerOnly: boolean): Digit[] | string {
  const groups = new Map<string, Map<string, Poly>>();
  const constants: [string, number][] = [];
  for (const [key, c] of p) {
    const syms = monomial(key);
    const lv = syms.filter((s) => loopVars.has(s));
    if (lv.length > 1) return `the index ${key.replaceAll('*', '·')} is not affine in the loop variables`;
    const param = syms
      .filter((s) => !loopVars.has(s))
      .sort()
      .join('*');
    if (!lv.length) {
      constants.push([param, c]);
      continue;
    }
    const g = groups.get(param) ?? new Map<string, Poly>();
    g.set(lv[0], addPoly(g.get(lv[0]) ?? new Map(), constPoly(c)));
    groups.set(param, g);
  }
  // The strides of the array's layout: every monomial, or (`innerOnly`) the monomials of the inner
  // loops' terms (a window `ky·W`, a channel `c·H·W`), when there are inner loops: a parameter
  // multiplying only nest variables (`oy·stride·W`, `ox·stride`) is then a coefficient.
  const innerStrides = [...groups].filter(([, g]) => [...g.keys()].some((x) => innerVars.has(x))).map(([k]) => k);
  const strides = (innerOnly && innerStrides.length ? innerStrides : [...groups.keys()]).sort(
    (a, b) => monomial(b).length - monomial(a).length,
  );
  if (!strides.includes('')) strides.push('');
  const chain = strides.every((s, i) => i === 0 || divides(s, strides[i - 1]));
  if (!chain) return [single(p, loopVars)];
  const digits: Digit[] = strides.map((stride, i) => ({
    stride,
    radix: i === 0 ? undefined : quotient(strides[i - 1], stride),
    terms: new Map(),
    offset: new Map(),
  }));
  // each term at the largest stride dividing it, its coefficient the rest of its monomial
  for (const [param, g] of groups) {
    const d = digits.find((x) => divides(x.stride, param))!;
    for (const [x, c] of g)
      d.terms.set(x, addPoly(d.terms.get(x) ?? new Map(), mulPoly(c, monoPoly(quotient(param, d.stride)))));
  }
  for (const [param, c] of constants) {
    const d = digits.find((x) => divides(x.stride, param))!;
    d.offset = addPoly(d.offset, monoPoly(quotient(param, d.stride), c));
  }
  return digits;
}

/** The whole index as one digit (no delinearization): coefficients may be parameter polynomials. */
function single(p: Poly, loopVars: Set<string>): Digit {
  const terms = new Map<string, Poly>();
  const offset: Poly = new Map();
  for (const [key, c] of p) {
    const syms = monomial(key);
    const lv = syms.find((s) => loopVars.has(s));
    if (!lv) {
      offset.set(key, c);
      continue;
    }
    const rest = [...syms];
    rest.splice(rest.indexOf(lv), 1);
    terms.set(lv, addPoly(terms.get(lv) ?? new Map(), monoPoly(rest.sort().join('*'), c)));
  }
  return { stride: '', terms, offset };
}

/**
 * 0 <= e_d < radix_d for every inner digit, from the loop bounds: the conditions not proven
 * statically (to check at run time), or undefined when a digit can be out of range for sure or
 * its range has no polynomial form.
 */
function digitsInRange(
  ctx: GatherContext,
  digits: Digit[],
  loops: ForLoop[],
  loopVars: Set<string>,
): Expr[] | undefined {
  if (digits.length === 1) return [];
  const range = new Map<string, { lo: Poly; hi: Poly }>();
  for (const l of loops) {
    const init = ctx.forms.paramPoly(l.init, loopVars);
    const bound = ctx.forms.paramPoly(l.bound, loopVars);
    if (!init || !bound) continue;
    const strict = l.cmp === '<' || l.cmp === '>';
    const end = strict ? addPoly(bound, constPoly(l.step > 0 ? -1 : 1)) : bound;
    range.set(l.v, l.step > 0 ? { lo: init, hi: end } : { lo: end, hi: init });
  }
  const out: Expr[] = [];
  for (const d of digits.slice(1)) {
    let lo = d.offset;
    let hi = d.offset;
    for (const [x, coef] of d.terms) {
      const c = constOf(coef);
      const r = range.get(x);
      if (!r) return undefined;
      if (c === undefined) {
        // a parameter coefficient (a run-time stride): non-negative at run time
        if (!paramMonomial(coef, loopVars)) return undefined;
        if (!positiveStride(ctx, coef, loopVars)) out.push(bin('>=', polyExpr(coef), num(0)));
        lo = addPoly(lo, mulPoly(coef, r.lo));
        hi = addPoly(hi, mulPoly(coef, r.hi));
        continue;
      }
      lo = addPoly(lo, c > 0 ? r.lo : r.hi, c);
      hi = addPoly(hi, c > 0 ? r.hi : r.lo, c);
    }
    const top = addPoly(addPoly(monoPoly(d.radix!), constPoly(-1)), hi, -1);
    for (const q of [lo, top]) {
      const c = constOf(q);
      if (c !== undefined) {
        if (c < 0) return undefined;
        continue;
      }
      if (!floorFact(ctx, q, loopVars)) out.push(bin('>=', polyExpr(q), num(0)));
    }
  }
  return out;
}

/**
 * Is a parameter coefficient `P` known to be at least 1 where the nest runs? When a nest loop
 * runs over [0, c·P) (c > 0: P ≤ 0 leaves it empty, and both the gather and the scatter do
 * nothing), or P divides in a nest loop's bound (`Math.floor((W - 3) / stride) + 1`: such a
 * divisor is assumed at least 1, as the analysis does).
 */
function positiveStride(ctx: GatherContext, P: Poly, loopVars: Set<string>): boolean {
  return ctx.nest.some((l) => {
    const B = ctx.forms.paramPoly(l.bound, loopVars);
    const c =
      l.step === 1 && l.cmp === '<' && l.init.k === 'num' && l.init.value === 0 && B
        ? constOf(divideBy(B, P) ?? new Map([['?', 1]]))
        : undefined;
    if (c !== undefined && c > 0) return true;
    const q = ctx.forms.quasiPoly(l.bound, loopVars);
    return (
      !!q &&
      defSymbols(q, ctx.forms.quasi).some((x) => {
        const d = ctx.forms.quasi[x];
        return isQuot(d) && samePoly(d.den, P);
      })
    );
  });
}

/**
 * `q >= 0` from the definition of a quotient among the integer locals it uses (`OW` defined as
 * `Math.floor((W - 3) / stride) + 1` gives stride·(OW − 1) ≤ W − 3): q minus num − den·⌊num/den⌋
 * is a non-negative constant.
 */
function floorFact(ctx: GatherContext, q: Poly, loopVars: Set<string>): boolean {
  const expanded = substPoly(q, (x) => {
    const p = ctx.forms.quasiPoly(v(x), loopVars);
    return p && !samePoly(p, new Map([[x, 1]])) ? p : undefined;
  });
  if ((constOf(expanded) ?? -1) >= 0) return true;
  return [...symbolsOf(expanded)].some((x) => {
    const d = ctx.forms.quasi[x];
    if (!d || d.op !== 'floor') return false;
    const fact = addPoly(d.num, mulPoly(d.den, new Map([[x, 1]])), -1);
    return (constOf(addPoly(expanded, fact, -1)) ?? -1) >= 0;
  });
}

/** Names shared by the passes: the staged values and the iteration numbering. */
export interface Staging {
  /** the iteration body (top-level statements in order) */
  body: Stmt[];
  /** trip count names of the nest loops */
  trips: string[];
  /** `variable@version` → staging array, the version being the last top-level statement assigning it */
  arrays: Map<string, string>;
  /** the body's top-level statements by position, and the positions writing each name (ascending); built once */
  positions?: { of: Map<Stmt, number>; writers: Map<string, number[]> };
  /**
   * Contributions staged per inner iteration (GatherSite.perInner), by update statement: the
   * array, its slots per iteration (`per`, the inner loops' trips), whether it is zeroed, and the
   * declarations of the trip counts it uses (before the nest)
   */
  inner?: Map<Stmt, { array: string; per: Expr; zero: boolean; decls: Stmt[]; slot: (it: Expr) => Expr }>;
}

/** The array holding a perInner site's contributions, and the slot of the current (iteration, inner iteration). */
export function innerStageArray(
  st: Staging,
  names: Names,
  site: GatherSite,
): { array: string; per: Expr; zero: boolean; decls: Stmt[]; slot: (it: Expr) => Expr } {
  st.inner ??= new Map();
  const found = st.inner.get(site.at.stmt);
  if (found) return found;
  const decls: Stmt[] = [];
  // the trips of each inner loop: a literal, or a constant declared before the nest
  const trips = site.at.loops.map((l): Expr => {
    const t = tripCount(l);
    const n = t.k === 'call' && t.args.length === 2 && t.args[1].k === 'num' ? Math.max(0, t.args[1].value) : undefined;
    if (n !== undefined) return num(n);
    const name = names.temp('n');
    decls.push({ k: 'decl', name, mutable: false, init: t });
    return v(name);
  });
  // the inner iteration's number: (v − init) / step per loop, mixed radix over the trips
  const ordinal = (l: ForLoop): Expr =>
    l.step === 1 ? sub(v(l.v), l.init) : l.step === -1 ? sub(l.init, v(l.v)) : div(sub(v(l.v), l.init), num(l.step));
  let inner: Expr = num(0);
  site.at.loops.forEach((l, i) => {
    inner = add(i ? mul(inner, trips[i]) : inner, ordinal(l));
  });
  const per = trips.reduce((a, b) => mul(a, b));
  const entry = {
    array: names.staged(targetName(site.at.stmt.target)),
    per,
    zero: site.perInner!.zero,
    decls,
    slot: (it: Expr) => add(mul(it, per), inner),
  };
  st.inner.set(site.at.stmt, entry);
  return entry;
}

/** The staging array holding `x` as it is before `top` runs (shared by tops that see the same value). */
function stageArray(st: Staging, names: Names, top: Stmt, x: Expr): string {
  const name = x.k === 'var' ? x.name : x.k === 'index' ? x.array : '';
  // one walk of the body for all staged values (linear in its statements, not per value)
  if (!st.positions) {
    const of = new Map<Stmt, number>();
    const writers = new Map<string, number[]>();
    st.body.forEach((s, i) => {
      of.set(s, i);
      for (const w of writesOf([s])) {
        const list = writers.get(w);
        if (list) list.push(i);
        else writers.set(w, [i]);
      }
    });
    st.positions = { of, writers };
  }
  const at = st.positions.of.get(top) ?? st.body.length;
  const ws = st.positions.writers.get(name) ?? [];
  // the last writer before `top` (binary search)
  let lo = 0;
  let hi = ws.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ws[mid] < at) lo = mid + 1;
    else hi = mid;
  }
  const version = lo > 0 ? ws[lo - 1] : -1;
  const key = `${printExpr(x)}@${version}`;
  let a = st.arrays.get(key);
  if (!a) st.arrays.set(key, (a = names.staged(name)));
  return a;
}

/** The loop over xb's elements that gathers every site's contributions. */
export function gatherPass(plan: GatherPlan, nest: ForLoop[], st: Staging, names: Names, peel = false): Stmt[] {
  const j = names.temp('j');
  const acc = names.temp('a');
  const comment: Stmt = {
    k: 'comment',
    text: `gather (TF-MAD): each element of ${plan.target} sums what the iterations that read it contribute`,
  };
  const len: Expr = { k: 'length', array: plan.target };
  const body: Stmt[] = [{ k: 'decl', name: acc, mutable: true, init: num(0) }];
  const keyOf = (d: Digit) => `${d.stride}/${d.radix ?? ''}`;
  const system = plan.sites[0].digits.map(keyOf).join(' ');
  // every site splits j into the same digits: loop over the digits (no division per element)
  const digitLoops =
    plan.sites[0].digits.length > 1 && plan.sites.every((s) => s.digits.map(keyOf).join(' ') === system);
  const digitVars = new Map<string, string>();
  const digitOf = (d: Digit): Expr => {
    const key = keyOf(d);
    if (key === '/') return v(j);
    let name = digitVars.get(key);
    if (!name) {
      name = names.temp('k');
      digitVars.set(key, name);
      if (!digitLoops) {
        let e: Expr = d.stride ? call('Math.floor', div(v(j), polyExpr(monoPoly(d.stride)))) : v(j);
        if (d.radix !== undefined) e = bin('%', e, polyExpr(monoPoly(d.radix)));
        body.push({ k: 'decl', name, mutable: false, init: e });
      }
    }
    return v(name);
  };
  // boundary peeling where j (or each digit) is a loop of its own and an element's work is a few
  // loads (no summed loop), where a range test per candidate is a large part of it
  const canPeel =
    peel &&
    (digitLoops || plan.sites.every((s) => s.digits.length === 1)) &&
    plan.sites.every((s) => s.summed.length === 0);
  const ranges = new Map<string, { lo: Expr[]; hi: Expr[] }>();
  const sitesInto = (out: Stmt[], interior?: Interior) => {
    for (const site of plan.sites) {
      const jd = site.digits.map(digitOf);
      const stmts = sitePass(site, jd, nest, st, names, acc, interior);
      out.push(...(plan.sites.length > 1 ? [{ k: 'block', body: stmts } as Stmt] : stmts));
    }
    out.push({ k: 'assign', target: { k: 'index', array: plan.target, index: v(j) }, op: '+=', value: v(acc) });
  };
  sitesInto(body, canPeel ? { drop: false, ranges } : undefined);
  // the body without the range tests of the peelable sites, for the interior; only worth its code
  // when the innermost variable (j, or the last digit) loses tests
  const innermostVar = digitLoops ? digitVars.get(keyOf(plan.sites[0].digits[plan.sites[0].digits.length - 1]))! : j;
  const inner: Stmt[] | undefined =
    canPeel && ranges.has(innermostVar) ? [{ k: 'decl', name: acc, mutable: true, init: num(0) }] : undefined;
  if (inner) sitesInto(inner, { drop: true, ranges: new Map() });
  const loopOver = (x: string, from: Expr, to: Expr, b: Stmt[]): Stmt => ({
    k: 'for',
    v: x,
    init: from,
    cmp: '<',
    bound: to,
    step: 1,
    body: b,
    parallel: true,
  });
  /** `const lo = max(0, …)`, `const hi = max(lo, min(end, …))`: the interior of variable `x` */
  const interiorOf = (x: string, end: Expr, decls: Stmt[]): { lo: Expr; hi: Expr } => {
    const r = ranges.get(x) ?? { lo: [], hi: [] };
    const lo = names.temp('lo');
    const hi = names.temp('hi');
    decls.push({ k: 'decl', name: lo, mutable: false, init: r.lo.length ? call('Math.max', num(0), ...r.lo) : num(0) });
    decls.push({
      k: 'decl',
      name: hi,
      mutable: false,
      init: call('Math.max', v(lo), r.hi.length ? call('Math.min', end, ...r.hi) : end),
    });
    return { lo: v(lo), hi: v(hi) };
  };
  if (!digitLoops) {
    if (!inner) return [comment, loopOver(j, num(0), len, body)];
    // PerforAD's peeling: the elements whose every candidate iteration is in range run without the tests
    const decls: Stmt[] = [];
    const { lo, hi } = interiorOf(j, len, decls);
    return [
      comment,
      { k: 'comment', text: 'boundary peeled: the interior without range tests' },
      ...decls,
      loopOver(j, num(0), lo, body),
      loopOver(j, lo, hi, inner),
      loopOver(j, hi, len, body),
    ];
  }

  // j = Σ k_d · S_d with k_0 in [0, ceil(len / S_0)) and k_d in [0, radix_d)
  const digits = plan.sites[0].digits;
  const jOf = digits.map((d) => mul(digitOf(d), polyExpr(monoPoly(d.stride)))).reduce((a, b) => add(a, b));
  const guarded: Stmt[] = [
    { k: 'decl', name: j, mutable: false, init: jOf },
    { k: 'if', cond: bin('<', v(j), len), then: body, else: [] },
  ];
  const kOf = (d: number) => digitVars.get(keyOf(digits[d]))!;
  const boundOf = (d: number) =>
    d === 0 ? call('Math.ceil', div(len, polyExpr(monoPoly(digits[0].stride)))) : polyExpr(monoPoly(digits[d].radix!));
  const full = (d: number): Stmt[] =>
    d === digits.length ? guarded : [loopOver(kOf(d), num(0), boundOf(d), full(d + 1))];
  if (!inner) return [comment, ...full(0)];
  // peeled: the rows k_0 < ⌊len / S_0⌋ are whole (j < len), the interior of each digit has no tests
  const decls: Stmt[] = [];
  const bounds = digits.map((d, i) =>
    interiorOf(kOf(i), i === 0 ? call('Math.floor', div(len, polyExpr(monoPoly(d.stride)))) : boundOf(i), decls),
  );
  const interiorElem: Stmt[] = [{ k: 'decl', name: j, mutable: false, init: jOf }, ...inner];
  const peeled = (d: number): Stmt[] => {
    const k = kOf(d);
    const { lo, hi } = bounds[d];
    if (d === digits.length - 1)
      return [
        loopOver(k, num(0), lo, full(d + 1)),
        loopOver(k, lo, hi, interiorElem),
        loopOver(k, hi, boundOf(d), full(d + 1)),
      ];
    return [
      loopOver(k, num(0), boundOf(d), [
        { k: 'if', cond: bin('&&', bin('>=', v(k), lo), bin('<', v(k), hi)), then: peeled(d + 1), else: full(d + 1) },
      ]),
    ];
  };
  return [comment, { k: 'comment', text: 'boundary peeled: the interior without range tests' }, ...decls, ...peeled(0)];
}

/**
 * The interior of a gather (boundary peeling, as PerforAD does): per digit variable (`j`, or `k_d`
 * of the digit loops), the bounds of the range where a site's range test of a variable solved with
 * coefficient ±1 always holds; `drop`: that test is left out (the caller runs the body only there).
 */
interface Interior {
  drop: boolean;
  ranges: Map<string, { lo: Expr[]; hi: Expr[] }>;
}

function sitePass(
  site: GatherSite,
  jd: Expr[],
  nest: ForLoop[],
  st: Staging,
  names: Names,
  acc: string,
  interior?: Interior,
): Stmt[] {
  const loops = site.loops;
  const loopOf = (x: string) => loops.find((l) => l.v === x)!;
  const value = (d: Digit, except: string): Expr => {
    let e = polyExpr(d.offset);
    for (const [x, coef] of d.terms) if (x !== except) e = add(e, mul(polyExpr(coef), v(x)));
    return e;
  };
  // Each solved variable and each checked digit goes right inside the deepest summed loop whose
  // variable it uses (level 0: before all of them), so out-of-range candidates are cut early.
  const level = new Map<string, number>();
  site.summed.forEach((l, i) => level.set(l.v, i + 1));
  const levelOf = (e: Expr): number => Math.max(0, ...[...readsOf(e)].map((n) => level.get(n) ?? 0));
  const guards: {
    level: number;
    stmts: (inner: Stmt[]) => Stmt[];
    solve?: { coef: Poly; rest: Expr; digit: Digit };
  }[] = [];
  for (const s of site.solved) {
    const l = loopOf(s.v);
    const rest = sub(jd[s.digit], value(site.digits[s.digit], s.v));
    const solve = { coef: s.coef, rest, digit: site.digits[s.digit] };
    const lv = Math.max(levelOf(rest), levelOf(l.init), levelOf(l.bound));
    level.set(s.v, lv);
    const range = inRange(l, v(s.v));
    const c = constOf(s.coef);
    // a range test of j's own digit against bounds the gather knows before it starts: peelable
    const at = jd[s.digit];
    const off = value(site.digits[s.digit], s.v);
    const local = new Set([...loops.map((x) => x.v), ...site.rebuilt.map((r) => r.v)]);
    const peelable =
      interior &&
      lv === 0 &&
      l.step === 1 &&
      (l.cmp === '<' || l.cmp === '<=') &&
      at.k === 'var' &&
      [off, l.init, l.bound].every((e) =>
        [...readsOf(e)].every((n) => !local.has(n) && !jd.some((d) => d.k === 'var' && d.name === n)),
      );
    if ((c === 1 || c === -1) && peelable && at.k === 'var') {
      const r = interior.ranges.get(at.name) ?? { lo: [], hi: [] };
      interior.ranges.set(at.name, r);
      const le = l.cmp === '<=' ? 1 : 0;
      // c = 1: v = j − off, init ≤ v < bound; c = −1: v = off − j
      if (c === 1) {
        r.lo.push(add(l.init, off));
        r.hi.push(add(add(l.bound, off), num(le)));
      } else {
        r.lo.push(add(sub(off, l.bound), num(1 - le)));
        r.hi.push(add(sub(off, l.init), num(1)));
      }
      if (interior.drop) {
        guards.push({
          level: lv,
          stmts: (inner) => [
            { k: 'decl', name: s.v, mutable: false, init: c === 1 ? rest : mul(num(-1), rest) },
            ...inner,
          ],
        });
        continue;
      }
    }
    if (c === 1 || c === -1) {
      guards.push({
        level: lv,
        stmts: (inner) => [
          { k: 'decl', name: s.v, mutable: false, init: c === 1 ? rest : mul(num(-1), rest) },
          { k: 'if', cond: range, then: inner, else: [] },
        ],
      });
    } else {
      const t = names.temp('q');
      const coef = polyExpr(s.coef);
      guards.push({
        level: lv,
        solve,
        stmts: (inner) => [
          { k: 'decl', name: t, mutable: false, init: rest },
          {
            k: 'if',
            cond: bin('===', bin('%', v(t), coef), num(0)),
            then: [
              { k: 'decl', name: s.v, mutable: false, init: div(v(t), coef) },
              { k: 'if', cond: range, then: inner, else: [] },
            ],
            else: [],
          },
        ],
      });
    }
  }
  for (const i of site.checked) {
    const c = bin('===', value(site.digits[i], ''), jd[i]);
    guards.push({ level: levelOf(c), stmts: (inner) => [{ k: 'if', cond: c, then: inner, else: [] }] });
  }
  // innermost: the staged values' iteration, recomputed locals, branch conditions, the contribution
  const it = names.temp('i');
  const stagedSub = (e: Expr): Expr =>
    substitute(e, (x) => {
      const s = site.staged.find((y) => sameExpr(x, y));
      return s && idx(stageArray(st, names, site.at.top, s), v(it));
    });
  let block: Stmt[] = [];
  if (site.staged.length || site.perInner)
    block.push({ k: 'decl', name: it, mutable: false, init: flatIndex(nest, st.trips) });
  for (const d of site.recompute) block.push({ ...d, init: stagedSub(d.init) });
  const inner = site.perInner && innerStageArray(st, names, site);
  const contribution: Stmt = {
    k: 'assign',
    target: { k: 'var', name: acc },
    op: site.sign < 0 ? '-=' : '+=',
    value: inner ? idx(inner.array, inner.slot(v(it))) : stagedSub(site.at.stmt.value),
  };
  block.push(
    site.at.conds.length
      ? {
          k: 'if',
          cond: site.at.conds.map(stagedSub).reduce((a, b) => bin('&&', a, b)),
          then: [contribution],
          else: [],
        }
      : contribution,
  );
  // split loop variables rebuilt from their quotient and remainder, inside their loop's range
  if (site.rebuilt.length) {
    block = [
      ...site.rebuilt.map((r): Stmt => ({ k: 'decl', name: r.v, mutable: false, init: r.init })),
      {
        k: 'if',
        cond: site.rebuilt.map((r) => inRange(r.loop, v(r.v))).reduce((a, b) => bin('&&', a, b)),
        then: block,
        else: [],
      },
    ];
  }
  for (let lv = site.summed.length; lv >= 0; lv--) {
    for (const g of [...guards].reverse()) if (g.level === lv) block = g.stmts(block);
    if (lv > 0) {
      const l = site.summed[lv - 1];
      const n = site.narrow.get(l.v);
      const digitsIn = (p: Poly): Expr =>
        substitute(polyExpr(p), (x) =>
          x.k === 'var' && x.name.startsWith('$digit') ? jd[Number(x.name.slice(6))] : undefined,
        );
      const init = n?.lower.length ? call('Math.max', l.init, ...n.lower.map(digitsIn)) : l.init;
      // i <= U: `i < U + 1` under `<`
      const uppers = (n?.upper ?? []).map((u) => digitsIn(l.cmp === '<' ? addPoly(u, constPoly(1)) : u));
      const bound = uppers.length ? call('Math.min', l.bound, ...uppers) : l.bound;
      // a summed loop whose value a stride divides (`x[s·o + k]` solves o = (j − k) / s): only the
      // k ≡ j (mod s) are candidates, from the first one in range, step s
      const strided =
        l.step === 1 && l.cmp === '<'
          ? guards.find(
              (g) =>
                g.level === lv &&
                g.solve &&
                (constOf(g.solve.coef) ?? 2) > 1 &&
                Math.abs(constOf(g.solve.digit.terms.get(l.v) ?? new Map()) ?? 0) === 1,
            )
          : undefined;
      if (strided?.solve) {
        const { coef, rest, digit } = strided.solve;
        const unit = constOf(digit.terms.get(l.v)!)!;
        const s = polyExpr(coef);
        // rest = R0 − unit·k, divisible by s  ⇔  k ≡ unit·R0 (mod s)
        const r0 = substitute(rest, (x) => (x.k === 'var' && x.name === l.v ? num(0) : undefined));
        const first = names.temp('k0');
        const start: Stmt = {
          k: 'decl',
          name: first,
          mutable: false,
          init: add(init, bin('%', add(bin('%', sub(unit === 1 ? r0 : mul(num(-1), r0), init), s), s), s)),
        };
        const c = constOf(coef);
        if (c !== undefined)
          block = [start, { k: 'for', v: l.v, init: v(first), cmp: '<', bound, step: c, body: block, parallel: false }];
        else {
          const t = names.temp('t');
          block = [
            start,
            {
              k: 'for',
              v: t,
              init: num(0),
              cmp: '<',
              bound: call('Math.ceil', div(sub(bound, v(first)), s)),
              step: 1,
              body: [{ k: 'decl', name: l.v, mutable: false, init: add(v(first), mul(v(t), s)) }, ...block],
              parallel: false,
            },
          ];
        }
        continue;
      }
      block = [{ k: 'for', v: l.v, init, cmp: l.cmp, bound, step: l.step, body: block, parallel: false }];
    }
  }
  return block;
}

/**
 * The first pass: the iteration body without the gathered updates, storing the staged values
 * before the statements that need them.
 */
export function stripSites(body: Stmt[], plans: GatherPlan[], st: Staging, names: Names, it: string): Stmt[] {
  const drop = new Set<Stmt>(plans.flatMap((p) => p.sites.map((s) => s.at.stmt)));
  // a contribution staged per inner iteration is stored where its update was
  const replace = new Map<Stmt, Stmt>();
  for (const p of plans)
    for (const s of p.sites)
      if (s.perInner && !replace.has(s.at.stmt)) {
        const { array, slot } = innerStageArray(st, names, s);
        replace.set(s.at.stmt, {
          k: 'assign',
          target: { k: 'index', array, index: slot(v(it)) },
          op: '=',
          value: s.at.stmt.value,
        });
      }
  const stores = new Map<Stmt, Stmt[]>();
  const stored = new Set<string>();
  for (const p of plans) {
    for (const s of p.sites) {
      for (const x of s.staged) {
        const a = stageArray(st, names, s.at.top, x);
        if (stored.has(a)) continue;
        stored.add(a);
        const list = stores.get(s.at.top) ?? [];
        list.push({ k: 'assign', target: { k: 'index', array: a, index: v(it) }, op: '=', value: x });
        stores.set(s.at.top, list);
      }
    }
  }
  // a loop or branch left without statements has nothing to do (loop headers have no effects)
  const strip = (block: Stmt[]): Stmt[] =>
    block.flatMap((s): Stmt[] => {
      const before = stores.get(s) ?? [];
      if (replace.has(s)) return [...before, replace.get(s)!];
      if (drop.has(s)) return before;
      if (s.k === 'if') {
        const then = strip(s.then);
        const els = strip(s.else);
        return [...before, ...(then.length || els.length ? [{ ...s, then, else: els }] : [])];
      }
      if (s.k === 'for' || s.k === 'block') {
        const body = strip(s.body);
        return [...before, ...(body.length ? [{ ...s, body }] : [])];
      }
      return [...before, s];
    });
  return strip(body);
}

/** Does any site need the iteration's values staged? */
export const needsStaging = (plans: GatherPlan[]): boolean =>
  plans.some((p) => p.sites.some((s) => s.staged.length > 0 || s.perInner));
