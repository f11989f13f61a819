/**
 * Adjoint strategies (schedule/): every fixture kernel with every strategy forced passes the
 * dot-product test against its tangent in f64, and the generated code has the strategy's structure
 * (a gather loop over the adjoint's elements, private copies and a tree reduction). Targeted
 * kernels exercise the parts of the gather: strides and divisibility, negative coefficients, sums
 * over non-invertible indices, delinearized multi-D indices, run-time conditions, versioning.
 */
import { describe, expect, test } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { compile, type CompileResult } from '../transformer/index.js';
import type { Strategy } from '../transformer/analysis/exclusive/index.js';
import { checkAdjoint } from '../testing/index.js';
import { loadGenerated, compileAndLoad } from './support/load.js';
import { specs } from '../fixtures/specs.js';
import { argsFor } from './support/fixture-args.js';

const root = path.resolve(import.meta.dirname, '..');
const dirs = [...new Set(specs.map((s) => s.file))].sort();
const FORCED: Strategy[] = ['direct', 'gather', 'reduction', 'atomic'];

const compiled = new Map<string, CompileResult>();
for (const dir of dirs) {
  const source = fs.readFileSync(path.join(root, `fixtures/${dir}/${dir}.ts`), 'utf8');
  for (const strategy of FORCED)
    compiled.set(
      `${dir}/${strategy}`,
      await compile(source, { fileName: `fixtures/${dir}/${dir}.ts`, format: 'js', strategy }),
    );
}

describe.each(FORCED)('every fixture kernel with adjoint=%s', (strategy) => {
  test.each(dirs)('%s', (dir) => {
    const r = compiled.get(`${dir}/${strategy}`)!;
    expect(r.code, r.diagnostics.map((d) => d.message).join('\n')).toBeDefined();
    const mod = loadGenerated(r.code!);
    for (const spec of specs.filter((s) => s.file === dir)) {
      const args = argsFor(spec, mod.__parad.kernels[spec.kernel].params);
      const a = checkAdjoint(mod, spec.kernel, args, { seed: 5 });
      expect(a.ok, `${spec.kernel}: ${JSON.stringify(a)}`).toBe(true);
    }
    // every read reports the strategy it got, or why it fell back
    for (const k of r.analysis.kernels) {
      for (const l of k.loops)
        for (const read of l.reads) {
          if (read.strategy !== strategy) expect(read.reason, `${k.name}.${read.name}`).toMatch(/cannot be used/);
        }
    }
  });
});

test('the forced strategies have their structure in the generated code', () => {
  const code = (dir: string, s: Strategy) => compiled.get(`${dir}/${s}`)!.code!;
  for (const dir of ['conv2d', 'stencil1d', 'stencil2d', 'dense', 'mirror', 'pooling', 'heat']) {
    expect(code(dir, 'gather'), dir).toContain('gather (TF-MAD)');
    expect(code(dir, 'reduction'), dir).toContain('tree reduction');
    expect(code(dir, 'direct'), dir).not.toMatch(/gather \(TF-MAD\)|tree reduction/);
  }
});

test('analysis choices: gather for stencils, convolutions and shared vectors; reduction for scalars and fixed elements', async () => {
  const src = fs.readFileSync(path.join(root, 'fixtures/conv2d/conv2d.ts'), 'utf8');
  const r = await compile(src, { fileName: 'conv2d.ts', schedule: 'parallel' });
  const reads = r.analysis.kernels[0].loops[0].reads;
  expect(reads.map((x) => [x.name, x.targets!.ts!.strategy])).toEqual([
    ['bias', 'gather'],
    ['inp', 'gather'],
    ['w', 'gather'],
  ]);
  // the flipped filter: inpb's element (c, y, x) sums over f, ky, kx with oy = y - ky, ox = x - kx
  expect(r.code).toMatch(/const oy = _k\d+ - ky;/);
  expect(r.code).toMatch(/const ox = _k\d+ - kx;/);
  expect(r.code).toMatch(/for \(let _k\d+ = 0; _k\d+ < Math.ceil\(inpb.length \/ \(H \* W\)\); _k\d+\+\+\)/);
});

const header = "import type { f64, i32 } from 'parad';\n";
const kernelOf = (sig: string, body: string) => `${header}/** @kernel */\nexport function k${sig} {\n${body}\n}\n`;

async function gathered(src: string, args: Record<string, Float64Array | number>[], expectGather = true) {
  const r = await compile(src, { fileName: 'k.ts', format: 'js', strategy: 'gather' });
  expect(r.code, r.diagnostics.map((d) => d.message).join('\n')).toBeDefined();
  if (expectGather) expect(r.code).toContain('gather (TF-MAD)');
  const mod = loadGenerated(r.code!);
  for (const a of args) {
    const res = checkAdjoint(mod, 'k', a, { seed: 3 });
    expect(res.ok, `${JSON.stringify(res)}\n${r.code}`).toBe(true);
  }
  return r;
}

const rand = (n: number, seed = 1) => {
  let s = seed;
  return Float64Array.from({ length: n }, () => 0.2 + (s = (s * 16807) % 2147483647) / 2147483647);
};

describe('gather (TF-MAD)', () => {
  test('strided windows: divisibility guards (x[3*i + k], stride 3, window 5)', async () => {
    const src = kernelOf(
      '(y: Float64Array, x: Float64Array, n: i32)',
      '  // @parallel\n  for (let i = 0; i < n; i++) {\n    let s = 0;\n    for (let k = 0; k < 5; k++) {\n      s += x[3 * i + k] * x[3 * i + k];\n    }\n    y[i] = s;\n  }',
    );
    const r = await gathered(src, [
      { y: rand(6), x: rand(20, 2), n: 6 },
      { y: rand(3), x: rand(20, 3), n: 3 },
    ]);
    expect(r.code).toMatch(/% 3 === 0/);
  });

  test('negative coefficients and loop steps (mirror, step 2, down-counting)', async () => {
    const src = kernelOf(
      '(y: Float64Array, x: Float64Array, n: i32)',
      '  // @parallel\n  for (let i = n - 1; i >= 1; i -= 2) {\n    y[i] = x[n - i] * x[i - 1] + x[i];\n  }',
    );
    await gathered(src, [
      { y: rand(9), x: rand(9, 4), n: 9 },
      { y: rand(8), x: rand(8, 5), n: 8 },
    ]);
  });

  test('sums over nest variables the index does not determine (dense: xb = Wᵀ·s)', async () => {
    const src = kernelOf(
      '(y: Float64Array, W: Float64Array, x: Float64Array, m: i32, n: i32)',
      '  // @parallel\n  for (let o = 0; o < m; o++) {\n    let s = 0;\n    for (let k = 0; k < n; k++) {\n      s += W[o * n + k] * x[k];\n    }\n    y[o] = Math.tanh(s);\n  }',
    );
    const r = await gathered(src, [{ y: rand(4), W: rand(20, 6), x: rand(5, 7), m: 4, n: 5 }]);
    expect(r.analysis.kernels[0].loops[0].reads.find((x) => x.name === 'x')!.strategy).toBe('gather');
  });

  test('a delinearization that holds only for some arguments is checked at run time', async () => {
    // OW is a parameter: columns ox + kx stay inside a row only when OW + K - 1 <= W
    const src = kernelOf(
      '(out: Float64Array, inp: Float64Array, H: i32, W: i32, OW: i32, K: i32)',
      '  const OH = H - K + 1;\n  // @parallel\n  for (let oy = 0; oy < OH; oy++) {\n    // @parallel\n    for (let ox = 0; ox < OW; ox++) {\n      let s = 0;\n      for (let ky = 0; ky < K; ky++) {\n        for (let kx = 0; kx < K; kx++) {\n          s += inp[(oy + ky) * W + ox + kx];\n        }\n      }\n      out[oy * OW + ox] = s * s;\n    }\n  }',
    );
    const r = await gathered(src, [
      { out: rand(12), inp: rand(40, 8), H: 5, W: 6, OW: 4, K: 3 }, // inside the rows: the gather runs
      { out: rand(15), inp: rand(40, 9), H: 5, W: 6, OW: 5, K: 3 }, // windows wrap into the next row: the scatter runs
    ]);
    expect(r.code).toMatch(/if \([^)]*W[^)]*>= 0\) \{/);
  });

  test('2-D pooling with strides on both axes', async () => {
    const src = kernelOf(
      '(out: Float64Array, x: Float64Array, OH: i32, OW: i32)',
      '  const W = 2 * OW;\n  // @parallel\n  for (let oy = 0; oy < OH; oy++) {\n    // @parallel\n    for (let ox = 0; ox < OW; ox++) {\n      const a = x[2 * oy * W + 2 * ox] + x[2 * oy * W + 2 * ox + 1];\n      const b = x[(2 * oy + 1) * W + 2 * ox] + x[(2 * oy + 1) * W + 2 * ox + 1];\n      out[oy * OW + ox] = a * b;\n    }\n  }',
    );
    await gathered(src, [{ out: rand(6), x: rand(24, 10), OH: 2, OW: 3 }]);
  });

  test('versioned: the direct version when the condition holds, the gather otherwise', async () => {
    const src = kernelOf(
      '(b: Float64Array, c: Float64Array, size: i32, n: i32)',
      '  // @parallel\n  for (let i = size; i < n - size; i++) {\n    b[i] = 0;\n    for (let j = i - size; j <= i + size; j++) {\n      b[i] = b[i] + c[j];\n    }\n  }',
    );
    const r = await compile(src, { fileName: 'k.ts', format: 'js', schedule: 'parallel' });
    const c = r.analysis.kernels[0].loops[0].reads.find((x) => x.name === 'c')!;
    expect(c).toMatchObject({ exclusiveRead: 'depends', strategy: 'versioned', condition: 'size <= 0' });
    expect(r.code).toContain('if (size <= 0) {');
    expect(r.code).toContain('gather (TF-MAD)');
    const mod = loadGenerated(r.code!);
    for (const size of [0, 2]) expect(checkAdjoint(mod, 'k', { b: rand(9), c: rand(9, 11), size, n: 9 }).ok).toBe(true);
  });

  test('an update that needs a value the iteration keeps changing: staged per inner iteration, and said so', async () => {
    const src = kernelOf(
      '(y: Float64Array, coef: Float64Array, x: Float64Array, deg: i32, n: i32)',
      '  // @parallel\n  for (let i = 0; i < n; i++) {\n    let acc = coef[deg];\n    for (let d = deg - 1; d >= 0; d--) {\n      acc = acc * x[i] + coef[d];\n    }\n    y[i] = acc;\n  }',
    );
    const r = await gathered(src, [{ y: rand(5), coef: rand(4, 12), x: rand(5, 13), deg: 3, n: 5 }]);
    const coef = r.analysis.kernels[0].loops[0].reads.find((x) => x.name === 'coef')!;
    expect(coef.strategy).toBe('gather');
    expect(coef.reason).toMatch(/staged per inner iteration \(accb changes inside the loop/);
    // unforced, every iteration updating each coefficient: private copies, on the GPU too
    const gpu = await compile(src.replaceAll('Float64Array', 'Float32Array'), {
      fileName: 'k.ts',
      targets: ['ts', 'wgsl'],
      schedule: 'parallel',
    });
    const read = gpu.analysis.kernels[0].loops[0].reads.find((x) => x.name === 'coef')!;
    for (const t of ['ts', 'wgsl'] as const) {
      expect(read.targets![t]!.strategy).toBe('reduction');
      expect(read.targets![t]!.reason).toMatch(/every iteration updates each element of coefb/);
    }
  });

  test('... unless the inner loop runs different trips per iteration: a reduction, and why', async () => {
    const src = kernelOf(
      '(y: Float64Array, coef: Float64Array, x: Float64Array, n: i32)',
      '  // @parallel\n  for (let i = 0; i < n; i++) {\n    let acc = coef[0];\n    for (let d = 1; d <= i; d++) {\n      acc = acc * x[i] + coef[d];\n    }\n    y[i] = acc;\n  }',
    );
    const r = await gathered(src, [{ y: rand(5), coef: rand(5, 12), x: rand(5, 13), n: 5 }], false);
    const coef = r.analysis.kernels[0].loops[0].reads.find((x) => x.name === 'coef')!;
    expect(coef.strategy).toBe('reduction');
    expect(coef.reason).toMatch(
      /gather cannot be used \(accb changes inside the loop .*; staging per inner iteration: the trips of the loop over d \(line \d+\) depend on i\)/,
    );
  });
});

describe('reduction', () => {
  test('a scalar read by every iteration: private copies and a tree', async () => {
    const mod = await compileAndLoad(
      kernelOf(
        '(y: Float64Array, x: Float64Array, a: f64, n: i32)',
        '  // @parallel\n  for (let i = 0; i < n; i++) {\n    y[i] = a * Math.sin(x[i]);\n  }',
      ),
      { fileName: 'k.ts', schedule: 'parallel' },
    );
    // 37 iterations over 16 blocks: uneven blocks
    for (const n of [1, 5, 37]) expect(checkAdjoint(mod, 'k', { y: rand(n), x: rand(n, 2), a: 0.7, n }).ok).toBe(true);
    expect(String(mod.k_b)).toContain('tree reduction');
  });
});

describe('the schedule phase', () => {
  const stencil = kernelOf(
    '(y: Float64Array, x: Float64Array, a: f64, n: i32)',
    '  // @parallel\n  for (let i = 1; i < n - 1; i++) {\n    y[i] = a * (x[i - 1] + x[i] + x[i + 1]);\n  }',
  );

  test('JavaScript runs nests in order: plain updates, no staging or private copies; the report gives each target its decision', async () => {
    const r = await compile(stencil, { fileName: 'k.ts', format: 'js' });
    expect(r.code).not.toMatch(/gather|new Float64Array|tree reduction/);
    expect(r.code).toMatch(/xb\[i - 1\] \+= /);
    const reads = Object.fromEntries(
      r.analysis.kernels[0].loops[0].reads.map((x) => [
        x.name,
        [x.strategy, x.targets!.ts!.strategy, x.targets!.wgsl!.strategy],
      ]),
    );
    expect(reads).toEqual({ a: ['reduction', 'direct', 'reduction'], x: ['gather', 'direct', 'gather'] });
    expect(r.analysis.kernels[0].loops[0].reads[1].targets!.ts!.reason).toMatch(/sequential target/);
    const mod = loadGenerated(r.code!);
    for (const n of [2, 3, 17]) expect(checkAdjoint(mod, 'k', { y: rand(n), x: rand(n, 2), a: 0.7, n }).ok).toBe(true);
  });

  test('pure: forced strategies and other targets leave the analysis of later compiles as it was', async () => {
    const fresh = await compile(stencil, { fileName: 'k.ts' });
    await compile(stencil, { fileName: 'k.ts', strategy: 'reduction', targets: ['ts', 'wgsl'] });
    await compile(stencil, { fileName: 'k.ts', strategy: 'atomic', schedule: 'parallel' });
    expect((await compile(stencil, { fileName: 'k.ts' })).analysis).toEqual(fresh.analysis);
  });

  test('a fallback says why in the decision, not in the analysis', async () => {
    const r = await compile(stencil, { fileName: 'k.ts', strategy: 'gather' });
    const a = r.analysis.kernels[0].loops[0].reads.find((x) => x.name === 'a')!;
    expect(a.targets!.wgsl).toMatchObject({ strategy: 'reduction' });
    expect(a.targets!.wgsl!.reason).toMatch(/gather cannot be used \(a is a scalar\): reduction/);
  });
});
