/**
 * Integer reasoning behind the exclusive-read analysis, with z3 (loaded lazily: the WASM build
 * takes a few hundred milliseconds to start, so only analyses that reach a query pay for it).
 * This is the worker side: query.ts (the analysis' entry points) runs these searches in the asking
 * thread until one needs z3, then asks the z3 worker (z3-worker.ts, through z3-client.ts), where
 * they run again with z3: a crash, a hang or an out-of-memory in z3 makes the query undecided
 * instead of ending the process.
 *
 * A *conflict* between two accesses is: parameter values, two different iterations of the nest
 * (each inside its loop ranges, each with values of its inner sequential loops inside theirs and
 * satisfying its affine guards) at which both access the same element.
 */
import type { Context, Arith, Bool, Expr as Z3Expr, Model } from 'z3-solver';
import {
  type Poly,
  addPoly,
  mulPoly,
  scalePoly,
  constPoly,
  symPoly,
  degreeOf,
  baseSymbols,
  defParts,
  defSymbols,
  isQuot,
} from './poly.js';
import type { NestModel, Range, Site, Constraint } from './model.js';
import { injective, siteKey } from './fast.js';
import type { Outcome, Witness } from './types.js';
import { allOf as allConditions, compareCondition, paramBound, type Condition } from './condition.js';

type Z = Context<'main'>;

let z3: Promise<{ ctx: Z; loadMs: number; allocated: () => number }> | undefined;

/** Where z3 does not run (the asking process), `getZ3` rejects with this: the query goes to the z3 worker. */
export class NeedsZ3 extends Error {}

/** z3 runs in this thread (the z3 worker's), with these overrides of its Emscripten module. */
let z3Here: Record<string, unknown> | undefined;
/** calls of `getZ3` refused so far (`withoutZ3` of query.ts looks for new ones) */
let z3Refused = 0;

/** How many calls of `getZ3` were refused so far (in a thread where z3 does not run). */
export function z3Refusals(): number {
  return z3Refused;
}

/** Makes `getZ3` load z3 in this thread (the z3 worker calls it), with `overrides` (a compiled module). */
export function useZ3Here(overrides: Record<string, unknown> = {}): void {
  z3Here = overrides;
}

/**
 * z3, loaded on first use, with the bytes it holds. Only in the z3 worker: elsewhere it rejects
 * with NeedsZ3, and `withoutZ3` (query.ts) passes the query on to the worker.
 */
export function getZ3(): Promise<{ ctx: Z; loadMs: number; allocated: () => number }> {
  if (!z3Here) {
    z3Refused++;
    return Promise.reject(new NeedsZ3('z3 runs in the z3 worker'));
  }
  z3 ??= (async () => {
    const t0 = performance.now();
    const { init } = await import('z3-solver');
    const { Context, Z3 } = await init(z3Here);
    const ctx = Context('main');
    return { ctx, loadMs: performance.now() - t0, allocated: () => Number(Z3.get_estimated_alloc_size()) };
  })();
  return z3;
}

/**
 * Builds z3 terms for a nest: one copy of the iteration variables per iteration. A quasi-affine
 * symbol gets one copy per renaming of the variables it is built from, defined exactly (isl's
 * encoding) by constraints collected in `defs`, which every formula built with the encoder must
 * include: `q = ⌊e/k⌋` ⇔ k·q ≤ e ≤ k·q + k − 1; JavaScript's truncation is the same for e ≥ 0
 * and k·q − k + 1 ≤ e ≤ k·q below; `q = min(a, b)` ⇔ q ≤ a ∧ q ≤ b ∧ (q = a ∨ q = b). The
 * definitions are total functions of their operands (for divisors ≥ 1), so adding them to a
 * formula only names values.
 */
class Encoder {
  readonly vars = new Map<string, Arith<'main'>>();
  readonly bound: Arith<'main'>[] = [];
  readonly defs: Bool<'main'>[] = [];
  constructor(
    readonly ctx: Z,
    readonly model: NestModel,
  ) {}

  /** The copy of quasi-affine symbol `s` for the renaming `rename`, defined on first use. */
  private defSym(s: string, rename: (s: string) => string): Arith<'main'> {
    const d = this.model.defs[s];
    const name = `${s}[${[...baseSymbols(new Map([[s, 1]]), this.model.defs)].sort().map(rename).join(',')}]`;
    let q = this.vars.get(name);
    if (q) return q;
    q = this.ctx.Int.const(name);
    this.vars.set(name, q);
    const ctx = this.ctx;
    if (!isQuot(d)) {
      const args = d.args.map((a) => this.poly(a, rename));
      const x = q;
      this.defs.push(
        ...args.map((a) => (d.op === 'min' ? x.le(a) : x.ge(a))),
        anyOf(
          ctx,
          args.map((a) => x.eq(a)),
        ),
      );
    } else {
      const e = this.poly(d.num, rename);
      const k = this.poly(d.den, rename);
      const kq = k.mul(q);
      const floor = ctx.And(kq.le(e), e.le(kq.add(k).sub(1)));
      // for a divisor below 1 the quotient is not an integer (an index of none): see `defined`
      this.defs.push(
        ctx.Implies(
          k.ge(1),
          d.op === 'floor'
            ? floor
            : ctx.Or(ctx.And(e.ge(0), floor), ctx.And(e.lt(0), kq.ge(e), e.ge(kq.sub(k).add(1)))),
        ),
      );
    }
    return q;
  }

  sym(name: string): Arith<'main'> {
    let v = this.vars.get(name);
    if (!v) {
      v = this.ctx.Int.const(name);
      this.vars.set(name, v);
    }
    return v;
  }

  /**
   * Where the quotients `p` uses are integers: their divisors (those that are not constants) at
   * least 1. A division by 0 makes an index NaN, which reads no element; a loop bound with such a
   * division is assumed to have one.
   */
  defined(p: Poly, rename: (s: string) => string): Bool<'main'>[] {
    const out: Bool<'main'>[] = [];
    for (const q of defSymbols(p, this.model.defs)) {
      const d = this.model.defs[q];
      if (isQuot(d) && !(d.den.size === 1 && d.den.has(''))) out.push(this.poly(d.den, rename).ge(1));
    }
    return out;
  }

  /** A polynomial with symbols renamed by `rename`. */
  poly(p: Poly, rename: (s: string) => string): Arith<'main'> {
    let sum: Arith<'main'> = this.ctx.Int.val(0);
    for (const [k, c] of p) {
      let term: Arith<'main'> = this.ctx.Int.val(c);
      for (const s of k ? k.split('*') : [])
        term = term.mul(this.model.defs[s] ? this.defSym(s, rename) : this.sym(rename(s)));
      sum = sum.add(term);
    }
    return sum;
  }

  /** v = lo ± step·k (k ≥ 0), v on the right side of its bound. */
  range(r: Range, rename: (s: string) => string, out: Bool<'main'>[]): void {
    if (r.step === 0) return; // a range without polynomial form: unconstrained
    out.push(...this.defined(r.lo, rename), ...this.defined(r.bound, rename));
    const v = this.sym(rename(r.v));
    const lo = this.poly(r.lo, rename);
    const bound = this.poly(r.bound, rename);
    if (Math.abs(r.step) === 1) out.push(r.step > 0 ? v.ge(lo) : v.le(lo));
    else {
      const k = this.sym(`${rename(r.v)}$k`);
      this.bound.push(k);
      out.push(k.ge(0), v.eq(r.step > 0 ? lo.add(k.mul(r.step)) : lo.sub(k.mul(-r.step))));
    }
    out.push(r.cmp === '<' ? v.lt(bound) : r.cmp === '<=' ? v.le(bound) : r.cmp === '>' ? v.gt(bound) : v.ge(bound));
  }

  guard(g: Constraint, rename: (s: string) => string): Bool<'main'> {
    const p = this.poly(g.p, rename);
    const c = g.rel === '>=' ? p.ge(0) : g.rel === '==' ? p.eq(0) : p.neq(0);
    // with a quotient by 0 (NaN), JavaScript's comparisons are false, `!==` true
    const ok = this.defined(g.p, rename);
    if (!ok.length) return c;
    return g.rel === '!=' ? this.ctx.Or(c, this.ctx.Not(allOf(this.ctx, ok))) : allOf(this.ctx, [c, ...ok]);
  }
}

type Solver = InstanceType<Z['Solver']>;

/** Lists up to this long go to z3's `And` / `Or` in one call; longer ones as a balanced tree of such calls. */
const CHUNK = 256;

/**
 * The conjunction (`op` 'and') or disjunction of `xs`, never one call with more than CHUNK
 * arguments: spreading a list of ~65k terms into one call overflows the stack.
 */
function combine(ctx: Z, op: 'and' | 'or', xs: Bool<'main'>[]): Bool<'main'> {
  const call = (ys: Bool<'main'>[]) => (op === 'and' ? ctx.And(...ys) : ctx.Or(...ys));
  if (xs.length <= CHUNK) return call(xs);
  const parts: Bool<'main'>[] = [];
  for (let k = 0; k < xs.length; k += CHUNK) parts.push(combine(ctx, op, xs.slice(k, k + CHUNK)));
  return combine(ctx, op, parts);
}
const allOf = (ctx: Z, xs: Bool<'main'>[]) => combine(ctx, 'and', xs);
const anyOf = (ctx: Z, xs: Bool<'main'>[]) => combine(ctx, 'or', xs);

/** Runs `f` with a fresh solver (with a time limit) and frees it: z3's WASM heap does not grow past 2 GiB. */
async function withSolver<T>(ctx: Z, timeoutMs: number, f: (s: Solver) => Promise<T>): Promise<T> {
  const s = new ctx.Solver();
  s.set('timeout', timeoutMs);
  try {
    return await f(s);
  } finally {
    s.release();
  }
}

const nestVars = (m: NestModel) => new Set(m.loops.map((l) => l.v));

/** Renaming for iteration `it` (1 or 2) and the inner loops of one access (`tag`). */
function renamer(m: NestModel, site: Site, it: number, tag: string): (s: string) => string {
  const nest = nestVars(m);
  const inner = new Set(site.inner.map((r) => r.v));
  return (s) => (nest.has(s) ? `${s}#${it}` : inner.has(s) ? `${s}#${tag}` : s);
}

/** Constraints under which the nest's iterations 1 and 2 exist and differ. */
function iterationPair(enc: Encoder, m: NestModel, out: Bool<'main'>[]): void {
  const ctx = enc.ctx;
  for (const it of [1, 2]) for (const r of m.loops) enc.range(r, (s) => (nestVars(m).has(s) ? `${s}#${it}` : s), out);
  for (const r of m.outer) enc.range(r, (s) => s, out);
  out.push(
    anyOf(
      ctx,
      m.loops.map((l) => enc.sym(`${l.v}#1`).neq(enc.sym(`${l.v}#2`))),
    ),
  );
}

/** Access `a` in iteration 1 and access `b` in iteration 2 touch the same element. */
function pairConflict(enc: Encoder, m: NestModel, a: Site, b: Site, tagA: string, tagB: string): Bool<'main'> {
  const ra = renamer(m, a, 1, tagA);
  const rb = renamer(m, b, 2, tagB);
  const parts = [...accessAt(enc, m, a, ra), ...accessAt(enc, m, b, rb)];
  parts.push(
    enc.poly(a.index!, ra).eq(enc.poly(b.index!, rb)),
    ...enc.defined(a.index!, ra),
    ...enc.defined(b.index!, rb),
  );
  return allOf(enc.ctx, parts);
}

/** Where access `site` happens under renaming `r`: its inner loops' ranges and its guards. */
function accessAt(enc: Encoder, m: NestModel, site: Site, r: (s: string) => string): Bool<'main'>[] {
  const parts: Bool<'main'>[] = [];
  for (const x of site.inner) enc.range(x, r, parts);
  for (const g of site.guards) parts.push(enc.guard(g, r));
  return parts;
}

/** The value of an integer term in a model (z3 prints negative numerals as `(- 3)`). */
const num = (model: Model<'main'>, e: Arith<'main'>): number =>
  Number(
    model
      .eval(e, true)
      .toString()
      .replace(/^\(- (\d+)\)$/, '-$1'),
  );

/** Up to this many pairs of accesses, one disjunct per pair; past it, one per access (see `conflictProblem`). */
const PAIRWISE = 64;

type Problem = {
  enc: Encoder;
  formula: Bool<'main'>;
  /** the accesses the model's conflict is between */
  pick: (model: Model<'main'>) => { a: Site; b: Site; tagA: string };
};

/**
 * The conflict formula of `first` × `second` (an access of each, from two different iterations,
 * touching one element). A few pairs: one disjunct per pair. More: the element is a variable `e`
 * that some access of `first` touches in iteration 1 (a disjunction over `first`) and some access
 * of `second` in iteration 2 (one over `second`): S₁ + S₂ disjuncts for S₁·S₂ pairs (the same
 * formula, distributed), so a stencil of 323 reads is 646 disjuncts, not 52,000.
 */
function conflictProblem(ctx: Z, m: NestModel, first: Site[], second: Site[]): Problem {
  const enc = new Encoder(ctx, m);
  const base: Bool<'main'>[] = [];
  iterationPair(enc, m, base);
  const holds = (model: Model<'main'>, f: Bool<'main'>) => model.eval(f, true).toString() === 'true';
  if (first.length * second.length <= PAIRWISE) {
    const pairs: { a: Site; b: Site; f: Bool<'main'>; tagA: string }[] = [];
    first.forEach((a, i) =>
      second.forEach((b, j) => {
        if (first === second && j < i) return; // symmetric
        pairs.push({ a, b, tagA: `a${i}`, f: pairConflict(enc, m, a, b, `a${i}`, `b${j}`) });
      }),
    );
    const formula = allOf(ctx, [
      ...base,
      anyOf(
        ctx,
        pairs.map((p) => p.f),
      ),
      ...enc.defs,
    ]);
    return { enc, formula, pick: (model) => pairs.find((p) => holds(model, p.f)) ?? pairs[0] };
  }
  const e = enc.sym('$element');
  const side = (sites: Site[], it: number, tag: string) =>
    sites.map((site, i) => {
      const r = renamer(m, site, it, `${tag}${i}`);
      const f = allOf(ctx, [
        ...accessAt(enc, m, site, r),
        enc.poly(site.index!, r).eq(e),
        ...enc.defined(site.index!, r),
      ]);
      return { site, f, tag: `${tag}${i}` };
    });
  const as = side(first, 1, 'a');
  const bs = side(second, 2, 'b');
  const formula = allOf(ctx, [
    ...base,
    anyOf(
      ctx,
      as.map((x) => x.f),
    ),
    anyOf(
      ctx,
      bs.map((x) => x.f),
    ),
    ...enc.defs,
  ]);
  return {
    enc,
    formula,
    pick: (model) => {
      const a = as.find((x) => holds(model, x.f)) ?? as[0];
      const b = bs.find((x) => holds(model, x.f)) ?? bs[0];
      return { a: a.site, b: b.site, tagA: a.tag };
    },
  };
}

/**
 * The conflict problems built last (in this thread, the z3 worker's), by nest and accesses: the
 * exclusive condition of an array reuses its conflict query's formula instead of building it again.
 */
const problems = new Map<string, Problem>();

function problemOf(ctx: Z, m: NestModel, first: Site[], second: Site[]): Problem {
  const key = JSON.stringify(
    [m.loops, m.outer, [...m.params].sort(), m.defs, first.map(siteKey), first === second ? '=' : second.map(siteKey)],
    (_, v) => (v instanceof Map ? [...v] : v),
  );
  let p = problems.get(key);
  if (!p) {
    p = conflictProblem(ctx, m, first, second);
    problems.set(key, p);
    if (problems.size > 8) problems.delete(problems.keys().next().value!);
  }
  return p;
}

/** `findConflict` (query.ts) in the z3 worker. */
export async function searchConflict(m: NestModel, first: Site[], second: Site[]): Promise<Outcome> {
  const bad = [...first, ...second].find((s) => !s.index);
  if (bad) return { verdict: 'unknown', reason: `${bad.text} has no affine index` };
  if (!first.length || !second.length) return { verdict: 'none' };
  const { ctx } = await getZ3();
  const { enc, formula, pick } = problemOf(ctx, m, first, second);
  const symbols = [...enc.vars.keys()].filter((n) => m.params.has(n));
  return withSolver(ctx, 2000, async (solver): Promise<Outcome> => {
    solver.add(formula);
    // Concrete parameter values first: with them fixed the problem is linear and fast to solve, and
    // most conflicts show up at small sizes. Only then the general (possibly non-linear) query.
    let model = await concreteModel(ctx, solver, symbols);
    if (!model) {
      // z3 can also fail (a resource limit): that is an undecided query, not a crash
      const r = await solver.check().catch(() => 'unknown' as const);
      if (r === 'unsat') return { verdict: 'none' };
      if (r === 'unknown')
        return { verdict: 'unknown', reason: 'the solver could not decide (non-linear index arithmetic)' };
      model = solver.model();
    }
    const found = model;
    try {
      const hit = pick(found);
      const params: Record<string, number> = {};
      for (const p of [...m.params].sort()) if (enc.vars.has(p)) params[p] = num(found, enc.sym(p));
      const iterations = [1, 2].map((it) =>
        Object.fromEntries(m.loops.map((l) => [l.v, num(found, enc.sym(`${l.v}#${it}`))])),
      ) as Witness['iterations'];
      const ra = renamer(m, hit.a, 1, hit.tagA);
      const element = num(found, enc.poly(hit.a.index!, ra));
      // a nest range without polynomial form was left unconstrained: the witness may not be real
      const boundsKnown = m.loops.every((l) => l.step !== 0);
      const certain = hit.a.certain && hit.b.certain && boundsKnown;
      const uncertainty = !boundsKnown
        ? 'the loop bounds have no affine form'
        : !certain
          ? 'the accesses sit under branches or loops without affine conditions'
          : '';
      return {
        verdict: 'conflict',
        witness: { params, iterations, element, accesses: [hit.a.text, hit.b.text] },
        certain,
        uncertainty,
      };
    } finally {
      found.release();
    }
  });
}

/**
 * Simplifies a Boolean combination of comparisons assuming `context`: drops conjuncts the context
 * (and the other conjuncts) imply, disjuncts the context excludes, and duplicates.
 */
async function simplifyUnder(ctx: Z, f: Bool<'main'>, context: Bool<'main'>): Promise<Bool<'main'>> {
  const valid = (g: Bool<'main'>) =>
    withSolver(ctx, 1000, async (s) => {
      s.add(context, ctx.Not(g));
      return (await s.check()) === 'unsat';
    });
  const node = f as unknown as Node;
  const name = String(node.decl().name());
  const kids = node.children() as unknown as Bool<'main'>[];
  if (name === 'and') {
    // one query at a time: z3's WASM build does not allow concurrent checks
    let parts: Bool<'main'>[] = [];
    for (const k of kids) parts.push(await simplifyUnder(ctx, k, context));
    parts = parts.filter((p, i) => parts.findIndex((q) => q.toString() === p.toString()) === i);
    const kept: Bool<'main'>[] = [];
    for (let i = 0; i < parts.length; i++) {
      const others = [...kept, ...parts.slice(i + 1)];
      if (!(await valid(others.length ? ctx.Implies(allOf(ctx, others), parts[i]) : parts[i]))) kept.push(parts[i]);
    }
    return kept.length === 0 ? ctx.Bool.val(true) : kept.length === 1 ? kept[0] : allOf(ctx, kept);
  }
  if (name === 'or') {
    let parts: Bool<'main'>[] = [];
    for (const k of kids) parts.push(await simplifyUnder(ctx, k, context));
    const kept: Bool<'main'>[] = [];
    for (const p of parts) {
      if (await valid(ctx.Not(p))) continue; // excluded by the context
      if (!kept.some((q) => q.toString() === p.toString())) kept.push(p);
    }
    parts = kept;
    // drop disjuncts implied by another one
    const out: Bool<'main'>[] = [];
    for (let i = 0; i < parts.length; i++) {
      const others = [...out, ...parts.slice(i + 1)];
      if (!(others.length && (await valid(ctx.Implies(parts[i], anyOf(ctx, others)))))) out.push(parts[i]);
    }
    return out.length === 0 ? ctx.Bool.val(false) : out.length === 1 ? out[0] : anyOf(ctx, out);
  }
  return f;
}

/** The parameters that are strides of flattened multi-D indexing (`W` in `y*W + x`). */
function strideParams(m: NestModel, sites: Site[]): string[] {
  const strides = new Set<string>();
  for (const site of sites) {
    for (const key of site.index?.keys() ?? []) {
      const syms = key.split('*').filter(Boolean);
      if (syms.length > 1) for (const x of syms) if (m.params.has(x)) strides.add(x);
    }
  }
  return [...strides].sort();
}

/** `positiveStrides` without the solver: the index is a mixed-radix number once strides are >= 1. */
function positiveStridesFast(m: NestModel, sites: Site[]): Condition | undefined {
  const params = strideParams(m, sites);
  const positive = (ps: string[]) => ps.map((p) => addPoly(symPoly(p), constPoly(-1)));
  if (!params.length || !injective(m, sites, positive(params))) return undefined;
  const one = params.find((p) => injective(m, sites, positive([p])));
  return allConditions((one ? [one] : params).map((p) => paramBound(p, '>=', 1)));
}

/**
 * For non-linear (flattened multi-D) indexing, where quantifier elimination does not apply: are
 * the conflicts only those of degenerate strides (a row length of 0 makes every row start at 0)?
 * Returns `p >= 1 && …` for the fewest stride parameters that rule all conflicts out, if any.
 */
async function positiveStrides(
  ctx: Z,
  m: NestModel,
  sites: Site[],
  formula: Bool<'main'>,
): Promise<Condition | undefined> {
  const params = strideParams(m, sites);
  if (!params.length) return undefined;
  const excluded = (ps: string[]): Promise<boolean> =>
    withSolver(ctx, 1500, async (solver) => {
      solver.add(formula, ...ps.map((p) => ctx.Int.const(p).ge(1)));
      // a conflict at small positive sizes settles it without the non-linear query
      const model = await concreteModel(
        ctx,
        solver,
        [...m.params].filter((p) => p !== '' && !p.includes('#')),
      );
      if (model) {
        model.release();
        return false;
      }
      return (await solver.check()) === 'unsat';
    });
  if (!(await excluded(params))) return undefined;
  if (params.length > 1) for (const p of params) if (await excluded([p])) return paramBound(p, '>=', 1);
  return allConditions(params.map((p) => paramBound(p, '>=', 1)));
}

/** Parameter values tried before the general query: small sizes, all alike and mixed. */
const CANDIDATES = [4, 6, 3, 8, 5, 7, 2];

/** A model of what `solver` holds with the parameters fixed to one of a few small value sets. */
async function concreteModel(ctx: Z, solver: Solver, params: string[]): Promise<Model<'main'> | undefined> {
  if (!params.length) return undefined;
  const sets: number[][] = CANDIDATES.map((v) => params.map(() => v));
  // mixed sizes: the k-th parameter gets a different small value
  sets.push(
    params.map((_, k) => 3 + ((k * 5) % 7)),
    params.map((_, k) => 9 - ((k * 3) % 6)),
  );
  for (const values of sets) {
    solver.push();
    params.forEach((p, k) => solver.add(ctx.Int.const(p).eq(values[k])));
    const r = await solver.check();
    const model = r === 'sat' ? solver.model() : undefined;
    solver.pop();
    if (model) return model;
  }
  return undefined;
}

/** Are all terms of the problem linear (no products of symbols)? Quantifier elimination is then cheap. */
function linearProblem(m: NestModel, sites: Site[]): boolean {
  const polys: Poly[] = [];
  const ranges = (rs: Range[]) => {
    for (const r of rs) polys.push(r.lo, r.bound);
  };
  ranges(m.loops);
  ranges(m.outer);
  for (const s of sites) {
    ranges(s.inner);
    if (s.index) polys.push(s.index);
    for (const g of s.guards) polys.push(g.p);
  }
  // a quotient by a parameter is a product of symbols in its definition
  for (const d of Object.values(m.defs)) {
    polys.push(...defParts(d));
    if (isQuot(d)) polys.push(mulPoly(d.den, symPoly('$q')));
  }
  return polys.every((p) => degreeOf(p) <= 1);
}

/** `exclusiveCondition` (query.ts) in the z3 worker. */
export async function searchCondition(m: NestModel, sites: Site[]): Promise<Condition | undefined> {
  // quantifier elimination over non-linear integer terms rarely terminates: linear problems only
  const strided = positiveStridesFast(m, sites);
  if (strided) return strided;
  const { ctx } = await getZ3();
  const conflict = problemOf(ctx, m, sites, sites);
  if (!linearProblem(m, sites)) return positiveStrides(ctx, m, sites, conflict.formula);
  try {
    const qe = async (f: Bool<'main'>, vars: Arith<'main'>[]): Promise<Bool<'main'>> => {
      const goal = new ctx.Goal();
      goal.add(vars.length ? ctx.Exists(vars as [Arith<'main'>, ...Arith<'main'>[]], f) : f);
      const res = await ctx.TryFor(ctx.AndThen('qe', 'ctx-solver-simplify'), 2000).apply(goal);
      return res.getSubgoal(0).asExpr();
    };
    const conflictParams = await qe(
      conflict.formula,
      [...conflict.enc.vars.entries()].filter(([n]) => !m.params.has(n)).map(([, v]) => v),
    );
    // Non-degenerate parameter values: every nest loop runs at least twice and the inner loops
    // around the reads at least once (a window of width 0 counts, an empty dot product does not).
    const enc = new Encoder(ctx, m);
    const two: Bool<'main'>[] = [];
    iterationPair(enc, m, two);
    two.pop(); // replace "the iterations differ" by "they differ in every loop variable"
    for (const l of m.loops) two.push(enc.sym(`${l.v}#1`).neq(enc.sym(`${l.v}#2`)));
    sites.forEach((site, i) => {
      for (const r of site.inner) enc.range(r, renamer(m, site, 1, `ctx${i}`), two);
    });
    two.push(...enc.defs);
    const twoVars = [...enc.vars.entries()].filter(([n]) => !m.params.has(n)).map(([, v]) => v);
    const twoParams = await qe(allOf(ctx, two), twoVars);
    const exclusiveSomewhere = await withSolver(ctx, 2000, async (solver) => {
      solver.add(twoParams, ctx.Not(conflictParams));
      return (await solver.check()) === 'sat';
    });
    if (!exclusiveSomewhere) return undefined;
    const simple = await simplifyUnder(ctx, conflictParams, twoParams);
    // a condition with divisibility (mod/div from quantifier elimination) is not reported: `no`
    return z3Condition(simple, true);
  } catch {
    // no answer from quantifier elimination in time, or a condition the printer cannot render
    return undefined;
  }
}

/** A z3 term outside linear integer arithmetic, which the condition printer does not render. */
class Unprintable extends Error {}

type Node = { decl(): { name(): string | number }; children(): Node[]; toString(): string };

/** A z3 integer term as a polynomial, if it is one. */
function termPoly(e: Node): Poly | undefined {
  const name = String(e.decl().name());
  const kids = e.children();
  if (!kids.length) {
    const text = e.toString().replace(/^\(- (\d+)\)$/, '-$1');
    if (/^-?\d+$/.test(text)) return constPoly(Number(text));
    return symPoly(text);
  }
  const polys = kids.map(termPoly);
  if (polys.some((p) => !p)) return undefined;
  const ps = polys as Poly[];
  switch (name) {
    case '+':
      return ps.reduce((a, b) => addPoly(a, b));
    case '*':
      return ps.reduce((a, b) => mulPoly(a, b));
    case '-':
      return ps.length === 1 ? scalePoly(ps[0], -1) : ps.slice(1).reduce((a, b) => addPoly(a, b, -1), ps[0]);
    default:
      return undefined;
  }
}

/** A z3 Boolean term over integer parameters as a condition (its negation with `negate`). */
export function z3Condition(e: Z3Expr<'main'>, negate = false): Condition {
  const n = e as unknown as Node;
  const name = String(n.decl().name());
  const kids = n.children();
  const sub = (x: Node, neg: boolean) => z3Condition(x as unknown as Z3Expr<'main'>, neg);
  switch (name) {
    case 'not':
      return sub(kids[0], !negate);
    case 'and':
    case 'or':
      return { k: (name === 'and') !== negate ? 'and' : 'or', items: kids.map((k) => sub(k, negate)) };
    case 'true':
    case 'false':
      return { k: 'bool', value: (name === 'true') !== negate };
    case '<=':
    case '>=':
    case '<':
    case '>':
    case '=': {
      const [a, b] = kids.map(termPoly);
      if (!a || !b) throw new Unprintable(n.toString());
      // normalize to d >= 0 (or d > 0), integers: d > 0 ⟺ d - 1 >= 0
      const ge = name === '<=' || name === '<' ? addPoly(b, a, -1) : addPoly(a, b, -1);
      const strict = name === '<' || name === '>';
      if (name === '=') return compareCondition(addPoly(a, b, -1), negate ? '!==' : '===');
      if (!negate) return compareCondition(strict ? addPoly(ge, constPoly(-1)) : ge);
      // !(d >= 0) ⟺ -d - 1 >= 0;  !(d > 0) ⟺ -d >= 0
      return compareCondition(strict ? scalePoly(ge, -1) : addPoly(scalePoly(ge, -1), constPoly(-1)));
    }
    default:
      throw new Unprintable(n.toString());
  }
}
