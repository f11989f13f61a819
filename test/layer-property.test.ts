/**
 * Property test of layer adjoints: random layers (calls of in-place and pure kernels on parameters,
 * scratch arrays and swapped aliases, copies, float results, if statements, stored and checkpointed
 * loops, nested)
 * pass the dot-product test against their tangent, and with every `// @checkpoint` removed give the
 * same gradients (the save plan's shortcuts and the checkpoint driver against plain storing).
 */
import { describe, expect } from 'vitest';
import { test } from '@fast-check/vitest';
import fc from 'fast-check';
import { checkAdjoint, prng } from '../testing/index.js';
import { compileAndLoad } from './support/load.js';
import { resetCheckpointing } from '../runtime/index.js';

const RUNS = Number(process.env.PARAD_PROP_RUNS ?? (process.env.CI ? 40 : 60));
const N = 5;

const KERNELS = `import type { f64, i32 } from 'parad';
/** y += a x (in place). @kernel */
export function axpy(y: Float64Array, x: Float64Array, a: f64, n: i32): void {
  // @parallel
  for (let i = 0; i < n; i++) y[i] = y[i] + a * x[i];
}
/** y = tanh(x) (y write-only). @kernel */
export function squash(y: Float64Array, x: Float64Array, n: i32): void {
  // @parallel
  for (let i = 0; i < n; i++) y[i] = Math.tanh(x[i]);
}
/** y = x ⊙ z. @kernel */
export function mul(y: Float64Array, x: Float64Array, z: Float64Array, n: i32): void {
  // @parallel
  for (let i = 0; i < n; i++) y[i] = x[i] * z[i];
}
/** y = x shifted by one (a stencil read). @kernel */
export function shift(y: Float64Array, x: Float64Array, n: i32): void {
  // @parallel
  for (let i = 0; i < n; i++) y[i] = 0.5 * x[i] + 0.5 * x[i > 0 ? i - 1 : i];
}
/** Σ x². @kernel */
export function sumsq(x: Float64Array, n: i32): f64 {
  let s = 0;
  for (let i = 0; i < n; i++) s += x[i] * x[i];
  return s;
}
`;

/** Arrays a statement may use: the parameters p, q, the scratch s, the aliases a, b (a ↔ b swap). */
const ARRAYS = ['p', 'q', 's', 'a', 'b'];
/** a and b are p and s in some order: a call's arrays are distinct buffers whatever the order */
const conflict = (x: string, y: string) => x === y || ((x === 'a' || x === 'b') && (y === 'p' || y === 's')) || ((y === 'a' || y === 'b') && (x === 'p' || x === 's'));
const distinct = (xs: string[]) => xs.every((x, i) => xs.slice(i + 1).every((y) => !conflict(x, y)));

const arrayArb = fc.constantFrom(...ARRAYS);
const callArb: fc.Arbitrary<string> = fc.oneof(
  fc.tuple(arrayArb, arrayArb).filter(([y, x]) => distinct([y, x])).map(([y, x]) => `axpy(${y}, ${x}, k, n);`),
  fc.tuple(arrayArb, arrayArb).filter(([y, x]) => distinct([y, x])).map(([y, x]) => `squash(${y}, ${x}, n);`),
  fc.tuple(arrayArb, arrayArb, arrayArb).filter(([y, x, z]) => distinct([y, x, z])).map(([y, x, z]) => `mul(${y}, ${x}, ${z}, n);`),
  fc.tuple(arrayArb, arrayArb).filter(([y, x]) => distinct([y, x])).map(([y, x]) => `shift(${y}, ${x}, n);`),
  arrayArb.map((x) => `total += sumsq(${x}, n);`),
  fc.tuple(arrayArb, arrayArb).filter(([y, x]) => distinct([y, x])).map(([y, x]) => `${y}.set(${x});`),
  fc.constant('[a, b] = [b, a];'),
  arrayArb.map((x) => `total = sumsq(${x}, n);`),
  arrayArb.map((x) => `total += 0.5 * sumsq(${x}, n);`),
  arrayArb.map((x) => `total = -sumsq(${x}, n) / 3;`),
  arrayArb.map((x) => `${x}.fill(0.25);`),
);
/** a scratch array of its own (declared in a loop when the statement is in one): HH is made unique below */
const scratchArb = fc.tuple(arrayArb, arrayArb).filter(([y, x]) => distinct([y, x])).map(([y, x]) => `const HH = new Float64Array(n); squash(HH, ${x}, n); axpy(${y}, HH, k, n);`);
/** an if statement on a value (n = 5: one branch or the other runs), plain statements in its branches */
const ifArb = fc.tuple(fc.constantFrom(3, 7), fc.array(callArb, { minLength: 1, maxLength: 3 }), fc.array(callArb, { maxLength: 2 }))
  .map(([at, yes, no]) => [`if (n > ${at}) {`, ...yes.map((l) => `  ${l}`), ...(no.length ? ['} else {', ...no.map((l) => `  ${l}`)] : []), '}']);
const stmtArb = fc.oneof({ weight: 6, arbitrary: callArb.map((c) => [c]) }, { weight: 1, arbitrary: scratchArb.map((c) => [c]) }, { weight: 1, arbitrary: ifArb });

const stmtsArb = (depth: number): fc.Arbitrary<string[]> =>
  fc.array(depth > 0 ? fc.oneof({ weight: 4, arbitrary: stmtArb }, { weight: 1, arbitrary: loopArb(depth - 1) }) : stmtArb, { minLength: 1, maxLength: 4 })
    .map((xs) => xs.flat());

const loopArb = (depth: number): fc.Arbitrary<string[]> =>
  fc.tuple(fc.integer({ min: 1, max: 5 }), fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined }), stmtsArb(depth), fc.constantFrom('t', 'u'))
    .map(([T, slots, body, v]) => [
      ...(slots === undefined ? [] : [`// @checkpoint slots=${slots}`]),
      `for (let ${v}${depth} = 0; ${v}${depth} < ${T}; ${v}${depth}++) {`,
      ...body.map((l) => `  ${l}`),
      '}',
    ]);

/** Each scratch statement gets its own name (scratch arrays are distinct throughout a layer). */
const unique = (lines: string[]) => {
  let k = 0;
  return lines.flatMap((l) => {
    if (!l.includes('HH')) return [l];
    const name = `h${k++}`;
    const indent = /^\s*/.exec(l)![0];
    return l.trim().replaceAll('HH', name).split('; ').map((part, i, all) => `${indent}${part}${i < all.length - 1 ? ';' : ''}`);
  });
};

const layerArb = stmtsArb(2).map(unique).map((body) => `${KERNELS}
/** @layer */
export function L(p: Float64Array, q: Float64Array, k: f64, n: i32): f64 {
  const s = new Float64Array(n);
  s.set(q);
  let a: Float64Array = p;
  let b: Float64Array = s;
  let total = 0;
${body.map((l) => `  ${l}`).join('\n')}
  total += sumsq(p, n);
  return total;
}
`);

describe('random layers', () => {
  test.prop([layerArb], { numRuns: RUNS, seed: Number(process.env.PARAD_PROP_SEED ?? 71) })('dot-product test; checkpointed == stored', async (src) => {
    resetCheckpointing();
    const mod = await compileAndLoad(src, { fileName: 'layer.ts' });
    const rnd = prng(5);
    const arr = () => Float64Array.from({ length: N }, () => 0.6 * (rnd() - 0.5));
    const args = { p: arr(), q: arr(), k: 0.7, n: N };
    const a = checkAdjoint(mod, 'L', args, { seed: 3 });
    expect(a.ok, `${a.message}\n${src}`).toBe(true);
    const stored = await compileAndLoad(src.replace(/^\s*\/\/ @checkpoint.*$/gm, ''), { fileName: 'layer.ts' });
    const grad = (m: typeof mod) => {
      const g = { p: args.p.slice(), pb: Float64Array.from({ length: N }, (_, i) => Math.cos(i)), q: args.q.slice(), qb: Float64Array.from({ length: N }, (_, i) => Math.sin(i)) };
      const { kb } = (m.L_b as (...x: unknown[]) => { kb: number })(g.p, g.pb, g.q, g.qb, 0.7, N, 1.3);
      return { ...g, kb };
    };
    const [x, y] = [grad(mod), grad(stored)];
    for (const key of ['p', 'pb', 'q', 'qb'] as const) {
      for (let i = 0; i < N; i++) expect(Math.abs(x[key][i] - y[key][i]), `${key}[${i}]\n${src}`).toBeLessThanOrEqual(1e-10 * (1 + Math.abs(y[key][i])));
    }
    expect(Math.abs(x.kb - y.kb), src).toBeLessThanOrEqual(1e-10 * (1 + Math.abs(y.kb)));
  });
});
