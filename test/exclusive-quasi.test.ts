/**
 * Quasi-affine indices in the exclusive-read analysis (issue 13): the verdicts on the quasi
 * fixtures are precise (periodic stencil `no` with a real witness, nearest upsampling `no`, pixel
 * shuffle `yes`, non-overlapping pooling with a run-time window `yes`), the nests are proven free
 * of races, and PARAD2003 never suggests `exclusive-read(…)` where a conflict was found.
 */
import { describe, expect, test } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { analyze, compile } from '../transformer/index.js';

const root = path.resolve(import.meta.dirname, '..');
const source = fs.readFileSync(path.join(root, 'fixtures/quasi/quasi.ts'), 'utf8');
const header = "import type { i32 } from 'parad';\n";

describe('verdicts on fixtures/quasi', async () => {
  const { report } = await analyze(source, { fileName: 'quasi.ts' });
  const reads = new Map(
    report.kernels.flatMap((k) => k.loops.flatMap((l) => l.reads.map((r) => [`${k.name}.${r.name}`, r] as const))),
  );

  test('each read gets the exact verdict', () => {
    expect(Object.fromEntries([...reads].map(([k, r]) => [k, r.exclusiveRead]))).toEqual({
      'periodic.u': 'no',
      'upsample.inp': 'no',
      'pixelShuffle.inp': 'yes',
      'avgPool.x': 'no',
      'maxPool.x': 'yes',
      'conv2dStrided.inp': 'no',
      'conv2dStrided.w': 'no',
      'bilinear2x.inp': 'no',
      'convTranspose.w': 'no',
      'convTranspose.x': 'no',
    });
  });

  test("the periodic stencil's witness is real (u[(i + 1) % n], u[i], u[((i - 1) % n + n) % n])", () => {
    const w = reads.get('periodic.u')!.witness!;
    const n = w.params.n;
    const read = (i: number) => [(i + 1) % n, i, (((i - 1) % n) + n) % n];
    expect(w.iterations[0].i).not.toBe(w.iterations[1].i);
    for (const it of w.iterations) expect(read(it.i)).toContain(w.element);
  });

  test('nearest upsampling: four iterations read each element', () => {
    const w = reads.get('upsample.inp')!.witness!;
    expect(w.iterations.map((it) => it.i >> 2)).toEqual([w.element, w.element]);
  });

  test('no race warnings: every nest is proven parallel', () => {
    expect(report.kernels.flatMap((k) => k.loops.flatMap((l) => l.races))).toEqual([]);
  });
});

describe('PARAD2003 suggests a pragma only when no conflict was found', () => {
  const warning = async (src: string) => {
    const r = await compile(header + src, { fileName: 'k.ts' });
    return r.diagnostics.filter((d) => d.code === 'PARAD2003').map((d) => d.message);
  };

  test('a periodic read under a data-dependent branch: a possible conflict, no suggestion', async () => {
    const msgs = await warning(`/** @kernel */
export function k(y: Float64Array, u: Float64Array, n: i32): void {
  // @parallel
  for (let i = 0; i < n; i++) {
    if (u[i] > 0.5) y[i] = u[(i + 1) % n] * u[i];
  }
}
`);
    expect(msgs.length).toBe(1);
    expect(msgs[0]).toMatch(/both read u\[/);
    expect(msgs[0]).not.toMatch(/exclusive-read\(/);
  });

  test('a read through an index array (no form to search): the pragma is suggested', async () => {
    const msgs = await warning(`/** @kernel */
export function k(y: Float64Array, x: Float64Array, perm: Int32Array, n: i32): void {
  // @parallel
  for (let i = 0; i < n; i++) {
    y[i] = x[perm[i]] * x[perm[i]];
  }
}
`);
    expect(msgs.length).toBe(1);
    expect(msgs[0]).toMatch(/exclusive-read\(x\)/);
  });

  test('the periodic stencil itself gets no warning at all (verdict no, a gather or reduction)', async () => {
    const r = await compile(source, { fileName: 'quasi.ts' });
    expect(r.diagnostics.map((d) => d.message)).toEqual([]);
  });
});
