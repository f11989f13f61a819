/**
 * Fast paths of the exclusive-read analysis: verdicts that follow from the form of the indices
 * alone, without the solver. Each answer is exact; the brute-force property test checks them like
 * the solver's.
 *
 * - `none` (exclusive): the indices are one mixed-radix number whose digits are the nest's
 *   variables. Ordered by coefficient, each variable's coefficient exceeds everything the lower
 *   digits (and the per-access offsets) can add up to, so equal elements mean equal iterations:
 *   `out[(f*OH + oy)*OW + ox]`, `W[o*nIn + i]` over an inner `i`, `x[2*i]` with `x[2*i + 1]`. The
 *   inequalities are polynomials in the parameters, proven non-negative from the loops' being
 *   non-empty (see `Facts`).
 * - `conflict` for every parameter value (verdict `no`, no condition to look for): two iterations
 *   that differ in one variable `v` (its first and second value, or its first and last) read the
 *   same element as a polynomial identity in all other symbols: `u[i+1]` at `i` and `u[i]` at
 *   `i+1`; `c[n-1-i]` at 0 and `c[i]` at `n-1`; `bias[f]` at any two `ox`; `u[(y+dy)*W + x+dx]`
 *   with `dx` at its second value in one iteration and its first in the next. Whenever every nest
 *   loop runs at least twice (the analysis' non-degenerate sizes) both iterations exist, so the
 *   conflict is there for all sizes; the witness is that identity evaluated at small sizes.
 */
import type { NestModel, Range, Site } from './model.js';
import type { Witness } from './types.js';
import { paramBound, type Condition } from './condition.js';
import {
  symbolsOf,
  type Poly,
  type Defs,
  addPoly,
  constPoly,
  symPoly,
  scalePoly,
  mulPoly,
  samePoly,
  substPoly,
  degreeOf,
  evalPoly,
  baseSymbols,
  defSymbols,
  isQuot,
  divideBy,
  polyKey,
} from './poly.js';

export type FastVerdict = { verdict: 'none' } | { verdict: 'conflict'; witness: Witness } | undefined;

export function fastVerdict(m: NestModel, sites: Site[]): FastVerdict {
  if (!sites.length || sites.some((s) => !s.index)) return undefined;
  const split = splitQuotients(m, sites);
  if (split && (injective(split.m, split.sites) || boxInjective(split.m, split.sites))) return { verdict: 'none' };
  // the identities below substitute loop variables, which quasi-affine symbols hide
  if (movingDefs(m, sites)) return undefined;
  const witness = everywhereConflict(m, sites) ?? cornerConflict(m, sites);
  return witness ? { verdict: 'conflict', witness } : undefined;
}

// ---------------------------------------------------------------------------------------------
// Distinct accesses

const rangeKey = (r: Range): string => `${r.v}=${polyKey(r.lo)}${r.cmp}${polyKey(r.bound)}:${r.step}`;

/** Accesses with this key touch the same elements in the same iterations: one of them stands for all. */
export function siteKey(s: Site): string {
  const index = s.index ? polyKey(s.index) : `?${s.text}`;
  const guards = s.guards.map((g) => g.rel + polyKey(g.p)).join(';');
  return `${index}|${s.certain ? '' : '?'}|${s.inner.map(rangeKey).join(';')}|${guards}`;
}

/**
 * The accesses with duplicates (same index form, loops and guards) left out, in order: a chain of
 * 1,000 statements reading `x` at five offsets is five accesses. Every verdict and witness is that
 * of the full list (a pair with a duplicate is a pair with the first of its kind, found before it).
 */
export function distinctSites(sites: Site[]): Site[] {
  const seen = new Set<string>();
  return sites.filter((s) => {
    const k = siteKey(s);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

// ---------------------------------------------------------------------------------------------
// Quasi-affine symbols

/** Quasi-affine symbols whose value is fixed while the nest runs (built from parameters only). */
function fixedDefs(m: NestModel): string[] {
  return Object.keys(m.defs).filter((q) => [...baseSymbols(symPoly(q), m.defs)].every((s) => m.params.has(s)));
}

/** Do the accesses (indices, guards, inner loop bounds) use a quasi-affine symbol that moves with the loops? */
function movingDefs(m: NestModel, sites: Site[]): boolean {
  const fixed = new Set(fixedDefs(m));
  const polys = [
    ...m.loops.flatMap((r) => [r.lo, r.bound]),
    ...sites.flatMap((s) => [s.index!, ...s.guards.map((g) => g.p), ...s.inner.flatMap((r) => [r.lo, r.bound])]),
  ];
  return polys.some((p) => defSymbols(p, m.defs).some((q) => !fixed.has(q)));
}

/**
 * The nest with quotients of its variables as digits of their own: a nest variable v over
 * [0, k·M) (step 1) that the indices use through ⌊v / k⌋ (or `(v / k) | 0`, the same for v ≥ 0)
 * is v = k·q + r with q over [0, M) and r over [0, k): the same iterations, and `v % k`, which is
 * v − k·⌊v / k⌋, becomes r. Pixel shuffle's `((c·r² + (y % r)·r + x % r)·H + y / r)·W + x / r`
 * is then a mixed-radix number over (c, y%r, x%r, y/r, x/r). Quasi-affine symbols built from
 * parameters only count as parameters. Undefined when other quasi-affine symbols remain.
 */
function splitQuotients(m: NestModel, sites: Site[]): { m: NestModel; sites: Site[] } | undefined {
  const fixed = new Set(fixedDefs(m));
  const params = new Set([...m.params, ...fixed]);
  const nest = new Set(m.loops.map((l) => l.v));
  const splits = new Map<string, { den: Poly; q: string; syms: string[] }>();
  const polys = sites.flatMap((s) => [
    s.index!,
    ...s.guards.map((g) => g.p),
    ...s.inner.flatMap((r) => [r.lo, r.bound]),
  ]);
  for (const p of polys) {
    for (const q of symbolsOf(p)) {
      const d = m.defs[q];
      if (!d || fixed.has(q)) continue;
      if (!isQuot(d) || d.num.size !== 1 || d.num.get([...d.num.keys()][0]) !== 1) return undefined;
      const v = [...d.num.keys()][0];
      if (!nest.has(v) || !mentionsOnly(d.den, params) || d.den.size !== 1) return undefined;
      const prev = splits.get(v);
      if (prev && !samePoly(prev.den, d.den)) return undefined;
      splits.set(v, { den: d.den, q: `${v}/q`, syms: [...(prev?.syms ?? []), q] });
    }
  }
  if (!splits.size) return { m: { ...m, params }, sites };
  const loops: Range[] = [];
  const sub = new Map<string, Poly>();
  for (const r of m.loops) {
    const sp = splits.get(r.v);
    if (!sp) {
      loops.push(r);
      continue;
    }
    const M = r.step === 1 && r.lo.size === 0 && r.cmp === '<' ? divideBy(r.bound, sp.den) : undefined;
    if (!M) return undefined;
    const rv = `${r.v}/r`;
    loops.push(
      { v: sp.q, lo: new Map(), bound: M, cmp: '<', step: 1 },
      { v: rv, lo: new Map(), bound: sp.den, cmp: '<', step: 1 },
    );
    sub.set(r.v, addPoly(mulPoly(sp.den, symPoly(sp.q)), symPoly(rv)));
    for (const q of sp.syms) sub.set(q, symPoly(sp.q));
  }
  const s = (p: Poly) => substPoly(p, (x) => sub.get(x));
  const out = sites.map((x) => ({
    ...x,
    index: s(x.index!),
    guards: x.guards.map((g) => ({ ...g, p: s(g.p) })),
    inner: x.inner.map((r) => ({ ...r, lo: s(r.lo), bound: s(r.bound) })),
  }));
  return { m: { ...m, loops, params }, sites: out };
}

// ---------------------------------------------------------------------------------------------
// Ranges and facts

/** The values of a loop variable lie in [lo, hi] (polynomials), when its direction is sane. */
export function span(r: Range): { lo: Poly; hi: Poly } | undefined {
  if (r.step > 0 && (r.cmp === '<' || r.cmp === '<='))
    return { lo: r.lo, hi: r.cmp === '<' ? addPoly(r.bound, constPoly(-1)) : r.bound };
  if (r.step < 0 && (r.cmp === '>' || r.cmp === '>='))
    return { lo: r.cmp === '>' ? addPoly(r.bound, constPoly(1)) : r.bound, hi: r.lo };
  return undefined;
}

const mentions = (p: Poly, names: Set<string>): boolean => [...symbolsOf(p)].some((s) => names.has(s));

/**
 * Known non-negative polynomials over the parameters (a loop that runs has `hi - lo >= 0`), and a
 * sufficient test that a polynomial is non-negative wherever they all hold: each fact that is linear
 * in some parameter with coefficient ±1 names a slack `s >= 0` and eliminates that parameter
 * (`W - K >= 0` gives `W = K + s`); a polynomial whose terms are then all positive multiples of
 * slacks (plus a non-negative constant) is non-negative. `(H-K+1)·(W-K+1)` becomes `(s2+1)·(s1+1)`.
 */
class Facts {
  private readonly subs: [string, Poly][] = [];
  private readonly slacks = new Set<string>();
  /** a fact reduced to a negative constant: no parameter values make all loops run */
  private empty = false;

  constructor(facts: Poly[]) {
    for (const f0 of facts) {
      const f = this.reduce(f0);
      if (!f.size || (f.size === 1 && f.has(''))) {
        if ((f.get('') ?? 0) < 0) this.empty = true;
        continue;
      }
      const x = [...f.keys()].find(
        (k) =>
          k &&
          !k.includes('*') &&
          !this.slacks.has(k) &&
          Math.abs(f.get(k)!) === 1 &&
          ![...f.keys()].some((o) => o !== k && o.split('*').includes(k)),
      );
      // a product of sizes at least c (`H*r - 1 >= 0`, a loop up to H·r that runs): H·r = s + c
      const mono = [...f.keys()].filter((k) => k);
      if (
        !x &&
        mono.length === 1 &&
        mono[0].includes('*') &&
        f.get(mono[0]) === 1 &&
        !mono[0].split('*').some((y) => this.slacks.has(y))
      ) {
        const s = `$s${this.slacks.size}`;
        this.slacks.add(s);
        this.products.push([mono[0].split('*'), addPoly(symPoly(s), constPoly(-(f.get('') ?? 0)))]);
        continue;
      }
      if (!x) continue;
      const c = f.get(x)!;
      const s = `$s${this.slacks.size}`;
      this.slacks.add(s);
      // c·x + r = s  ⇒  x = c·(s − r)
      const r = addPoly(f, new Map([[x, c]]), -1);
      this.subs.push([x, scalePoly(addPoly(symPoly(s), r, -1), c)]);
    }
  }

  /** products of parameters by what they equal (`H*r` → `$s1 + 1`) */
  private readonly products: [string[], Poly][] = [];

  private reduce(p: Poly): Poly {
    for (const [x, by] of this.subs) p = substPoly(p, (s) => (s === x ? by : undefined));
    for (const [factors, by] of this.products) {
      let out: Poly = new Map();
      for (const [k, c] of p) {
        const rest = k ? k.split('*') : [];
        let term: Poly = constPoly(c);
        // each occurrence of the product in the monomial
        const contains = () => {
          const r = [...rest];
          return factors.every((f) => r.indexOf(f) >= 0 && r.splice(r.indexOf(f), 1).length === 1);
        };
        while (contains()) {
          for (const f of factors) rest.splice(rest.indexOf(f), 1);
          term = mulPoly(term, by);
        }
        out = addPoly(out, mulPoly(term, rest.length ? new Map([[rest.sort().join('*'), 1]]) : constPoly(1)));
      }
      p = out;
    }
    return p;
  }

  nonNegative(p: Poly): boolean {
    if (this.empty) return true;
    for (const [k, c] of this.reduce(p)) {
      if (k === '' ? c < 0 : c < 0 || !k.split('*').every((s) => this.slacks.has(s))) return false;
    }
    return true;
  }
}

// ---------------------------------------------------------------------------------------------
// Exclusive: one mixed-radix number

/** The terms of `p` that mention a nest variable, by variable (its coefficient), or undefined. */
function nestCoefficients(p: Poly, nest: Set<string>): Map<string, Poly> | undefined {
  const out = new Map<string, Poly>();
  for (const [k, c] of p) {
    const syms = k ? k.split('*') : [];
    const vs = syms.filter((s) => nest.has(s));
    if (!vs.length) continue;
    if (vs.length > 1) return undefined;
    const rest = syms.filter((s, i) => i !== syms.indexOf(vs[0])).join('*');
    out.set(vs[0], addPoly(out.get(vs[0]) ?? new Map(), new Map([[rest, c]])));
  }
  return out;
}

/**
 * The range [lo, hi] of the rest of an index (its terms without nest variables): inner loop
 * variables with constant coefficients over ranges given by the parameters, plus parameter terms.
 */
function restRange(rest: Poly, site: Site, params: Set<string>): { lo: Poly; hi: Poly } | undefined {
  let lo: Poly = new Map();
  let hi: Poly = new Map();
  for (const [k, c] of rest) {
    const syms = k ? k.split('*') : [];
    if (syms.every((s) => params.has(s))) {
      lo = addPoly(lo, new Map([[k, c]]));
      hi = addPoly(hi, new Map([[k, c]]));
      continue;
    }
    const r = syms.length === 1 ? site.inner.find((x) => x.v === k) : undefined;
    const sp = r && span(r);
    if (!sp || !mentionsOnly(sp.lo, params) || !mentionsOnly(sp.hi, params)) return undefined;
    lo = addPoly(lo, c > 0 ? sp.lo : sp.hi, c);
    hi = addPoly(hi, c > 0 ? sp.hi : sp.lo, c);
  }
  return { lo, hi };
}

const mentionsOnly = (p: Poly, names: Set<string>): boolean => [...symbolsOf(p)].every((s) => names.has(s));

/**
 * A site with each inner loop that moves with the nest (`j` from `i - size` to `i + size`)
 * rewritten relative to it: `j = i + j'` with `j'` from `-size` to `size`, when both bounds carry
 * the same nest terms. Windows then look like offsets of a mixed-radix number.
 */
function relativeInner(site: Site, nest: Set<string>): Site {
  let index = site.index!;
  const inner: Range[] = [];
  const subs = new Map<string, Poly>();
  for (const r0 of site.inner) {
    const lo = substPoly(r0.lo, (x) => subs.get(x));
    const bound = substPoly(r0.bound, (x) => subs.get(x));
    const moving = new Map([...lo].filter(([k]) => k.split('*').some((x) => nest.has(x))));
    const boundMoving = new Map([...bound].filter(([k]) => k.split('*').some((x) => nest.has(x))));
    if (!moving.size || !samePoly(moving, boundMoving)) {
      inner.push({ ...r0, lo, bound });
      continue;
    }
    const v = `${r0.v}'`;
    subs.set(r0.v, addPoly(moving, symPoly(v)));
    inner.push({ ...r0, v, lo: addPoly(lo, moving, -1), bound: addPoly(bound, moving, -1) });
  }
  if (subs.size) index = substPoly(index, (x) => subs.get(x));
  return { ...site, index, inner };
}

/** Facts from loops that must run for an access to happen. */
function loopFacts(ranges: Range[], params: Set<string>): Poly[] {
  const out: Poly[] = [];
  for (const r of ranges) {
    const sp = r.step !== 0 ? span(r) : undefined;
    if (sp && mentionsOnly(sp.lo, params) && mentionsOnly(sp.hi, params)) out.push(addPoly(sp.hi, sp.lo, -1));
  }
  return out;
}

/**
 * Do different iterations of the nest always access different elements through `sites` (where the
 * `assumed` polynomials are non-negative too)?
 */
export function injective(m: NestModel, sites0: Site[], assumed: Poly[] = []): boolean {
  if (sites0.some((s) => !s.index)) return false;
  const nest = new Set(m.loops.map((l) => l.v));
  const sites = sites0.map((s) => relativeInner(s, nest));
  const coefs = nestCoefficients(sites[0].index!, nest);
  if (!coefs || coefs.size !== nest.size) return false;
  const nestPart = (p: Poly) => new Map([...p].filter(([k]) => k.split('*').some((s) => nest.has(s))));
  const first = nestPart(sites[0].index!);
  if (!sites.every((s) => samePoly(nestPart(s.index!), first))) return false;
  const rests = sites.map((s) => restRange(addPoly(s.index!, first, -1), s, m.params));
  if (rests.some((r) => !r)) return false;
  // lowest digit first: by degree of the coefficient, then by its constant size
  const order = [...m.loops].sort((a, b) => {
    const ca = coefs.get(a.v)!,
      cb = coefs.get(b.v)!;
    return degreeOf(ca) - degreeOf(cb) || Math.abs(ca.get('') ?? 0) - Math.abs(cb.get('') ?? 0);
  });
  const nestFacts = [...assumed, ...loopFacts([...m.loops, ...m.outer], m.params)];
  // Accesses outside inner loops at constant offsets (a stencil's): a pair's budget grows with the
  // first's offset and falls with the second's, so of those only the lowest and the highest count.
  const constant = (k: number) =>
    !sites[k].inner.length && [...rests[k]!.lo.keys()].every((x) => x === '') ? (rests[k]!.lo.get('') ?? 0) : undefined;
  const pairs: number[] = [];
  let lowest = -1,
    highest = -1;
  for (let k = 0; k < sites.length; k++) {
    const c = constant(k);
    if (c === undefined) pairs.push(k);
    else {
      if (lowest < 0 || c < constant(lowest)!) lowest = k;
      if (highest < 0 || c > constant(highest)!) highest = k;
    }
  }
  if (lowest >= 0) pairs.push(...new Set([lowest, highest]));
  for (const a of pairs) {
    for (const b of pairs) {
      const facts = new Facts([...nestFacts, ...loopFacts([...sites[a].inner, ...sites[b].inner], m.params)]);
      // |rest_a − rest_b| ≤ hi_a − lo_b (this order) and hi_b − lo_a (the other, also checked)
      let budget = addPoly(rests[a]!.hi, rests[b]!.lo, -1);
      for (let k = 0; k < order.length; k++) {
        const r = order[k];
        let c = coefs.get(r.v)!;
        if (!facts.nonNegative(c)) {
          c = scalePoly(c, -1);
          if (!facts.nonNegative(c)) return false;
        }
        // two different values of v differ by at least |step|
        if (
          r.step === 0 ||
          !facts.nonNegative(addPoly(addPoly(scalePoly(c, Math.abs(r.step)), constPoly(-1)), budget, -1))
        )
          return false;
        if (k === order.length - 1) break;
        const sp = span(r);
        if (!sp || !mentionsOnly(sp.lo, m.params) || !mentionsOnly(sp.hi, m.params)) return false;
        budget = addPoly(budget, mulPoly(c, addPoly(sp.hi, sp.lo, -1)));
      }
    }
  }
  return true;
}

/**
 * One access whose index is a mixed-radix number in all its variables, the nest's and the inner
 * loops' interleaved: `x[(oy·K + ky)·OW·K + ox·K + kx]` (pooling with a run-time window K, stride
 * K) orders kx, ox, ky, oy by coefficient, and each coefficient exceeds what the lower digits span.
 * Equal elements then mean equal digits, the nest's among them: the same iteration.
 */
function boxInjective(m: NestModel, sites: Site[]): boolean {
  const site = sites[0];
  if (
    !sites.every(
      (x) =>
        samePoly(x.index!, site.index!) &&
        x.inner.length === site.inner.length &&
        x.inner.every(
          (r, i) =>
            r.v === site.inner[i].v && samePoly(r.lo, site.inner[i].lo) && samePoly(r.bound, site.inner[i].bound),
        ),
    )
  )
    return false;
  const ranges = [...m.loops, ...site.inner];
  const vars = new Set(ranges.map((r) => r.v));
  const coefs = nestCoefficients(site.index!, vars);
  if (!coefs) return false;
  const facts = new Facts(loopFacts([...m.loops, ...m.outer, ...site.inner], m.params));
  const digits: { c: Poly; r: Range; sp: { lo: Poly; hi: Poly } }[] = [];
  for (const r of ranges) {
    const c = coefs.get(r.v);
    const sp = span(r);
    if (!c || !sp || r.step === 0 || !mentionsOnly(sp.lo, m.params) || !mentionsOnly(sp.hi, m.params)) return false;
    digits.push({ c: facts.nonNegative(c) ? c : scalePoly(c, -1), r, sp });
  }
  digits.sort((a, b) => degreeOf(a.c) - degreeOf(b.c) || Math.abs(a.c.get('') ?? 0) - Math.abs(b.c.get('') ?? 0));
  let budget: Poly = new Map();
  for (const d of digits) {
    if (!facts.nonNegative(d.c)) return false;
    if (!facts.nonNegative(addPoly(addPoly(scalePoly(d.c, Math.abs(d.r.step)), constPoly(-1)), budget, -1)))
      return false;
    budget = addPoly(budget, mulPoly(d.c, addPoly(d.sp.hi, d.sp.lo, -1)));
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Not exclusive at any size

type Choice = 'first' | 'second' | 'last';

/** The value of a loop variable at `choice`, as a polynomial, if it has one. */
function valueAt(r: Range, choice: Choice): Poly | undefined {
  if (!span(r)) return undefined;
  if (choice === 'first') return r.lo;
  if (choice === 'second') return addPoly(r.lo, constPoly(r.step));
  if (Math.abs(r.step) !== 1) return undefined;
  return r.cmp === '<' ? addPoly(r.bound, constPoly(-1)) : r.cmp === '>' ? addPoly(r.bound, constPoly(1)) : r.bound;
}

const PAIRS: [Choice, Choice][] = [
  ['first', 'second'],
  ['second', 'first'],
  ['first', 'last'],
  ['last', 'first'],
];

export const inRange = (r: Range, v: number, env: Record<string, number>, defs?: Defs): boolean => {
  const lo = evalPoly(r.lo, env, defs);
  const bound = evalPoly(r.bound, env, defs);
  if (lo === undefined || bound === undefined || r.step === 0) return false;
  const k = (v - lo) / r.step;
  const below = r.cmp === '<' ? v < bound : r.cmp === '<=' ? v <= bound : r.cmp === '>' ? v > bound : v >= bound;
  return Number.isInteger(k) && k >= 0 && below;
};

/** Substitution for one side of a conflict: symbol → its value there (a polynomial). */
type Side = { site: Site; nest: Map<string, Poly>; inner: Map<string, Poly> };

/**
 * Inner variable choices of a site: `shared` (the same symbolic value on both sides, when the other
 * site runs the same loop), its first value, or its second (a constant range of two or more values).
 */
function innerChoices(site: Site, other: Site): Map<string, Poly | 'shared'>[] {
  let out: Map<string, Poly | 'shared'>[] = [new Map()];
  for (const r of site.inner) {
    const opts: (Poly | 'shared')[] = [];
    const twin = other.inner.find((o) => o.v === r.v);
    if (twin && samePoly(twin.lo, r.lo) && samePoly(twin.bound, r.bound) && twin.cmp === r.cmp && twin.step === r.step)
      opts.push('shared');
    opts.push(r.lo);
    const second = valueAt(r, 'second')!;
    const lo = r.lo.size <= 1 && !symbolsOf(r.lo).size ? (r.lo.get('') ?? 0) : undefined;
    const bound = r.bound.size <= 1 && !symbolsOf(r.bound).size ? (r.bound.get('') ?? 0) : undefined;
    if (lo !== undefined && bound !== undefined && inRange(r, lo + r.step, {})) opts.push(second);
    out = out.flatMap((m) => opts.map((o) => new Map([...m, [r.v, o]])));
  }
  return out;
}

/** Parameter values tried for the witness: small sizes, all alike, then mixed. */
function tries(params: string[]): Record<string, number>[] {
  const out = [4, 6, 3, 8, 5, 10].map((v) => Object.fromEntries(params.map((p) => [p, v])));
  out.push(Object.fromEntries(params.map((p, k) => [p, 3 + ((k * 5) % 7)])));
  return out;
}

/**
 * Two iterations that read the same element whenever every nest loop runs at least twice (and the
 * inner loops around the two reads run), found as a polynomial identity; the witness evaluates it
 * at small sizes.
 */
function everywhereConflict(m: NestModel, sites: Site[]): Witness | undefined {
  const nest = new Set(m.loops.map((l) => l.v));
  if (m.loops.some((l) => l.step === 0 || !span(l) || mentions(l.lo, nest) || mentions(l.bound, nest)))
    return undefined;
  // inner loops with bounds free of the nest's and of each other's variables: each runs (or not)
  // the same way everywhere
  const usable = sites.filter((s) => {
    const inner = new Set(s.inner.map((r) => r.v));
    const fixed = (p: Poly) => !mentions(p, nest) && !mentions(p, inner);
    return (
      s.certain && !s.guards.length && s.inner.every((r) => r.step !== 0 && span(r) && fixed(r.lo) && fixed(r.bound))
    );
  });
  // Accesses outside inner loops pair up through a table: the index with one nest variable at one
  // of its values, by key. A pair of them is an identity only if the table lists it, so each looks
  // up its partners instead of trying every other access (the same pairs, in the same order).
  const choices: Choice[] = ['first', 'second', 'last'];
  const plain = (s: Site) => !s.inner.length;
  const keys = usable.map((s) =>
    plain(s)
      ? m.loops.map((loop) =>
          choices.map((c) => {
            const v = valueAt(loop, c);
            return v && polyKey(substPoly(s.index!, (x) => (x === loop.v ? v : undefined)));
          }),
        )
      : undefined,
  );
  const table = new Map<string, number[]>();
  keys.forEach((k, b) =>
    k?.forEach((byChoice, l) =>
      byChoice.forEach((key, c) => {
        if (key === undefined) return;
        const slot = `${l}|${c}|${key}`;
        const list = table.get(slot);
        if (list) list.push(b);
        else table.set(slot, [b]);
      }),
    ),
  );
  const others = usable.map((_, b) => b).filter((b) => !keys[b]);
  const partners = (ai: number): number[] => {
    const ka = keys[ai];
    if (!ka) return usable.map((_, b) => b);
    const out = new Set(others);
    m.loops.forEach((_, l) => {
      for (const [ca, cb] of PAIRS) {
        const key = ka[l][choices.indexOf(ca)];
        if (key !== undefined) for (const b of table.get(`${l}|${choices.indexOf(cb)}|${key}`) ?? []) out.add(b);
      }
    });
    return [...out].sort((x, y) => x - y);
  };
  for (let ai = 0; ai < usable.length; ai++) {
    const a = usable[ai];
    for (const bi of partners(ai)) {
      const b = usable[bi];
      for (const choiceA of innerChoices(a, b)) {
        for (const choiceB of innerChoices(b, a)) {
          // `shared` on one side only is no identity
          if ([...choiceA].some(([v, c]) => (c === 'shared') !== (choiceB.get(v) === 'shared'))) continue;
          const inner = (c: Map<string, Poly | 'shared'>) =>
            new Map([...c].filter(([, x]) => x !== 'shared') as [string, Poly][]);
          for (const loop of m.loops) {
            for (const [ca, cb] of PAIRS) {
              const va = valueAt(loop, ca),
                vb = valueAt(loop, cb);
              if (!va || !vb) continue;
              const sa: Side = { site: a, nest: new Map([[loop.v, va]]), inner: inner(choiceA) };
              const sb: Side = { site: b, nest: new Map([[loop.v, vb]]), inner: inner(choiceB) };
              if (!samePoly(sideIndex(sa), sideIndex(sb))) continue;
              const w = concreteWitness(
                m,
                sa,
                sb,
                [...choiceA].filter(([, x]) => x === 'shared').map(([v]) => v),
              );
              if (w) return w;
            }
          }
        }
      }
    }
  }
  return undefined;
}

/**
 * `everywhereConflict` with several nest variables moving at once, each between its first and
 * second value: two iterations at corners of the nest's first 2×…×2 box that read the same element
 * as a polynomial identity (a conflict whenever every nest loop runs twice). The flattened 5-point
 * stencil's `u[k - W]` at (y₀ + 1, x₀) and `u[k - 1]` at (y₀, x₀ + 1) both read `u[y₀·W + x₀]`.
 * Only accesses outside inner loops, without guards; each finds its partners through a table of
 * the elements its corners read.
 */
function cornerConflict(m: NestModel, sites: Site[]): Witness | undefined {
  const nest = new Set(m.loops.map((l) => l.v));
  if (m.loops.length < 2 || m.loops.length > 4) return undefined;
  if (m.loops.some((l) => l.step === 0 || !span(l) || mentions(l.lo, nest) || mentions(l.bound, nest)))
    return undefined;
  const plain = sites.filter((s) => s.certain && !s.guards.length && !s.inner.length);
  const corners: Map<string, Poly>[] = [new Map()];
  for (const l of m.loops) {
    const [first, second] = [valueAt(l, 'first')!, valueAt(l, 'second')!];
    corners.splice(
      0,
      corners.length,
      ...corners.flatMap((c) => [new Map([...c, [l.v, first]]), new Map([...c, [l.v, second]])]),
    );
  }
  // element key → the accesses (and corners) reading it, in order
  const table = new Map<string, { site: number; corner: number }[]>();
  const keys = plain.map((s, i) =>
    corners.map((c, k) => {
      const key = polyKey(substPoly(s.index!, (x) => c.get(x)));
      const list = table.get(key);
      if (list) list.push({ site: i, corner: k });
      else table.set(key, [{ site: i, corner: k }]);
      return key;
    }),
  );
  for (let a = 0; a < plain.length; a++) {
    const hits = corners.flatMap((_, ca) =>
      table
        .get(keys[a][ca])!
        .filter((x) => x.corner !== ca)
        .map((x) => ({ ca, ...x })),
    );
    hits.sort((x, y) => x.site - y.site || x.ca - y.ca || x.corner - y.corner);
    for (const h of hits) {
      const sa: Side = { site: plain[a], nest: corners[h.ca], inner: new Map() };
      const sb: Side = { site: plain[h.site], nest: corners[h.corner], inner: new Map() };
      const w = concreteWitness(m, sa, sb, []);
      if (w) return w;
    }
  }
  return undefined;
}

const sideIndex = (s: Side): Poly => substPoly(s.site.index!, (x) => s.nest.get(x) ?? s.inner.get(x));

/** The parameters (and outer loop variables) a witness depends on, at their values. */
export function witnessParams(m: NestModel, env: Record<string, number>, sites: Site[]): Record<string, number> {
  const ranges = [...m.loops, ...m.outer, ...sites.flatMap((s) => s.inner)];
  const syms = (p: Poly) => [...baseSymbols(p, m.defs)];
  const used = new Set([
    ...sites.flatMap((s) => [...syms(s.index!), ...s.guards.flatMap((g) => syms(g.p))]),
    ...ranges.flatMap((r) => [...syms(r.lo), ...syms(r.bound)]),
  ]);
  return Object.fromEntries(
    [...m.params]
      .sort()
      .filter((p) => used.has(p))
      .map((p) => [p, env[p]]),
  );
}

/**
 * The first parameter values (`tries`' small ones, then `largerSizes`) where `ok` holds, with the
 * outer sequential loops at their first values.
 */
export function sizesWhere(
  m: NestModel,
  ok: (env: Record<string, number>) => boolean,
): Record<string, number> | undefined {
  const params = [...m.params].sort();
  const at = (sizes: Record<string, number>): Record<string, number> | undefined => {
    const env: Record<string, number> = { ...sizes };
    for (const r of m.outer) {
      const v = evalPoly(r.lo, env, m.defs);
      if (v === undefined || !inRange(r, v, env, m.defs)) return undefined;
      env[r.v] = v;
    }
    return ok(env) ? env : undefined;
  };
  for (const sizes of tries(params)) {
    const env = at(sizes);
    if (env) return env;
  }
  for (const sizes of params.length ? largerSizes(params) : []) {
    const env = at(sizes);
    if (env) return env;
  }
  return undefined;
}

/**
 * Parameter values where every nest loop runs at least twice (outer loops at their first values),
 * and the nest's first values there.
 */
type Base = { env: Record<string, number>; first: Record<string, number> };
const basesOf = new WeakMap<NestModel, Base[]>();

/** Uniform parameter values past `tries`' (a halo of 5 or more needs sizes above 10), then mixed ones scaled up. */
function* largerSizes(params: string[]): Generator<Record<string, number>> {
  for (let v = 11; v <= 4096; v++) yield Object.fromEntries(params.map((p) => [p, v]));
  for (let s = 2; s <= 512; s *= 2) yield Object.fromEntries(params.map((p, k) => [p, s * (3 + ((k * 5) % 7))]));
}

/**
 * The sizes a witness is looked for at: `tries`' small ones where every nest loop runs twice, then
 * the first (smallest uniform) larger one where they do: a stencil of radius 161 gets n = 324.
 */
function nestBases(m: NestModel): Base[] {
  const known = basesOf.get(m);
  if (known) return known;
  const defs = m.defs;
  const params = [...m.params].sort();
  const at = (sizes: Record<string, number>): Base | undefined => {
    const env: Record<string, number> = { ...sizes };
    // outer sequential loops at their first values
    if (
      m.outer.some((r) => {
        const v = evalPoly(r.lo, env, defs);
        if (v === undefined || !inRange(r, v, env, defs)) return true;
        env[r.v] = v;
        return false;
      })
    )
      return undefined;
    // nest variables at their first values; every nest loop runs twice
    const first: Record<string, number> = { ...env };
    for (const r of m.loops) {
      const lo = evalPoly(r.lo, env, defs);
      if (lo === undefined || !inRange(r, lo, env, defs) || !inRange(r, lo + r.step, env, defs)) return undefined;
      first[r.v] = lo;
    }
    return { env, first };
  };
  const out: Base[] = [];
  for (const sizes of tries(params)) {
    const b = at(sizes);
    if (b) out.push(b);
  }
  for (const sizes of params.length ? largerSizes(params) : []) {
    const b = at(sizes);
    if (b) {
      out.push(b);
      break;
    }
  }
  basesOf.set(m, out);
  return out;
}

/** The identity at concrete sizes (small ones first), every value checked against its loop. */
function concreteWitness(m: NestModel, a: Side, b: Side, shared: string[]): Witness | undefined {
  const defs = m.defs;
  for (const { env, first: nestFirst } of nestBases(m)) {
    const first: Record<string, number> = { ...nestFirst };
    let ok = true;
    for (const v of shared) {
      const r = a.site.inner.find((x) => x.v === v)!;
      const lo = evalPoly(r.lo, env, defs);
      if (lo === undefined || !inRange(r, lo, env, defs)) {
        ok = false;
        break;
      }
      first[v] = lo;
    }
    if (!ok) continue;
    const at = (s: Side): Record<string, number> | undefined => {
      const e = { ...first };
      for (const [v, p] of [...s.nest, ...s.inner]) {
        const x = evalPoly(p, first, defs);
        if (x === undefined) return undefined;
        e[v] = x;
      }
      const loops = [...m.loops, ...s.site.inner];
      return loops.every((r) => inRange(r, e[r.v], e, defs)) ? e : undefined;
    };
    const ea = at(a),
      eb = at(b);
    if (!ea || !eb) continue;
    const element = evalPoly(a.site.index!, ea, defs);
    if (element === undefined || element !== evalPoly(b.site.index!, eb, defs)) continue;
    const iterations = [ea, eb].map((e) =>
      Object.fromEntries(m.loops.map((l) => [l.v, e[l.v]])),
    ) as Witness['iterations'];
    if (m.loops.every((l) => iterations[0][l.v] === iterations[1][l.v])) continue;
    return {
      params: witnessParams(m, env, [a.site, b.site]),
      iterations,
      element,
      accesses: [a.site.text, b.site.text],
    };
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// A conflict at small sizes, by enumeration

/** Work allowed per parameter set (accesses evaluated) before the enumeration gives up on it. */
const ENUMERATION_BUDGET = 4000;

/** Parameter values to enumerate at: small sizes alike, mixed, then (few parameters) all small combinations. */
function smallSizes(params: string[]): Record<string, number>[] {
  const out = tries(params);
  if (params.length <= 3) {
    let combos: number[][] = [[]];
    for (let k = 0; k < params.length; k++) combos = combos.flatMap((c) => [3, 5, 2, 1, 0].map((v) => [...c, v]));
    for (const c of combos) out.push(Object.fromEntries(params.map((p, k) => [p, c[k]])));
  }
  return out;
}

/** The values of a loop variable at concrete sizes, at most `cap` of them. */
function values(r: Range, env: Record<string, number>, cap: number, defs?: Defs): number[] | undefined {
  const lo = evalPoly(r.lo, env, defs);
  if (lo === undefined || r.step === 0) return undefined;
  const out: number[] = [];
  for (let v = lo; inRange(r, v, env, defs); v += r.step) {
    if (out.length >= cap) return undefined;
    out.push(v);
  }
  return out;
}

const holds = (g: Site['guards'][number], env: Record<string, number>, defs?: Defs): boolean | undefined => {
  const v = evalPoly(g.p, env, defs);
  return v === undefined ? undefined : g.rel === '>=' ? v >= 0 : g.rel === '==' ? v === 0 : v !== 0;
};

/**
 * Two different iterations where an access of `first` and one of `second` touch the same element,
 * found by running the nest at small sizes (no solver). Only for accesses that surely happen
 * (affine guards, polynomial bounds), so what it finds is a real conflict.
 */
export function smallConflict(m: NestModel, first: Site[], second: Site[]): Witness | undefined {
  const params = enumerable(m, [...first, ...second]);
  for (const sizes of smallSizes(params)) {
    const r = conflictAt(m, first, second, sizes);
    if (r?.witness) return r.witness;
  }
  // Larger uniform sizes (a halo of 5 or more leaves the small ones degenerate), from the first
  // where the nest runs twice, until the enumeration gives up (too many iterations or accesses).
  let tried = 0;
  for (const sizes of params.length ? largerSizes(params) : []) {
    const r = conflictAt(m, first, second, sizes);
    if (r?.witness) return r.witness;
    if (r?.nonDegenerate) tried++;
    else if (tried && !r) break;
    if (tried >= LARGER_TRIES) break;
  }
  return undefined;
}

/** Non-degenerate larger sizes the enumeration tries after the small ones. */
const LARGER_TRIES = 32;

/** The parameters to enumerate over, or none when the accesses cannot be enumerated. */
function enumerable(m: NestModel, all: Site[]): string[] {
  if (!all.length || all.some((s) => !s.index || !s.certain || s.inner.some((r) => r.step === 0))) return [];
  if (m.loops.some((l) => l.step === 0)) return [];
  return [...m.params].filter((p) => !m.outer.some((r) => r.v === p)).sort();
}

/**
 * A condition `p <= c` (or `p >= c`) on one parameter, guessed from which small sizes have
 * conflicts and proven sufficient for exclusive reads (`injective` assuming it), with sizes
 * where every loop runs (twice for the nest's) on both sides of it: a `depends` verdict without
 * the solver (a window `c[j]`, `j` from `i - size` to `i + size`: `size <= 0`).
 */
export function guessedCondition(m: NestModel, sites: Site[]): Condition | undefined {
  const params = enumerable(m, sites);
  const samples: { sizes: Record<string, number>; conflict: boolean }[] = [];
  for (const sizes of smallSizes(params)) {
    const r = conflictAt(m, sites, sites, sizes);
    if (r?.nonDegenerate) samples.push({ sizes, conflict: !!r.witness });
  }
  for (const p of params) {
    const e = samples.filter((x) => !x.conflict).map((x) => x.sizes[p]);
    const c = samples.filter((x) => x.conflict).map((x) => x.sizes[p]);
    if (!e.length || !c.length) continue;
    const [maxE, minE, maxC, minC] = [Math.max(...e), Math.min(...e), Math.max(...c), Math.min(...c)];
    if (maxE < minC && injective(m, sites, [addPoly(constPoly(maxE), symPoly(p), -1)]))
      return paramBound(p, '<=', maxE);
    if (minE > maxC && injective(m, sites, [addPoly(symPoly(p), constPoly(-minE))])) return paramBound(p, '>=', minE);
  }
  return undefined;
}

/**
 * Runs the nest at concrete sizes: a conflict between `first` and `second` if there is one, and
 * whether the sizes are non-degenerate (every nest loop runs twice, the accesses' inner loops
 * once); undefined when the enumeration gives up (too large, or a value without form).
 */
function conflictAt(
  m: NestModel,
  first: Site[],
  second: Site[],
  sizes: Record<string, number>,
): { witness?: Witness; nonDegenerate: boolean } | undefined {
  const defs = m.defs;
  {
    const env: Record<string, number> = { ...sizes };
    if (
      m.outer.some((r) => {
        const v = values(r, env, 64, defs);
        if (!v?.length) return true;
        env[r.v] = v[0];
        return false;
      })
    )
      return undefined;
    // the iterations, in order
    let its: Record<string, number>[] = [env];
    let nonDegenerate = true;
    for (const r of m.loops) {
      const e0 = its[0] ?? env;
      const lo = evalPoly(r.lo, e0, defs);
      if (lo === undefined || !inRange(r, lo, e0, defs) || !inRange(r, lo + r.step, e0, defs)) nonDegenerate = false;
      its = its.flatMap((e) => (values(r, e, 16, defs) ?? [NaN]).map((v) => ({ ...e, [r.v]: v })));
      if (its.length > 256 || its.some((e) => Number.isNaN(e[r.v]))) return undefined;
    }
    if (its.length < 2) return { nonDegenerate: false };
    for (const s of new Set([...first, ...second])) {
      const e = { ...its[0] };
      for (const r of s.inner) {
        const v = evalPoly(r.lo, e, defs);
        if (v === undefined || !inRange(r, v, e, defs)) {
          nonDegenerate = false;
          break;
        }
        e[r.v] = v;
      }
    }
    let work = 0;
    /** elements an access of `sites` touches in iteration `e`, with the access */
    const touched = (sites: Site[], e: Record<string, number>): [number, Site][] | undefined => {
      const out: [number, Site][] = [];
      for (const s of sites) {
        let envs: Record<string, number>[] = [e];
        for (const r of s.inner) {
          envs = envs.flatMap((x) => (values(r, x, 32, defs) ?? [NaN]).map((v) => ({ ...x, [r.v]: v })));
          if (envs.some((x) => Number.isNaN(x[r.v]))) return undefined;
        }
        for (const x of envs) {
          if (++work > ENUMERATION_BUDGET) return undefined;
          const g = s.guards.map((c) => holds(c, x, defs));
          if (g.includes(undefined)) return undefined;
          if (g.includes(false)) continue;
          const el = evalPoly(s.index!, x, defs);
          if (el === undefined) return undefined;
          out.push([el, s]);
        }
      }
      return out;
    };
    // element → the first two iterations that touch it through `first`
    const byElement = new Map<number, { it: number; site: Site }[]>();
    const seconds: [number, number, Site][] = [];
    for (let k = 0; k < its.length; k++) {
      const a = touched(first, its[k]);
      const b = second === first ? a : touched(second, its[k]);
      if (!a || !b) return undefined;
      for (const [el, site] of a) {
        const list = byElement.get(el) ?? [];
        if (list.length < 2 && !list.some((x) => x.it === k)) list.push({ it: k, site });
        byElement.set(el, list);
      }
      for (const [el, site] of b) seconds.push([el, k, site]);
    }
    for (const [el, k, site] of seconds) {
      const other = byElement.get(el)?.find((x) => x.it !== k);
      if (!other) continue;
      const pick = (e: Record<string, number>) => Object.fromEntries(m.loops.map((l) => [l.v, e[l.v]]));
      const witness: Witness = {
        params: witnessParams(m, env, [other.site, site]),
        iterations: [pick(its[other.it]), pick(its[k])],
        element: el,
        accesses: [other.site.text, site.text],
      };
      return { witness, nonDegenerate };
    }
    return { nonDegenerate };
  }
}
