/**
 * Fast paths of the exclusive-read analysis: verdicts that follow from the form of the index alone,
 * without the solver. Each answer is exact; the brute-force property test checks them like the
 * solver's.
 *
 * - one index `a·i + r` in a 1-D nest, `a` a non-zero constant, `r` free of `i`: different
 *   iterations read different elements (`yes`).
 * - indices free of the nest's variables (a scalar, `w[0]`, `x[j]` in an inner loop over fixed
 *   bounds): every iteration reads the same elements, so any two do (`no`), with a witness found
 *   by evaluating the loops at small sizes.
 */
import type { NestModel, Range, Site } from './model.js';
import type { Witness } from './solve.js';
import { symbolsOf, type Poly } from './poly.js';

export type FastVerdict = { verdict: 'none' } | { verdict: 'conflict'; witness: Witness } | undefined;

const evalPoly = (p: Poly, env: Record<string, number>): number | undefined => {
  let sum = 0;
  for (const [k, c] of p) {
    let term = c;
    for (const s of k ? k.split('*') : []) {
      if (env[s] === undefined) return undefined;
      term *= env[s];
    }
    sum += term;
  }
  return sum;
};

/** The first `count` values of a loop variable's range at concrete sizes. */
function firstValues(r: Range, env: Record<string, number>, count: number): number[] {
  const lo = evalPoly(r.lo, env);
  const bound = evalPoly(r.bound, env);
  if (lo === undefined || bound === undefined || r.step === 0) return [];
  const out: number[] = [];
  const inside = (v: number) => (r.cmp === '<' ? v < bound : r.cmp === '<=' ? v <= bound : r.cmp === '>' ? v > bound : v >= bound);
  for (let v = lo; inside(v) && out.length < count; v += r.step) out.push(v);
  return out;
}

export function fastVerdict(m: NestModel, sites: Site[]): FastVerdict {
  if (!sites.length || sites.some((s) => !s.index || s.guards.length || !s.certain)) return undefined;
  if (m.loops.some((l) => l.step === 0)) return undefined;
  const nest = new Set(m.loops.map((l) => l.v));
  const touchesNest = (p: Poly) => [...symbolsOf(p)].some((x) => nest.has(x));

  // one injective index in a 1-D nest
  if (m.loops.length === 1 && sites.every((s) => s.inner.length === 0)) {
    const first = sites[0].index!;
    const same = sites.every((s) => s.index!.size === first.size && [...first].every(([k, c]) => s.index!.get(k) === c));
    const v = m.loops[0].v;
    const a = first.get(v);
    const onlyLinear = [...first.keys()].every((k) => k === v || !k.split('*').includes(v));
    if (same && a && onlyLinear) return { verdict: 'none' };
  }

  // indices (and inner loop bounds) free of the nest's variables: all iterations read the same set
  const uniform = sites.every((s) => !touchesNest(s.index!) && s.inner.every((r) => !touchesNest(r.lo) && !touchesNest(r.bound)));
  if (!uniform) return undefined;
  const params = [...m.params].sort();
  const tries: Record<string, number>[] = [];
  for (const v of [4, 6, 3, 8, 2, 10]) tries.push(Object.fromEntries(params.map((p) => [p, v])));
  tries.push(Object.fromEntries(params.map((p, k) => [p, 3 + ((k * 5) % 7)])));
  for (const env of tries) {
    if (m.outer.some((r) => firstValues(r, env, 1).length === 0)) continue;
    const outerEnv = { ...env };
    for (const r of m.outer) outerEnv[r.v] = firstValues(r, outerEnv, 1)[0];
    // two different iterations: vary the innermost loop that has two values
    const base: Record<string, number> = { ...outerEnv };
    let ok = true;
    for (const r of m.loops) {
      const vs = firstValues(r, base, 1);
      if (!vs.length) { ok = false; break; }
      base[r.v] = vs[0];
    }
    if (!ok) continue;
    const varying = [...m.loops].reverse().find((r) => firstValues(r, base, 2).length === 2);
    if (!varying) continue;
    const other = { ...base, [varying.v]: firstValues(varying, base, 2)[1] };
    // an element read: the first site, its inner loops at their first values
    const site = sites[0];
    const at: Record<string, number> = { ...base };
    if (site.inner.some((r) => { const vs = firstValues(r, at, 1); if (!vs.length) return true; at[r.v] = vs[0]; return false; })) continue;
    const element = evalPoly(site.index!, at);
    if (element === undefined) continue;
    const pick = (e: Record<string, number>) => Object.fromEntries(m.loops.map((l) => [l.v, e[l.v]]));
    const usedParams = Object.fromEntries(Object.entries(outerEnv).filter(([k]) => m.params.has(k)));
    return { verdict: 'conflict', witness: { params: usedParams, iterations: [pick(base), pick(other)], element, accesses: [site.text, site.text] } };
  }
  return undefined;
}
