/**
 * A dependence test on offsets for one loop reading `x[c·i + P + o]` at several constant offsets `o`
 * (P the same polynomial in the parameters for all, `c` a constant): the GCD and bounds tests of
 * classical dependence analysis on the offset differences, exact and without the solver, for any
 * number of reads and any parameter values.
 *
 * Iterations t₁ ≠ t₂ (counted from the first, the loop running T times) read one element through
 * offsets o₁ and o₂ iff c·step·(t₁ − t₂) = o₂ − o₁: the difference is a multiple of e = |c·step|
 * (GCD test) and |t₁ − t₂| = |o₂ − o₁| / e ≤ T − 1 (bounds test). Offsets in one residue class
 * modulo e, sorted, are closest to their neighbours, so the smallest quotient g over the classes is
 * found in O(S log S) for S reads: none (no two offsets in one class): exclusive; otherwise
 * exclusive iff T ≤ g, a condition on the parameters (`n <= 20` for `x[i - 5] + x[i + 5]` over
 * 5 ≤ i < n − 5), with a witness at the first sizes where the loop runs g + 1 times. (g = 1, a
 * conflict wherever the loop runs twice, is the fast paths' `everywhereConflict`.)
 */
import type { NestModel, Site } from './model.js';
import type { Witness } from './types.js';
import { addPoly, constPoly, evalPoly, symbolsOf, type Poly } from './poly.js';
import { compareCondition, type Condition } from './condition.js';
import { span, sizesWhere, witnessParams } from './fast.js';

export type OffsetVerdict =
  | { verdict: 'none' }
  /** a conflict for every parameter value (the trip count is a constant above g) */
  | { verdict: 'conflict'; witness: Witness }
  | { verdict: 'depends'; condition: Condition; witness: Witness }
  | undefined;

const constantOf = (p: Poly): number | undefined =>
  p.size === 0 ? 0 : p.size === 1 && p.has('') ? p.get('')! : undefined;

export function offsetVerdict(m: NestModel, sites: Site[]): OffsetVerdict {
  if (!sites.length || m.loops.length !== 1) return undefined;
  const [loop] = m.loops;
  const sp = span(loop);
  if (!sp || Math.abs(loop.step) !== 1) return undefined;
  if (sites.some((s) => !s.index || !s.certain || s.guards.length || s.inner.length)) return undefined;
  const quasi = (p: Poly) => [...symbolsOf(p)].some((x) => m.defs[x]);
  if ([loop.lo, loop.bound, ...sites.map((s) => s.index!)].some(quasi)) return undefined;
  if (symbolsOf(loop.lo).has(loop.v) || symbolsOf(loop.bound).has(loop.v)) return undefined;
  // index = c·v + rest, one constant c, rests that differ by constants
  let c: number | undefined;
  let base: Poly | undefined;
  const offsets: number[] = [];
  for (const s of sites) {
    const p = s.index!;
    if ([...p.keys()].some((k) => k !== loop.v && k.split('*').includes(loop.v))) return undefined;
    const cs = p.get(loop.v);
    if (!cs || (c !== undefined && cs !== c)) return undefined;
    c = cs;
    const rest = new Map([...p].filter(([k]) => k !== loop.v));
    base ??= rest;
    const o = constantOf(addPoly(rest, base, -1));
    if (o === undefined) return undefined;
    offsets.push(o);
  }
  const e = Math.abs(c! * loop.step);
  // the closest pair of offsets in one residue class
  const order = offsets
    .map((o, i) => i)
    .sort((i, j) => (((offsets[i] % e) + e) % e) - (((offsets[j] % e) + e) % e) || offsets[i] - offsets[j]);
  let best: { lo: number; hi: number; g: number } | undefined;
  for (let k = 1; k < order.length; k++) {
    const [i, j] = [order[k - 1], order[k]];
    const d = offsets[j] - offsets[i];
    if (d === 0 || d % e !== 0) continue;
    if (!best || d / e < best.g) best = { lo: i, hi: j, g: d / e };
  }
  if (!best) return { verdict: 'none' };
  const g = best.g;
  // exclusive iff the loop runs at most g times: hi − lo + 1 ≤ g
  const slack = addPoly(constPoly(g - 1), addPoly(sp.hi, sp.lo, -1), -1);
  const always = constantOf(slack);
  if (always !== undefined && always >= 0) return { verdict: 'none' };
  const trips = (env: Record<string, number>) => {
    const lo = evalPoly(sp.lo, env),
      hi = evalPoly(sp.hi, env);
    return lo === undefined || hi === undefined ? 0 : hi - lo + 1;
  };
  const env = sizesWhere(m, (x) => trips(x) >= g + 1);
  if (!env) return undefined;
  // o_hi − o_lo = c·step·(t_a − t_b) for a reading at o_lo, b at o_hi
  const k = (offsets[best.hi] - offsets[best.lo]) / (c! * loop.step);
  const [ta, tb] = k > 0 ? [k, 0] : [0, -k];
  const first = evalPoly(loop.lo, env)!;
  const [a, b] = [sites[best.lo], sites[best.hi]];
  const ia = first + loop.step * ta,
    ib = first + loop.step * tb;
  const element = evalPoly(a.index!, { ...env, [loop.v]: ia });
  if (element === undefined || element !== evalPoly(b.index!, { ...env, [loop.v]: ib })) return undefined;
  const witness: Witness = {
    params: witnessParams(m, env, [a, b]),
    iterations: [{ [loop.v]: ia }, { [loop.v]: ib }],
    element,
    accesses: [a.text, b.text],
  };
  // a loop of constant length, or g = 1 (a conflict wherever the loop runs twice): no condition
  if (always !== undefined || g === 1) return { verdict: 'conflict', witness };
  return { verdict: 'depends', condition: compareCondition(slack), witness };
}
