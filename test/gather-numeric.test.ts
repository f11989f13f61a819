/**
 * Every fixture's adjoint with the gather forced wherever it applies (the JavaScript schedule a
 * parallel target gets, f64) against the default sequential adjoint: the same input adjoints (to
 * rounding) on the same inputs and seeds, and the dot-product test. The gathers now apply to
 * updates inside inner loops whose values the gather pass cannot recompute (staged per inner
 * iteration: running maxima, recurrences), so every kernel with such loops goes through that
 * path here; wgsl.test.ts compares the GPU with the JavaScript of the same strategy, which this
 * test anchors to the sequential adjoint.
 */
import { describe, expect, test } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { compile } from '../transformer/index.js';
import { checkAdjoint } from '../testing/index.js';
import { loadGenerated, type GeneratedModule } from './support/load.js';
import { specs } from '../fixtures/specs.js';
import { argsFor } from './support/fixture-args.js';

const root = path.resolve(import.meta.dirname, '..');
const files = [...new Set(specs.map((s) => s.file))]
  .filter((f) => fs.existsSync(path.join(root, 'fixtures', f, `${f}.ts`)))
  .sort();

/** K_b of `mod` on the spec's inputs, seeds sin(i + 1): every array after the call, and the returned adjoints. */
function adjointOf(mod: GeneratedModule, spec: (typeof specs)[number]) {
  const meta = mod.__parad.kernels[spec.kernel];
  const a = argsFor(spec, meta.params);
  const list: unknown[] = [];
  const arrays: Record<string, Float64Array> = {};
  for (const p of meta.params) {
    list.push(a[p.name]);
    if (ArrayBuffer.isView(a[p.name])) arrays[p.name] = a[p.name] as Float64Array;
    if (!p.active || p.kind !== 'array') continue;
    const seed = Float64Array.from(a[p.name] as Float64Array, (_, i) => Math.sin(i + 1));
    arrays[`${p.name}b`] = seed;
    list.push(seed);
  }
  if (meta.returns !== 'void') list.push(0.75);
  const ret = (mod[`${spec.kernel}_b`] as (...x: unknown[]) => unknown)(...list);
  return { arrays, ret };
}

describe.each(files)('fixtures/%s with gathers forced', (file) => {
  const source = fs.readFileSync(path.join(root, `fixtures/${file}/${file}.ts`), 'utf8');
  test('K_b agrees with the sequential K_b and passes the dot-product test', async () => {
    const input = `fixtures/${file}/${file}.ts`;
    const seq = await compile(source, { fileName: input, format: 'js' });
    const gat = await compile(source, { fileName: input, format: 'js', strategy: 'gather', schedule: 'parallel' });
    expect(gat.code, gat.diagnostics.map((d) => d.message).join('\n')).toBeDefined();
    const ms = loadGenerated(seq.code!);
    const mg = loadGenerated(gat.code!);
    for (const spec of specs.filter((s) => s.file === file)) {
      const meta = mg.__parad.kernels[spec.kernel];
      if (!meta || meta.kind === 'layer' || !meta.modes.includes('b')) continue;
      const what = `${spec.kernel}${spec.tag ? ` (${spec.tag})` : ''}`;
      const want = adjointOf(ms, spec);
      const got = adjointOf(mg, spec);
      for (const [name, w] of Object.entries(want.arrays)) {
        const g = got.arrays[name];
        const scale = Math.max(1, ...Array.from(w, Math.abs));
        for (let i = 0; i < w.length; i++)
          expect(Math.abs(g[i] - w[i]) / scale, `${what}: ${name}[${i}] ${g[i]} vs ${w[i]}`).toBeLessThanOrEqual(1e-9);
      }
      for (const [k, w] of Object.entries((want.ret ?? {}) as Record<string, number>))
        expect((got.ret as Record<string, number>)[k], `${what}: ${k}`).toBeCloseTo(w, 9);
      const r = checkAdjoint(mg, spec.kernel, argsFor(spec, meta.params), { seed: 11 });
      expect(r.ok, `${what}: ${JSON.stringify(r)}`).toBe(true);
    }
  }, 120_000);
});
