/**
 * The exclusive-read analysis' fast paths (transformer/analysis/exclusive/fast.ts): common nests get
 * their verdicts, witnesses and conditions without z3 ever loading. Each verdict is also checked
 * by the brute-force property test; here the point is that the solver is not needed.
 */
import { afterAll, describe, expect, test } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { analyze, type ReadReport } from '../transformer/index.js';
import { z3Stats } from '../transformer/analysis/exclusive/z3-client.js';

const header = "import type { f64, i32 } from 'parad';\n";

async function loop(sig: string, body: string) {
  const src = `${header}/** @kernel */\nexport function k(${sig}): void {\n${body}\n}\n`;
  const r = await analyze(src, { fileName: 'k.ts' });
  const l = r.report.kernels[0].loops[0];
  return { l, read: (name: string): ReadReport => l.reads.find((x) => x.name === name)! };
}

describe('verdicts without z3', () => {
  afterAll(() => {
    // every case above was settled by the fast paths: no query went to z3, no worker started
    expect(z3Stats()).toMatchObject({ queries: 0, workers: 0 });
  });

  test('conv2d (fixtures/conv2d): flattened 3-D writes are exclusive (no race), inp/w/bias are not, with witnesses', async () => {
    const src = fs.readFileSync(path.resolve(import.meta.dirname, '../fixtures/conv2d/conv2d.ts'), 'utf8');
    const l = (await analyze(src, { fileName: 'conv2d.ts' })).report.kernels[0].loops[0];
    const read = (name: string): ReadReport => l.reads.find((x) => x.name === name)!;
    expect(l.races).toEqual([]);
    for (const name of ['inp', 'w', 'bias']) {
      const r = read(name);
      expect(r.exclusiveRead, name).toBe('no');
      expect(r.witness!.iterations[0]).not.toEqual(r.witness!.iterations[1]);
    }
    expect(read('bias').strategy).toBe('gather');
  });

  test('a 2-D 5-point stencil: no, the neighbours one row apart share u[k]', async () => {
    const { l, read } = await loop(
      'out: Float64Array, u: Float64Array, H: i32, W: i32',
      `
  // @parallel
  for (let y = 1; y < H - 1; y++) {
    // @parallel
    for (let x = 1; x < W - 1; x++) {
      const k = y * W + x;
      out[k] = u[k - W] + u[k - 1] + u[k] + u[k + 1] + u[k + W];
    }
  }`,
    );
    expect(l.races).toEqual([]);
    const u = read('u');
    expect(u.exclusiveRead).toBe('no');
    const { params, iterations, element } = u.witness!;
    const reads = (it: Record<string, number>) =>
      [-params.W, -1, 0, 1, params.W].map((d) => it.y * params.W + it.x + d);
    expect(reads(iterations[0])).toContain(element);
    expect(reads(iterations[1])).toContain(element);
  });

  test('dense rows: W[o*nIn + i] over an inner i is exclusive, x is shared', async () => {
    const { read } = await loop(
      'y: Float64Array, W: Float64Array, x: Float64Array, nOut: i32, nIn: i32',
      `
  // @parallel
  for (let o = 0; o < nOut; o++) {
    let acc = 0;
    for (let i = 0; i < nIn; i++) acc += W[o * nIn + i] * x[i];
    y[o] = acc;
  }`,
    );
    expect(read('W').exclusiveRead).toBe('yes');
    expect(read('x').exclusiveRead).toBe('no');
  });

  test('mirror: c[n-1-i] with c[i] conflict between the first and last iteration', async () => {
    const { read } = await loop(
      'b: Float64Array, c: Float64Array, n: i32',
      `
  // @parallel
  for (let i = 0; i < n; i++) b[i] = c[n - 1 - i] * c[i];`,
    );
    const c = read('c');
    expect(c.exclusiveRead).toBe('no');
    expect(c.witness!.iterations.map((it) => it.i).sort()).toEqual([0, c.witness!.params.n - 1]);
  });

  test.each([
    [
      'a window i-size..i+size',
      'b: Float64Array, c: Float64Array, size: i32, n: i32',
      `
  // @parallel
  for (let i = size; i < n - size; i++) {
    let s = 0;
    for (let j = i - size; j <= i + size; j++) s += c[j];
    b[i] = s;
  }`,
      'size <= 0',
    ],
    [
      'a window read twice, c[j] * c[j]',
      'b: Float64Array, c: Float64Array, size: i32, n: i32',
      `
  // @parallel
  for (let i = size; i < n - size; i++) {
    let s = 0;
    for (let j = i - size; j <= i + size; j++) s += c[j] * c[j];
    b[i] = s;
  }`,
      'size <= 0',
    ],
    [
      'a 1-D convolution x[i + k], k < K',
      'b: Float64Array, c: Float64Array, K: i32, n: i32',
      `
  // @parallel
  for (let i = 0; i < n - K + 1; i++) {
    let s = 0;
    for (let k = 0; k < K; k++) s += c[i + k];
    b[i] = s;
  }`,
      'K <= 1',
    ],
    [
      'softmax rows x[r*cols] and x[r*cols + j]',
      'b: Float64Array, c: Float64Array, rows: i32, cols: i32',
      `
  // @parallel
  for (let r = 0; r < rows; r++) {
    let m = c[r * cols];
    for (let j = 1; j < cols; j++) m = Math.max(m, c[r * cols + j]);
    b[r] = m;
  }`,
      'cols >= 1',
    ],
  ])('%s: depends (%s)', async (_name, sig, body, condition) => {
    const { read } = await loop(sig, body);
    expect(read('c')).toMatchObject({ exclusiveRead: 'depends', strategy: 'versioned', condition });
  });
});
