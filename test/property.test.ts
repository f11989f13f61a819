/**
 * Property test: random straight-line kernels built from the kernel language's operators pass the
 * finite-difference and dot-product checks, in a parallel loop (per-iteration recomputation) and in
 * a sequential loop with a reassigned accumulator (tape).
 */
import { describe, expect } from 'vitest';
import { test } from '@fast-check/vitest';
import { checkAdjoint, checkTangent, prng } from '../testing/index.js';
import { compileAndLoad } from './support/load.js';
import { header, parallelKernel, program, reductionKernel, sequentialKernel, SIZE } from './support/generators.js';

const RUNS = Number(process.env.PARAD_PROP_RUNS ?? (process.env.CI ? 60 : 100));

async function check(src: string, args: Record<string, Float64Array | number>) {
  const mod = await compileAndLoad(src, { fileName: 'random.ts' });
  const t = checkTangent(mod, 'k', args, { seed: 7 });
  expect(t.ok, `tangent: ${JSON.stringify(t)}\n${src}`).toBe(true);
  const a = checkAdjoint(mod, 'k', args, { seed: 7 });
  expect(a.ok, `adjoint: ${JSON.stringify(a)}\n${src}`).toBe(true);
}

/** Random inputs (no structural ties at the kinks of max/min). */
const inputs = (n: number) => {
  const rnd = prng(2024);
  const arr = (len: number) => Float64Array.from({ length: len }, () => 0.2 + rnd());
  return { y: arr(n), x: arr(n + 1), w: Float64Array.of(0.7, -0.4), a: 0.6, n };
};

describe('random kernels pass FD and dot-product checks', () => {
  test.prop([parallelKernel], { numRuns: RUNS, seed: 42 })('parallel straight-line kernels', async (src) => {
    await check(src, inputs(5));
  });
  test.prop([sequentialKernel], { numRuns: RUNS, seed: 43 })('sequential recurrences', async (src) => {
    const { y, x, a, n } = inputs(6);
    await check(src, { y, x, a, n });
  });
});

describe('random programs with control flow pass FD and dot-product checks', () => {
  test.prop([program], { numRuns: RUNS, seed: Number(process.env.PARAD_PROP_SEED ?? 44) })(
    'loops, branches, in-place updates, reassigned locals',
    async (src) => {
      const rnd = prng(77);
      const arr = () => Float64Array.from({ length: SIZE }, () => 0.2 + rnd());
      await check(src, { y: arr(), x: arr(), a: 0.45, n: SIZE });
    },
  );
});

describe('random parallel scalar reductions pass FD and dot-product checks', () => {
  test.prop([reductionKernel()], { numRuns: RUNS, seed: 45 })(
    '+=, -=, *=, Math.max, Math.min, alone or in a time loop',
    async (src) => {
      const rnd = prng(78);
      const arr = () => Float64Array.from({ length: SIZE }, () => 0.2 + rnd());
      await check(src, { y: arr(), x: arr(), a: 0.45, n: SIZE });
    },
  );
});

describe('naming', () => {
  test('scalar adjoints keep their contract keys when the local names collide', async () => {
    // the kernel is called `ab`, so the adjoint variable of `a` cannot be called `ab`
    const src = `${header}/** @kernel */\nexport function ab(y: Float64Array, a: f64, n: i32): void {\n  // @parallel\n  for (let i = 0; i < n; i++) {\n    y[i] = a * y[i];\n  }\n}\n`;
    const mod = await compileAndLoad(src, { fileName: 'ab.ts' });
    const y = Float64Array.of(1, 2, 3),
      yb = Float64Array.of(1, 1, 1);
    expect((mod.ab_b as (...a: unknown[]) => unknown)(y, yb, 2, 3)).toEqual({ ab: 6 });
    const args = { y: Float64Array.of(0.5, 0.7, 0.9), a: 0.4, n: 3 };
    expect(checkAdjoint(mod, 'ab', args).ok).toBe(true);
  });
});
