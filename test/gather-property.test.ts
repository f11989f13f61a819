/**
 * Property: on random affine loop nests (1-D/2-D, strides, offsets, negative coefficients, inner
 * sequential loops, windows moving with the nest, flattened 2-D indexing), the gather adjoint
 * (TF-MAD) computes the same gradient as the scatter adjoint, and passes the dot-product test. The inversion of index maps
 * (solving, divisibility and range guards, sums over the variables an index does not determine)
 * is where a gather can go wrong; the scatter is the reference.
 */
import { describe, expect } from 'vitest';
import { test, fc } from '@fast-check/vitest';
import { compile } from '../transformer/index.js';
import { checkAdjoint, prng } from '../testing/index.js';
import { loadGenerated } from './support/load.js';
import { LEN, oneD, twoD } from './support/generators.js';

const RUNS = Number(process.env.PARAD_GATHER_RUNS ?? 25);
const SEED = Number(process.env.PARAD_GATHER_SEED ?? 0);
async function sameGradient(src: string, args: Record<string, Float64Array | number>) {
  const gather = await compile(src, { fileName: 'g.ts', format: 'js', strategy: 'gather' });
  const direct = await compile(src, { fileName: 'g.ts', format: 'js', strategy: 'direct' });
  expect(gather.code, gather.diagnostics.map((d) => d.message).join('\n')).toBeDefined();
  const g = loadGenerated(gather.code!);
  const d = loadGenerated(direct.code!);
  const rnd = prng(9);
  const yb = Float64Array.from({ length: (args.y as Float64Array).length }, () => rnd() - 0.5);
  const run = (mod: typeof g) => {
    const y = (args.y as Float64Array).slice();
    const x = (args.x as Float64Array).slice();
    const xb = new Float64Array(x.length);
    const ints = Object.entries(args).filter(([, v]) => typeof v === 'number').map(([, v]) => v);
    (mod.k_b as (...a: unknown[]) => void)(y, yb.slice(), x, xb, ...ints);
    return xb;
  };
  const a = run(g), b = run(d);
  for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i]), `xb[${i}]\n${gather.code}`).toBeLessThanOrEqual(1e-12 * (1 + Math.abs(b[i])));
  const dot = checkAdjoint(g, 'k', args, { seed: 4 });
  expect(dot.ok, JSON.stringify(dot)).toBe(true);
}

describe('gather adjoints equal scatter adjoints on random affine nests', () => {
  test.prop([oneD, fc.integer({ min: 1, max: 12 })], { numRuns: RUNS, seed: SEED + 71 })('1-D nests', async (src, n) => {
    const rnd = prng(n);
    await sameGradient(src, { y: Float64Array.from({ length: 24 }, () => rnd()), x: Float64Array.from({ length: LEN }, () => rnd()), n });
  }, 3_600_000);
  test.prop([twoD, fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 12 })], { numRuns: RUNS, seed: SEED + 72 })('2-D nests with flattened indexing', async (src, R, C, W) => {
    const rnd = prng(R * 100 + C * 10 + W);
    await sameGradient(src, { y: Float64Array.from({ length: R * C }, () => rnd()), x: Float64Array.from({ length: LEN }, () => rnd()), R, C, W });
  }, 3_600_000);
});
