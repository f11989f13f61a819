/**
 * Parallel scalar reductions (ir/reduction.ts, docs/kernel-language.md#reductions): the adjoints of
 * `*=`, Math.max and Math.min reductions where the fixtures' random inputs never go (zero factors,
 * ties), nests inside sequential loops (what the forward sweep records goes on the tape), 2-D nests,
 * and the JavaScript adjoint scheduled as for a parallel machine.
 */
import { describe, expect, test } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { compileAndLoad } from './support/load.js';
import { checkAdjoint, checkTangent } from '../testing/index.js';

const header = "import type { f64, i32 } from 'parad';\n";
type Fn = (...a: unknown[]) => unknown;

const product = `${header}
/** @kernel */
export function prod(x: Float64Array, n: i32): f64 {
  let p = 2;
  // @parallel
  for (let i = 0; i < n; i++) p *= x[i];
  return p;
}
`;

describe('a *= reduction: the adjoint of each factor is the product of the others', () => {
  const grad = (x: number[]) => x.map((_, i) => 2 * x.reduce((a, y, j) => (j === i ? a : a * y), 1));
  for (const x of [
    [0.5, 2, 3, 0.25],
    [0.5, 0, 3, 0.25],
    [0, 2, 0, 0.25],
  ]) {
    test(`x = [${x}]`, async () => {
      const mod = await compileAndLoad(product);
      const xb = new Float64Array(4);
      (mod.prod_b as Fn)(Float64Array.from(x), xb, 4, 1);
      const want = grad(x);
      for (let i = 0; i < 4; i++) expect(xb[i]).toBeCloseTo(want[i], 12);
      expect(checkAdjoint(mod, 'prod', { x: Float64Array.from(x), n: 4 }).ok).toBe(true);
    });
  }
});

describe('Math.max / Math.min reductions route the adjoint to the extremum, ties broken as in the sequential loop', () => {
  const src = `${header}
/** @kernel */
export function mx(x: Float64Array, n: i32): f64 {
  let m = x[0];
  // @parallel
  for (let i = 1; i < n; i++) m = Math.max(m, x[i]);
  return m;
}
/** @kernel */
export function mn2(x: Float64Array, H: i32, W: i32): f64 {
  let m = 100;
  // @parallel
  for (let r = 0; r < H; r++) {
    // @parallel
    for (let c = 0; c < W; c++) {
      m = Math.min(x[r * W + c] * 2, m);
    }
  }
  return m;
}
`;
  const cases: [string, number[], number][] = [
    ['a unique max', [0.1, 0.7, 0.3, 0.2], 1],
    ['ties: the first iteration', [0.1, 0.7, 0.3, 0.7], 1],
    ['a tie with the initial value', [0.7, 0.2, 0.7, 0.1], 0],
  ];
  test.each(cases)('%s', async (_n, x, at) => {
    const mod = await compileAndLoad(src);
    const xb = new Float64Array(4);
    (mod.mx_b as Fn)(Float64Array.from(x), xb, 4, 1);
    expect(Array.from(xb)).toEqual(x.map((_, i) => (i === at ? 1 : 0)));
    expect(checkAdjoint(mod, 'mx', { x: Float64Array.from(x), n: 4 }).ok).toBe(true);
  });
  test('a 2-D nest, the reduced scalar second in Math.min: the last of tied iterations', async () => {
    const mod = await compileAndLoad(src);
    const x = Float64Array.from([0.5, 0.3, 0.9, 0.3, 0.4, 0.8]);
    const xb = new Float64Array(6);
    (mod.mn2_b as Fn)(x, xb, 2, 3, 1);
    expect(Array.from(xb)).toEqual([0, 0, 0, 2, 0, 0]);
    expect(checkAdjoint(mod, 'mn2', { x, H: 2, W: 3 }).ok).toBe(true);
    // finite differences away from the tie
    expect(checkTangent(mod, 'mn2', { x: Float64Array.from([0.5, 0.3, 0.9, 0.35, 0.4, 0.8]), H: 2, W: 3 }).ok).toBe(
      true,
    );
  });
});

test('reductions inside a sequential loop: what their adjoints need goes on the tape', async () => {
  const src = `${header}
/** @kernel */
export function steps(y: Float64Array, x: Float64Array, n: i32, T: i32): f64 {
  let total = 0;
  for (let t = 0; t < T; t++) {
    let m = y[t];
    // @parallel
    for (let i = 0; i < n; i++) m = Math.max(m, x[i] * (t + 1) - x[(i + t) % n]);
    let p = 1;
    // @parallel
    for (let i = 0; i < n; i++) {
      p *= x[i] + t;
      x[i] = x[i] * 0.9 + 0.1 * m;
    }
    total += m * p;
  }
  return total;
}
`;
  const mod = await compileAndLoad(src);
  expect(String(mod.steps_b)).toContain('tape.pop()');
  const args = { y: Float64Array.from([0.3, 0.1, 0.9]), x: Float64Array.from([0.4, 0.9, 0.2, 0.6, 0.5]), n: 5, T: 3 };
  expect(checkTangent(mod, 'steps', args).ok).toBe(true);
  expect(checkAdjoint(mod, 'steps', args).ok).toBe(true);
});

test("the fixtures' reductions with the JavaScript adjoint scheduled as on a parallel machine", async () => {
  const load = (dir: string) => {
    const file = `fixtures/${dir}/${dir}.ts`;
    return compileAndLoad(fs.readFileSync(path.resolve(import.meta.dirname, '..', file), 'utf8'), {
      fileName: file,
      schedule: 'parallel',
    });
  };
  const mods = { reductions: await load('reductions'), extrema: await load('extrema') };
  const rnd = (n: number) => Float64Array.from({ length: n }, (_, i) => 0.2 + ((i * 7919) % 13) / 13);
  const cases: [keyof typeof mods, string, Record<string, unknown>][] = [
    ['reductions', 'crossEntropy', { z: rnd(20), labels: Int32Array.from([3, 0, 4, 3]), B: 4, C: 5 }],
    ['reductions', 'sumSquaresPar', { x: rnd(9), n: 9 }],
    ['extrema', 'maxPar', { x: rnd(9), n: 9 }],
    ['extrema', 'productPar', { out: rnd(9), x: rnd(9), n: 9 }],
  ];
  for (const [dir, k, args] of cases) expect(checkAdjoint(mods[dir], k, args as never).ok, k).toBe(true);
});
