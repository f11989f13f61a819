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
