/**
 * The cost of gathers (issue 13): each fixture kernel's adjoint with the gather forced runs with
 * every loop instrumented, and its loop trips must stay within a constant factor of the primal's.
 * A gather that scans the iteration space for each element (|x| × |iterations|: a conv2d with a
 * run-time stride whose digits were not solved, an `i >> 2` without its quotient loop) breaks the
 * bound, and its ratio grows with the problem size, which the scaling test checks too.
 */
import { describe, expect, test } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { compile } from '../transformer/index.js';
import type { GeneratedModule } from './support/load.js';
import { instrumented, tripsOf } from './support/trips.js';
import { specs } from '../fixtures/specs.js';

const root = path.resolve(import.meta.dirname, '..');
/** Fixtures whose reads are shared (gathers apply), with quasi-affine indices among them. */
const DIRS = [
  'quasi',
  'gpu-gather',
  'conv2d',
  'stencil1d',
  'stencil2d',
  'pooling',
  'window',
  'dense',
  'mirror',
  'heat',
];
/** The most loop trips K_b may take per trip of K (forward sweep, adjoint nest, gathers). */
const FACTOR = 12;

/** Kernels where a forced gather fell back to private copies (their cost is 16 copies, not the gather's). */
const reduced = new Set<string>();

async function load(dir: string): Promise<GeneratedModule> {
  const source = fs.readFileSync(path.join(root, `fixtures/${dir}/${dir}.ts`), 'utf8');
  const r = await compile(source, { fileName: `fixtures/${dir}/${dir}.ts`, format: 'js', strategy: 'gather' });
  expect(r.code, r.diagnostics.map((d) => d.message).join('\n')).toBeDefined();
  for (const k of r.analysis.kernels)
    if (k.loops.some((l) => l.reads.some((x) => x.targets!.ts!.strategy === 'reduction')))
      reduced.add(`${dir}/${k.name}`);
  return instrumented(r.code!);
}

const modules = new Map<string, GeneratedModule>();
for (const dir of DIRS) modules.set(dir, await load(dir));

describe.each(DIRS)('gathered adjoints of fixtures/%s', (dir) => {
  test.each(specs.filter((s) => s.file === dir).map((s) => [s.kernel + (s.tag ? ` (${s.tag})` : ''), s] as const))(
    '%s: loop trips within a constant factor of the primal',
    (_name, spec) => {
      if (reduced.has(`${dir}/${spec.kernel}`)) return;
      const { primal, adjoint } = tripsOf(modules.get(dir)!, spec);
      expect(primal).toBeGreaterThan(0);
      expect(adjoint / primal, `${spec.kernel}: K_b ${adjoint} trips, K ${primal}`).toBeLessThanOrEqual(FACTOR);
    },
  );
});

test('the gathers of the quasi-affine and gpu-gather fixtures apply (no fallback)', () => {
  expect([...reduced].filter((k) => k.startsWith('quasi/') || k.startsWith('gpu-gather/')).sort()).toEqual([]);
});

test('the ratio does not grow with the size (conv2d with OH/OW/stride parameters, avgPool, upsample, bilinear, transposed conv, maxPool)', () => {
  const mod = modules.get('quasi')!;
  const at = (kernel: string, sizes: Record<string, number>) => {
    const { primal, adjoint } = tripsOf(mod, { file: 'quasi', kernel, sizes });
    return adjoint / primal;
  };
  const conv = (H: number) => {
    const OH = Math.floor((H - 3) / 2) + 1;
    return at('conv2dStrided', {
      out: 2 * OH * OH,
      inp: 2 * H * H,
      w: 36,
      C: 2,
      H,
      W: H,
      F: 2,
      K: 3,
      OH,
      OW: OH,
      stride: 2,
    });
  };
  const pool = (H: number) => at('avgPool', { out: (Math.floor((H - 3) / 2) + 1) ** 2, x: H * H, H, W: H, stride: 2 });
  const up = (n: number) => at('upsample', { out: n, inp: n / 4, n });
  const bilinear = (H: number) => at('bilinear2x', { out: 4 * H * H, inp: H * H, H, W: H });
  // the guarded quotient (t / s | 0 under t % s === 0) solved as o = s·i + k
  const convT = (n: number) => at('convTranspose', { out: 2 * n + 1, x: n, w: 3, n, K: 3, s: 2, nOut: 2 * n + 1 });
  // float source coordinates, Math.floor(oy * H / OH): candidates bounded by the scale, not by OH
  const resize = (H: number) => {
    const { primal, adjoint } = tripsOf(modules.get('gpu-gather')!, {
      file: 'gpu-gather',
      kernel: 'resizeBilinear',
      sizes: { out: (9 * H * H * 2) / 4, inp: H * H * 2, H, W: H, C: 2, OH: (3 * H) / 2, OW: (3 * H) / 2 },
    });
    return adjoint / primal;
  };
  // a running maximum, its contributions staged per (output, window position) and gathered
  const maxPool = (H: number) => {
    const O = Math.floor((H - 3) / 2) + 1;
    const { primal, adjoint } = tripsOf(modules.get('gpu-gather')!, {
      file: 'gpu-gather',
      kernel: 'maxPool3s2',
      sizes: { out: O * O * 2, inp: H * H * 2, H, W: H, C: 2, OH: O, OW: O },
    });
    return adjoint / primal;
  };
  for (const [small, large] of [
    [conv(7), conv(31)],
    [pool(7), pool(31)],
    [up(16), up(256)],
    [bilinear(4), bilinear(32)],
    [convT(5), convT(200)],
    [resize(4), resize(40)],
    [maxPool(9), maxPool(41)],
  ])
    expect(large).toBeLessThanOrEqual(small * 1.5);
});
