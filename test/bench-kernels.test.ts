/**
 * The benchmark's natural formulations (bench/kernels/natural.ts) compile, and every kernel's
 * adjoint passes the dot-product test against its tangent, in both JavaScript schedules, at the
 * sizes bench/natural.mjs checks them with (bench/kernels/natural.sizes.json). `npm run bench`
 * checks them against TF.js's gradients too, on the timed data.
 */
import { describe, expect, test } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { checkAdjoint } from '../testing/index.js';
import { compileAndLoad, type GeneratedModule } from './support/load.js';
import sizes from '../bench/kernels/natural.sizes.json' with { type: 'json' };

const file = 'bench/kernels/natural.ts';
const source = fs.readFileSync(path.resolve(import.meta.dirname, '..', file), 'utf8');
const kernels = [...source.matchAll(/@kernel[\s\S]*?\nexport function (\w+)\(/g)].map((m) => m[1]);

describe.each(['sequential', 'parallel'] as const)('bench kernels, %s schedule', (schedule) => {
  let mod: GeneratedModule | undefined;
  const load = async () => (mod ??= await compileAndLoad(source, { fileName: file, schedule }));

  test('every kernel of the file has dot-product test sizes', () => {
    expect(kernels.length).toBeGreaterThanOrEqual(8);
    expect(Object.keys(sizes).sort()).toEqual([...kernels].sort());
  });

  test.each(kernels)(
    '%s: K_b passes the dot-product test',
    async (kernel) => {
      const m = await load();
      const r = checkAdjoint(m, kernel, { sizes: (sizes as Record<string, Record<string, number>>)[kernel] });
      expect(r.ok, r.message).toBe(true);
    },
    180_000,
  );
});

/**
 * The hand-written adjoints the natural table times beside the generated ones (bench/handwritten.mjs,
 * the ceiling of their form) compute the same thing: outputs, input adjoints and the reset seed.
 */
describe('hand-written references of the natural table', () => {
  const HAND: Record<string, string> = { resizeBilinear: 'resizeBilinear_b' };
  test.each(Object.entries(HAND))('%s: %s agrees with the generated K_b', async (kernel, fn) => {
    const handPath = '../bench/handwritten.mjs';
    const hand = (await import(handPath)) as Record<string, (...args: unknown[]) => void>;
    const m = await compileAndLoad(source, { fileName: file });
    const meta = m.__parad.kernels[kernel];
    const size = (sizes as Record<string, Record<string, number>>)[kernel];
    let seed = 11;
    const rnd = () => (seed = (seed * 16807) % 2147483647) / 2147483647 - 0.5;
    const state = () => {
      const s: Record<string, Float64Array> = {};
      for (const q of meta.params) {
        if (q.kind !== 'array') continue;
        s[q.name] = Float64Array.from({ length: size[q.name] }, rnd);
        if (q.active) s[`${q.name}b`] = Float64Array.from({ length: size[q.name] }, rnd);
      }
      return s;
    };
    const a = state();
    const b = Object.fromEntries(Object.entries(a).map(([k, v]) => [k, v.slice()]));
    const args = (s: Record<string, Float64Array>) =>
      meta.params.flatMap((q): (Float64Array | number)[] =>
        q.kind === 'array' ? (q.active ? [s[q.name], s[`${q.name}b`]] : [s[q.name]]) : [size[q.name]],
      );
    (m[`${kernel}_b`] as (...x: unknown[]) => void)(...args(a));
    hand[fn](...args(b));
    for (const k of Object.keys(a))
      for (let i = 0; i < a[k].length; i++) expect(b[k][i], `${k}[${i}]`).toBeCloseTo(a[k][i], 12);
  });
});
