/**
 * Property test of layer adjoints: random layers (calls of in-place and pure kernels on parameters,
 * scratch arrays and swapped aliases, copies, float results, if statements, stored and checkpointed
 * loops, nested)
 * pass the dot-product test against their tangent, and with every `// @checkpoint` removed give the
 * same gradients (the save plan's shortcuts and the checkpoint driver against plain storing).
 */
import { describe, expect } from 'vitest';
import { test } from '@fast-check/vitest';
import { checkAdjoint, prng } from '../testing/index.js';
import { compileAndLoad } from './support/load.js';
import { layerArb } from './support/generators.js';
import { resetCheckpointing } from '../runtime/index.js';

const RUNS = Number(process.env.PARAD_PROP_RUNS ?? (process.env.CI ? 40 : 60));
const N = 5;

describe('random layers', () => {
  test.prop([layerArb], { numRuns: RUNS, seed: Number(process.env.PARAD_PROP_SEED ?? 71) })(
    'dot-product test; checkpointed == stored',
    async (src) => {
      resetCheckpointing();
      const mod = await compileAndLoad(src, { fileName: 'layer.ts' });
      const rnd = prng(5);
      const arr = () => Float64Array.from({ length: N }, () => 0.6 * (rnd() - 0.5));
      const args = { p: arr(), q: arr(), k: 0.7, n: N };
      const a = checkAdjoint(mod, 'L', args, { seed: 3 });
      expect(a.ok, `${a.message}\n${src}`).toBe(true);
      const stored = await compileAndLoad(src.replace(/^\s*\/\/ @checkpoint.*$/gm, ''), { fileName: 'layer.ts' });
      const grad = (m: typeof mod) => {
        const g = {
          p: args.p.slice(),
          pb: Float64Array.from({ length: N }, (_, i) => Math.cos(i)),
          q: args.q.slice(),
          qb: Float64Array.from({ length: N }, (_, i) => Math.sin(i)),
        };
        const { kb } = (m.L_b as (...x: unknown[]) => { kb: number })(g.p, g.pb, g.q, g.qb, 0.7, N, 1.3);
        return { ...g, kb };
      };
      const [x, y] = [grad(mod), grad(stored)];
      for (const key of ['p', 'pb', 'q', 'qb'] as const) {
        for (let i = 0; i < N; i++)
          expect(Math.abs(x[key][i] - y[key][i]), `${key}[${i}]\n${src}`).toBeLessThanOrEqual(
            1e-10 * (1 + Math.abs(y[key][i])),
          );
      }
      expect(Math.abs(x.kb - y.kb), src).toBeLessThanOrEqual(1e-10 * (1 + Math.abs(y.kb)));
    },
  );
});
