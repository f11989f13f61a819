/**
 * Cost bounds of the generated adjoints (exact counts, not timings): every fixture kernel's `K_b`,
 * with the schedule's own strategies and with each strategy forced, runs at most a constant factor
 * more loop iterations than its primal `K` on the same inputs, plus a constant number per element
 * of the adjoint arrays (a gather visits each element, a reduction combines private copies of
 * them). A gather that scans the iteration space for every element of the adjoint
 * (|x| · |iterations| trips) fails this at once.
 *
 * The generated JavaScript is instrumented: every `for` loop's body counts one trip.
 */
import { describe, expect, test } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { compile, type CompileResult } from '../transformer/index.js';
import type { Strategy } from '../transformer/analysis/exclusive/index.js';
import { specs } from '../fixtures/specs.js';
import { instrumented, trips, tripsOf } from './support/trips.js';

const root = path.resolve(import.meta.dirname, '..');

/** Trips of K_b per trip of K: the schedule's choices and every forced strategy stay below this. */
const FACTOR = 24;
/** Trips per element of the adjoint arrays: 16 private copies of a reduction and their tree. */
const PER_ELEMENT = 32;
/** Trips any adjoint may spend on fixed-size work (reductions of a few private copies of a scalar). */
const SLACK = 256;

/**
 * The JavaScript schedules: sequential (the default: plain updates, as direct and atomic are in JS),
 * parallel (the analysis' strategies: gathers, reductions, versioned nests), and gather and
 * reduction forced everywhere they apply.
 */
const VARIANTS: { label: string; options: { strategy?: Strategy; schedule?: 'parallel' } }[] = [
  { label: 'sequential', options: {} },
  { label: 'parallel', options: { schedule: 'parallel' } },
  { label: 'gather', options: { strategy: 'gather', schedule: 'parallel' } },
  { label: 'reduction', options: { strategy: 'reduction', schedule: 'parallel' } },
];

const files = [...new Set(specs.map((s) => s.file))]
  .filter((f) => fs.existsSync(path.join(root, 'fixtures', f, `${f}.ts`)))
  .sort();

describe.each(files)('fixture %s', (file) => {
  const input = `fixtures/${file}/${file}.ts`;
  const source = fs.readFileSync(path.join(root, input), 'utf8');
  test.each(VARIANTS.map((x) => [x.label, x.options] as const))(
    'K_b (%s) runs at most a constant factor more loop trips than K',
    async (_label, options) => {
      const r: CompileResult = await compile(source, { fileName: input, format: 'js', ...options });
      expect(r.code, 'compiles').toBeDefined();
      const mod = instrumented(r.code!);
      for (const spec of specs.filter((s) => s.file === file)) {
        const meta = mod.__parad.kernels[spec.kernel];
        if (!meta || meta.kind === 'layer' || !meta.modes.includes('b')) continue;
        const { primal: p, adjoint: n, elements } = tripsOf(mod, spec);
        expect(
          n,
          `${spec.kernel}${spec.tag ? ` (${spec.tag})` : ''}: K_b ${n} trips, K ${p}, ${elements} adjoint elements`,
        ).toBeLessThanOrEqual(FACTOR * p + PER_ELEMENT * elements + SLACK);
      }
    },
  );
});

test('conv2d with the output sizes and a run-time stride as parameters: whatever the schedule does, no gather scans the iterations for each element', async () => {
  const source = `import type { i32 } from 'parad';
/** @kernel */
export function conv(out: Float64Array, inp: Float64Array, w: Float64Array, H: i32, W: i32, K: i32, s: i32, OH: i32, OW: i32): void {
  // @parallel
  for (let oy = 0; oy < OH; oy++) {
    // @parallel
    for (let ox = 0; ox < OW; ox++) {
      let acc = 0;
      for (let ky = 0; ky < K; ky++) {
        for (let kx = 0; kx < K; kx++) acc += w[ky * K + kx] * inp[(oy * s + ky) * W + ox * s + kx];
      }
      out[oy * OW + ox] = acc;
    }
  }
}
`;
  const [H, W, K, s] = [41, 41, 3, 2];
  const [OH, OW] = [Math.floor((H - K) / s) + 1, Math.floor((W - K) / s) + 1];
  for (const options of VARIANTS.map((x) => x.options)) {
    const r = await compile(source, { fileName: 'conv.ts', format: 'js', ...options });
    const mod = instrumented(r.code!);
    const inp = Float64Array.from({ length: H * W }, (_, i) => Math.sin(i));
    const w = Float64Array.from({ length: K * K }, (_, i) => Math.cos(i));
    const p = trips(() =>
      (mod.conv as (...a: unknown[]) => void)(new Float64Array(OH * OW), inp, w, H, W, K, s, OH, OW),
    );
    const b = trips(() =>
      (mod.conv_b as (...a: unknown[]) => void)(
        new Float64Array(OH * OW),
        new Float64Array(OH * OW).fill(1),
        inp,
        new Float64Array(inp.length),
        w,
        new Float64Array(w.length),
        H,
        W,
        K,
        s,
        OH,
        OW,
      ),
    );
    expect(b, `${JSON.stringify(options)}: K_b ${b} trips, K ${p}`).toBeLessThanOrEqual(
      FACTOR * p + PER_ELEMENT * (2 * OH * OW + inp.length + w.length) + SLACK,
    );
  }
});
