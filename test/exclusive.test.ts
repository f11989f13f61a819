/**
 * Exclusive-read analysis: the reference loops, stencils, pooling, mirrored reads, dense layers,
 * convolutions, softmax rows, index-array gathers, pragmas, and the parallel-correctness check.
 */
import { describe, expect, test } from 'vitest';
import { analyze, type ReadReport } from '../transformer/index.js';

const header = "import type { f64, i32 } from 'parad';\n";

async function reads(body: string, sig = '(b: Float64Array, c: Float64Array, a: f64, n: i32, size: i32)') {
  const src = `${header}/** @kernel */\nexport function k${sig}: void {\n${body}\n}\n`;
  const r = await analyze(src, { fileName: 'k.ts' });
  const loops = r.report.kernels[0]?.loops ?? [];
  const byName = (name: string, loop = 0): ReadReport => {
    const x = loops[loop]?.reads.find((q) => q.name === name);
    if (!x) throw new Error(`no read of ${name} in loop ${loop}: ${JSON.stringify(loops)}`);
    return x;
  };
  return { r, loops, byName };
}

describe('reference loops (Hückelheim & Hovland)', () => {
  test('loop 1: b[i] = sin(c[i]) reads exclusively', async () => {
    const { byName } = await reads('  // @parallel\n  for (let i = 0; i < n; i++) {\n    b[i] = Math.sin(c[i]);\n  }');
    expect(byName('c')).toMatchObject({ exclusiveRead: 'yes', strategy: 'direct', witness: null, assumed: false });
  });

  test('loop 2: a float scalar read by every iteration is not exclusive (reduction)', async () => {
    const { byName } = await reads('  // @parallel\n  for (let i = 0; i < n; i++) {\n    b[i] = a + c[i];\n  }');
    const a = byName('a');
    expect(a).toMatchObject({ exclusiveRead: 'no', strategy: 'reduction' });
    expect(a.witness!.iterations[0].i).not.toBe(a.witness!.iterations[1].i);
    expect(byName('c').exclusiveRead).toBe('yes');
  });

  test('loop 3: a window c[i-size..i+size] depends on size', async () => {
    const { byName } = await reads(
      '  // @parallel\n  for (let i = size; i < n - size; i++) {\n    b[i] = 0;\n    for (let j = i - size; j <= i + size; j++) {\n      b[i] = b[i] + c[j];\n    }\n  }',
    );
    const c = byName('c');
    expect(c).toMatchObject({ exclusiveRead: 'depends', strategy: 'versioned', condition: 'size <= 0' });
    expect(c.witness!.params.size).toBeGreaterThan(0);
  });
});

describe('affine reads', () => {
  test.each([
    ['an offset read u[i + 10]', 'b[i] = c[i + 10];', 'yes'],
    ['a mirrored read c[n - 1 - i]', 'b[i] = c[n - 1 - i];', 'yes'],
    ['strided reads x[2i] + x[2i+1]', 'b[i] = c[2 * i] + c[2 * i + 1];', 'yes'],
    ['a 3-point stencil', 'b[i] = c[i - 1] + c[i] + c[i + 1];', 'no'],
    ['mirrored and direct reads together', 'b[i] = c[n - 1 - i] * c[i];', 'no'],
    ['overlapping strided windows', 'b[i] = c[2 * i] + c[2 * i + 2];', 'no'],
  ])('%s', async (_name, stmt, verdict) => {
    const { byName } = await reads(`  // @parallel\n  for (let i = 1; i < n - 1; i++) {\n    ${stmt}\n  }`);
    const c = byName('c');
    expect(c.exclusiveRead).toBe(verdict);
    if (verdict === 'no') {
      expect(c.strategy).toBe('gather');
      expect(c.witness).not.toBeNull();
    }
  });

  test('2-D 5-point stencil on a flattened grid', async () => {
    const { byName } = await reads(
      '  // @parallel\n  for (let y = 1; y < H - 1; y++) {\n    // @parallel\n    for (let x = 1; x < W - 1; x++) {\n      b[y * W + x] = c[y * W + x - 1] + c[y * W + x + 1] + c[(y - 1) * W + x] + c[(y + 1) * W + x];\n    }\n  }',
      '(b: Float64Array, c: Float64Array, H: i32, W: i32)',
    );
    expect(byName('c')).toMatchObject({ exclusiveRead: 'no', strategy: 'gather' });
  });

  test('dense layer: the input vector is read by every output (no), each weight once (yes)', async () => {
    const { byName } = await reads(
      '  // @parallel\n  for (let o = 0; o < nOut; o++) {\n    let acc = 0;\n    for (let i = 0; i < nIn; i++) {\n      acc += w[o * nIn + i] * x[i];\n    }\n    y[o] = acc;\n  }',
      '(y: Float64Array, w: Float64Array, x: Float64Array, nOut: i32, nIn: i32)',
    );
    expect(byName('x')).toMatchObject({ exclusiveRead: 'no', strategy: 'gather' });
    expect(byName('w').exclusiveRead).toBe('yes');
  });

  test('softmax rows: reads only inside the row loops are exclusive', async () => {
    const { byName } = await reads(
      '  // @parallel\n  for (let r = 0; r < rows; r++) {\n    let s = 0;\n    for (let j = 0; j < cols; j++) {\n      s += Math.exp(x[r * cols + j]);\n    }\n    for (let j = 0; j < cols; j++) {\n      y[r * cols + j] = Math.exp(x[r * cols + j]) / s;\n    }\n  }',
      '(y: Float64Array, x: Float64Array, rows: i32, cols: i32)',
    );
    expect(byName('x')).toMatchObject({ exclusiveRead: 'yes', strategy: 'direct' });
  });

  test('softmax rows reading the row start outside a loop: exclusive iff the row length is positive', async () => {
    const { byName } = await reads(
      '  // @parallel\n  for (let r = 0; r < rows; r++) {\n    let s = x[r * cols];\n    for (let j = 0; j < cols; j++) {\n      s += Math.exp(x[r * cols + j]);\n    }\n    for (let j = 0; j < cols; j++) {\n      y[r * cols + j] = Math.exp(x[r * cols + j]) / s;\n    }\n  }',
      '(y: Float64Array, x: Float64Array, rows: i32, cols: i32)',
    );
    expect(byName('x')).toMatchObject({ exclusiveRead: 'depends', condition: 'cols >= 1' });
  });

  test('non-affine reads through an index array are unknown (atomic), with a warning', async () => {
    const { byName, r } = await reads(
      '  // @parallel\n  for (let i = 0; i < n; i++) {\n    b[i] = c[idx[i]];\n  }',
      '(b: Float64Array, c: Float64Array, idx: Int32Array, n: i32)',
    );
    expect(byName('c')).toMatchObject({ exclusiveRead: 'unknown', strategy: 'atomic' });
    expect(r.diagnostics.map((d) => d.code)).toContain('PARAD2003');
  });
});

describe('pragmas', () => {
  test('exclusive-read(idx) is assumed for reads through a permutation', async () => {
    const { byName, r } = await reads(
      '  // @parallel exclusive-read(idx)\n  for (let i = 0; i < n; i++) {\n    b[i] = c[idx[i]];\n  }',
      '(b: Float64Array, c: Float64Array, idx: Int32Array, n: i32)',
    );
    expect(byName('c')).toMatchObject({ exclusiveRead: 'yes', assumed: true, strategy: 'direct' });
    expect(r.diagnostics).toEqual([]);
  });

  test('adjoint=atomic forces the strategy but not the verdict', async () => {
    const { byName } = await reads(
      '  // @parallel adjoint=atomic\n  for (let i = 1; i < n - 1; i++) {\n    b[i] = c[i - 1] + c[i + 1];\n  }',
    );
    const c = byName('c');
    expect(c).toMatchObject({ strategy: 'atomic', assumed: false });
    expect(c.exclusiveRead).not.toBe('yes');
  });
});

describe('parallel-correctness check', () => {
  test('two iterations writing one element is an error with a witness', async () => {
    const { r } = await reads('  // @parallel\n  for (let i = 0; i < n; i++) {\n    b[0] = c[i];\n  }');
    const d = r.diagnostics.find((x) => x.code === 'PARAD2001');
    expect(d?.severity).toBe('error');
    expect(d?.message).toMatch(/iterations i=\d+ and i=\d+ both write b\[0\]/);
    expect(d?.line).toBe(5);
  });

  test('one iteration reading what another writes is an error', async () => {
    const { r } = await reads('  // @parallel\n  for (let i = 0; i < n - 1; i++) {\n    b[i] = b[i + 1] * c[i];\n  }');
    expect(r.diagnostics.map((d) => d.code)).toContain('PARAD2001');
  });

  test('in-place updates and disjoint flattened writes are parallel', async () => {
    const { r } = await reads(
      '  // @parallel\n  for (let y = 0; y < H; y++) {\n    // @parallel\n    for (let x = 0; x < W; x++) {\n      b[y * W + x] = 2 * b[y * W + x] + c[y * W + x];\n    }\n  }',
      '(b: Float64Array, c: Float64Array, H: i32, W: i32)',
    );
    expect(r.diagnostics).toEqual([]);
  });
});

describe('what the fast paths must not claim', () => {
  test('rows that overlap (j up to n inclusive) are not exclusive', async () => {
    const { byName } = await reads(
      '  // @parallel\n  for (let i = 0; i < n; i++) {\n    for (let j = 0; j <= n; j++) {\n      b[i] += c[i * n + j];\n    }\n  }',
    );
    const c = byName('c');
    expect(c.exclusiveRead).not.toBe('yes');
    expect(c.witness).not.toBeNull();
  });

  test('a transposed read c[j*n + i] is exclusive (the solver proves it)', async () => {
    const { byName } = await reads(
      '  // @parallel\n  for (let i = 0; i < n; i++) {\n    for (let j = 0; j < size; j++) {\n      b[i] += c[j * n + i];\n    }\n  }',
    );
    expect(byName('c').exclusiveRead).toBe('yes');
  });
});

describe('a conflict the unguarded reads make for sure', () => {
  // maxPoolBranch1d: `x[2 * i + k]` sits under a data-dependent branch, `x[2 * i]` does not. Which
  // conflict the solver found first used to decide between `no` (two unguarded reads) and
  // `unknown` (one under the branch, "may happen"), run to run; the verdict is `no` whenever the
  // unguarded reads conflict on their own.
  test('a running max under a branch: x is `no`, with a witness of reads that happen', async () => {
    for (const K of ['K', '5']) {
      const { byName } = await reads(
        `  // @parallel\n  for (let i = 0; i < n; i++) {\n    let m = c[2 * i];\n    for (let k = 1; k < ${K}; k++) {\n      if (c[2 * i + k] > m) {\n        m = c[2 * i + k];\n      }\n    }\n    b[i] = m;\n  }`,
        '(b: Float64Array, c: Float64Array, n: i32, K: i32)',
      );
      const c = byName('c');
      expect(c.exclusiveRead, c.reason).toBe('no');
      expect(c.reason).not.toMatch(/may happen/);
    }
  });
});
