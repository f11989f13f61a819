/**
 * Parallel scalar reductions (ir/reduction.ts, docs/kernel-language.md#reductions): the adjoints of
 * `*=`, Math.max and Math.min reductions where the fixtures' random inputs never go (zero factors,
 * ties), nests inside sequential loops (what the forward sweep records goes on the tape), 2-D nests,
 * and the JavaScript adjoint scheduled as for a parallel machine.
 */
import { beforeAll, describe, expect, test } from 'vitest';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { compile } from '../transformer/index.js';
import { compileAndLoad } from './support/load.js';
import { checkAdjoint, checkTangent } from '../testing/index.js';

const header = "import type { f64, i32 } from 'parad';\n";
type Fn = (...a: unknown[]) => unknown;

const product = `${header}
/** @kernel */
export function prod(x: Float64Array, n: i32): f64 {
  let p = 2;
  // @parallel
  for (let i = 0; i < n; i++) p *= x[i];
  return p;
}
`;

describe('a *= reduction: the adjoint of each factor is the product of the others', () => {
  const grad = (x: number[]) => x.map((_, i) => 2 * x.reduce((a, y, j) => (j === i ? a : a * y), 1));
  for (const x of [
    [0.5, 2, 3, 0.25],
    [0.5, 0, 3, 0.25],
    [0, 2, 0, 0.25],
  ]) {
    test(`x = [${x}]`, async () => {
      const mod = await compileAndLoad(product);
      const xb = new Float64Array(4);
      (mod.prod_b as Fn)(Float64Array.from(x), xb, 4, 1);
      const want = grad(x);
      for (let i = 0; i < 4; i++) expect(xb[i]).toBeCloseTo(want[i], 12);
      expect(checkAdjoint(mod, 'prod', { x: Float64Array.from(x), n: 4 }).ok).toBe(true);
      // the tangent (what K_d on WebGPU is checked against below): finite differences, zeros included
      expect(checkTangent(mod, 'prod', { x: Float64Array.from(x), n: 4 }).ok).toBe(true);
    });
  }
});

describe('Math.max / Math.min reductions route the adjoint to the extremum, ties broken as in the sequential loop', () => {
  const src = `${header}
/** @kernel */
export function mx(x: Float64Array, n: i32): f64 {
  let m = x[0];
  // @parallel
  for (let i = 1; i < n; i++) m = Math.max(m, x[i]);
  return m;
}
/** @kernel */
export function mn2(x: Float64Array, H: i32, W: i32): f64 {
  let m = 100;
  // @parallel
  for (let r = 0; r < H; r++) {
    // @parallel
    for (let c = 0; c < W; c++) {
      m = Math.min(x[r * W + c] * 2, m);
    }
  }
  return m;
}
`;
  const cases: [string, number[], number][] = [
    ['a unique max', [0.1, 0.7, 0.3, 0.2], 1],
    ['ties: the first iteration', [0.1, 0.7, 0.3, 0.7], 1],
    ['a tie with the initial value', [0.7, 0.2, 0.7, 0.1], 0],
  ];
  test.each(cases)('%s', async (_n, x, at) => {
    const mod = await compileAndLoad(src);
    const xb = new Float64Array(4);
    (mod.mx_b as Fn)(Float64Array.from(x), xb, 4, 1);
    expect(Array.from(xb)).toEqual(x.map((_, i) => (i === at ? 1 : 0)));
    expect(checkAdjoint(mod, 'mx', { x: Float64Array.from(x), n: 4 }).ok).toBe(true);
  });
  test('a 2-D nest, the reduced scalar second in Math.min: the last of tied iterations', async () => {
    const mod = await compileAndLoad(src);
    const x = Float64Array.from([0.5, 0.3, 0.9, 0.3, 0.4, 0.8]);
    const xb = new Float64Array(6);
    (mod.mn2_b as Fn)(x, xb, 2, 3, 1);
    expect(Array.from(xb)).toEqual([0, 0, 0, 2, 0, 0]);
    expect(checkAdjoint(mod, 'mn2', { x, H: 2, W: 3 }).ok).toBe(true);
    // finite differences away from the tie
    expect(checkTangent(mod, 'mn2', { x: Float64Array.from([0.5, 0.3, 0.9, 0.35, 0.4, 0.8]), H: 2, W: 3 }).ok).toBe(
      true,
    );
  });
});

test('reductions inside a sequential loop: what their adjoints need goes on the tape', async () => {
  const src = `${header}
/** @kernel */
export function steps(y: Float64Array, x: Float64Array, n: i32, T: i32): f64 {
  let total = 0;
  for (let t = 0; t < T; t++) {
    let m = y[t];
    // @parallel
    for (let i = 0; i < n; i++) m = Math.max(m, x[i] * (t + 1) - x[(i + t) % n]);
    let p = 1;
    // @parallel
    for (let i = 0; i < n; i++) {
      p *= x[i] + t;
      x[i] = x[i] * 0.9 + 0.1 * m;
    }
    total += m * p;
  }
  return total;
}
`;
  const mod = await compileAndLoad(src);
  expect(String(mod.steps_b)).toContain('tape.pop()');
  const args = { y: Float64Array.from([0.3, 0.1, 0.9]), x: Float64Array.from([0.4, 0.9, 0.2, 0.6, 0.5]), n: 5, T: 3 };
  expect(checkTangent(mod, 'steps', args).ok).toBe(true);
  expect(checkAdjoint(mod, 'steps', args).ok).toBe(true);
});

test("the fixtures' reductions with the JavaScript adjoint scheduled as on a parallel machine", async () => {
  const load = (dir: string) => {
    const file = `fixtures/${dir}/${dir}.ts`;
    return compileAndLoad(fs.readFileSync(path.resolve(import.meta.dirname, '..', file), 'utf8'), {
      fileName: file,
      schedule: 'parallel',
    });
  };
  const mods = { reductions: await load('reductions'), extrema: await load('extrema') };
  const rnd = (n: number) => Float64Array.from({ length: n }, (_, i) => 0.2 + ((i * 7919) % 13) / 13);
  const cases: [keyof typeof mods, string, Record<string, unknown>][] = [
    ['reductions', 'crossEntropy', { z: rnd(20), labels: Int32Array.from([3, 0, 4, 3]), B: 4, C: 5 }],
    ['reductions', 'sumSquaresPar', { x: rnd(9), n: 9 }],
    ['extrema', 'maxPar', { x: rnd(9), n: 9 }],
    ['extrema', 'productPar', { out: rnd(9), x: rnd(9), n: 9 }],
  ];
  for (const [dir, k, args] of cases) expect(checkAdjoint(mods[dir], k, args as never).ok, k).toBe(true);
});

/**
 * The same reductions on WebGPU (dawn.node over SwiftShader, in a child process:
 * support/gpu-fuzz-run.mjs, which runs support/gpu-check.mjs's checks): K and K_d against
 * JavaScript, K_b against JavaScript with the analysis' strategies and each one forced, and the
 * dot-product test with K_d and K_b both on the GPU, on data where the fixtures' random inputs never
 * go: zero factors of a product (one, two, in another workgroup than the others), several elements
 * tied for the max or the min (within a workgroup, across workgroups, with the initial value), and
 * both inside a sequential loop (what the adjoint records per time step goes on the device's tape,
 * lower/gpu/records.ts; the max's K_b used to route every step's adjoint by the last step's winner).
 * JavaScript's results there are exact (the tests above: the product of the other factors, the
 * tie rule of the sequential loop), so GPU == JavaScript is GPU == the analytic derivative.
 */
describe('on WebGPU: *= with zero factors, max/min with ties', () => {
  const src32 = `import type { f32, i32 } from 'parad';
/** @kernel */
export function prod(x: Float32Array, n: i32): f32 {
  let p = 2;
  // @parallel
  for (let i = 0; i < n; i++) p *= x[i];
  return p;
}
/** @kernel */
export function prodOut(out: Float32Array, x: Float32Array, a: f32, n: i32): f32 {
  let p = a;
  // @parallel
  for (let i = 0; i < n; i++) {
    out[i] = x[i] * a;
    p *= x[i] * (1 + 0.01 * i);
  }
  return p * a;
}
/** @kernel */
export function prod2(x: Float32Array, H: i32, W: i32): f32 {
  let p = 1;
  // @parallel
  for (let r = 0; r < H; r++) {
    // @parallel
    for (let c = 0; c < W; c++) {
      p *= x[r * W + c];
    }
  }
  return p;
}
/** @kernel */
export function prodSteps(y: Float32Array, x: Float32Array, n: i32, T: i32): f32 {
  let total = 0;
  for (let t = 0; t < T; t++) {
    let p = 1;
    // @parallel
    for (let i = 0; i < n; i++) {
      p *= x[i] + y[t];
    }
    total += p * (t + 1);
  }
  return total;
}
/** @kernel */
export function mxSteps(y: Float32Array, x: Float32Array, n: i32, T: i32): f32 {
  let total = 0;
  for (let t = 0; t < T; t++) {
    let m = y[t];
    // @parallel
    for (let i = 0; i < n; i++) m = Math.max(m, x[i] * (t + 1));
    total += m;
  }
  return total;
}
/** @kernel */
export function mxWrites(y: Float32Array, x: Float32Array, n: i32): f32 {
  let m = 0.5;
  // @parallel
  for (let i = 0; i < n; i++) {
    const t = x[i] * y[i];
    y[i] = t * t + 0.1;
    m = Math.max(m, t);
  }
  return m + y[1];
}
/** @kernel */
export function mx(x: Float32Array, n: i32): f32 {
  let m = x[0];
  // @parallel
  for (let i = 1; i < n; i++) m = Math.max(m, x[i]);
  return m;
}
/** @kernel */
export function mxLast(x: Float32Array, a: f32, n: i32): f32 {
  let m = a;
  // @parallel
  for (let i = 0; i < n; i++) m = Math.max(x[i] * x[i], m);
  return m * 2;
}
/** @kernel */
export function mn(x: Float32Array, a: f32, n: i32): f32 {
  let m = a;
  // @parallel
  for (let i = 0; i < n; i++) m = Math.min(m, x[i] - 1);
  return m;
}
`;
  const near1 = (n: number, at: Record<number, number> = {}) =>
    Array.from({ length: n }, (_, i) => at[i] ?? 0.9 + (0.2 * ((i * 37) % 11)) / 11);
  const tied = (n: number, v: number, at: number[]) =>
    Array.from({ length: n }, (_, i) => (at.includes(i) ? v : 0.1 + 0.5 * (((i * 37) % 11) / 11)));
  type Spec = { kernel: string; tag: string; args: Record<string, number[] | number> };
  const specs: Spec[] = [
    { kernel: 'prod', tag: 'no zero', args: { x: [0.5, 2, 3, 0.25], n: 4 } },
    { kernel: 'prod', tag: 'one zero', args: { x: [0.5, 0, 3, 0.25], n: 4 } },
    { kernel: 'prod', tag: 'two zeros', args: { x: [0, 2, 0, 0.25], n: 4 } },
    { kernel: 'prod', tag: '200, a zero in the third workgroup', args: { x: near1(200, { 150: 0 }), n: 200 } },
    { kernel: 'prod', tag: '200, zeros in two workgroups', args: { x: near1(200, { 3: 0, 150: 0 }), n: 200 } },
    { kernel: 'prodOut', tag: '150, no zero', args: { out: near1(150), x: near1(150), a: 0.8, n: 150 } },
    { kernel: 'prodOut', tag: '150, one zero', args: { out: near1(150), x: near1(150, { 77: 0 }), a: 0.8, n: 150 } },
    { kernel: 'prod2', tag: '2-D, one zero', args: { x: near1(60, { 31: 0 }), H: 6, W: 10 } },
    { kernel: 'prod2', tag: '2-D, no zero', args: { x: near1(60), H: 6, W: 10 } },
    {
      kernel: 'prodSteps',
      tag: 'a zero factor in one time step',
      args: { y: [0.1, -0.5, 0.3], x: [0.2, 0.5, 0.9, 0.7, 1.1], n: 5, T: 3 },
    },
    {
      kernel: 'mxSteps',
      tag: 'a new max in every step',
      args: { y: [0.3, 2.5, 0.9], x: [0.4, 0.9, 0.2, 0.6, 0.5], n: 5, T: 3 },
    },
    {
      kernel: 'mxWrites',
      tag: 'locals reading an array the loop writes, ties',
      args: { y: near1(150), x: tied(150, 3, [20, 90, 140]), n: 150 },
    },
    { kernel: 'mx', tag: 'ties in a workgroup', args: { x: tied(40, 2, [5, 9, 30]), n: 40 } },
    { kernel: 'mx', tag: 'ties across workgroups', args: { x: tied(300, 2, [70, 150, 299]), n: 300 } },
    { kernel: 'mx', tag: 'a tie with the initial value', args: { x: tied(300, 2, [0, 130, 260]), n: 300 } },
    { kernel: 'mxLast', tag: 'ties (the latest wins)', args: { x: tied(300, 1.5, [2, 64, 200]), a: 0.1, n: 300 } },
    { kernel: 'mxLast', tag: 'ties with the initial value', args: { x: tied(300, 1.5, [2, 200]), a: 2.25, n: 300 } },
    { kernel: 'mn', tag: 'ties', args: { x: tied(300, 0, [7, 8, 255]), a: 0.5, n: 300 } },
    { kernel: 'mn', tag: 'the initial value wins the tie', args: { x: tied(300, 0, [7, 255]), a: -1, n: 300 } },
  ];
  let report: {
    canRun: boolean;
    cases: Record<
      string,
      {
        diagnostics: { code: string; message: string }[];
        tint: { fn: string; pass: number; errors: string[] }[];
        runs: { fn: string; tag: string; errors: Record<string, number>; failure?: string }[];
        adjoints?: {
          fn: string;
          tag: string;
          strategy: string | null;
          errors: Record<string, number>;
          failure?: string;
          dot?: { rel: number };
        }[];
        failure?: string;
      }
    >;
  };
  beforeAll(async () => {
    const kernels = (await compile(src32, { fileName: 'red.ts', targets: ['ts'] })).kernels;
    const types = Object.fromEntries(
      kernels.map((k) => [k.name, Object.fromEntries(k.params.map((p) => [p.name, p.type]))]),
    );
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parad-red-gpu-'));
    const cases = path.join(dir, 'cases.json'),
      out = path.join(dir, 'report.json');
    fs.writeFileSync(
      cases,
      JSON.stringify([
        { name: 'reductions', source: src32, specs: specs.map((s) => ({ ...s, types: types[s.kernel] })) },
      ]),
    );
    execFileSync(process.execPath, [path.resolve(import.meta.dirname, 'support/gpu-fuzz-run.mjs')], {
      env: { ...process.env, PARAD_GPU_CASES: cases, PARAD_GPU_OUT: out },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    report = JSON.parse(fs.readFileSync(out, 'utf8'));
  }, 600_000);

  test('K, K_d and K_b all have WGSL versions and compile', () => {
    const entry = report.cases.reductions;
    expect(entry.failure).toBeUndefined();
    expect(entry.diagnostics.filter((d) => /PARAD300[12]/.test(d.code)).map((d) => d.message)).toEqual([]);
    for (const t of entry.tint) expect(t.errors, `${t.fn} pass ${t.pass}`).toEqual([]);
  });

  test('a max whose locals read an array the loop writes after the write: K_d and K_b in JavaScript (PARAD3002 says why)', async () => {
    const r = await compile(
      `import type { f32, i32 } from 'parad';
/** @kernel */
export function late(y: Float32Array, x: Float32Array, n: i32): f32 {
  let m = 0;
  // @parallel
  for (let i = 0; i < n; i++) {
    y[i] = x[i] * 2;
    const t = y[i] + 1;
    m = Math.max(m, t);
  }
  return m;
}
`,
      { fileName: 'late.ts', targets: ['ts', 'wgsl'] },
    );
    expect(r.diagnostics.filter((d) => d.code === 'PARAD3002').map((d) => d.message)).toEqual([
      expect.stringMatching(
        /late_d and late_b of 'late' have no WGSL version: .*its locals read 'yd?' after the loop writes it/,
      ),
    ]);
  });

  test.each(specs.map((s) => [s.kernel, s.tag] as const))('%s, %s: the GPU matches JavaScript', (kernel, tag) => {
    if (!report.canRun) return;
    const entry = report.cases.reductions;
    const runs = entry.runs.filter((r) => r.fn.replace(/_d$/, '') === kernel && r.tag === tag);
    const adjoints = (entry.adjoints ?? []).filter((r) => r.fn === `${kernel}_b` && r.tag === tag);
    // K, K_d; K_b with the analysis' strategies and each of the 4 forced
    expect(runs.map((r) => r.fn).sort()).toEqual([kernel, `${kernel}_d`]);
    expect(adjoints).toHaveLength(5);
    for (const r of [...runs, ...adjoints]) {
      const what = `${r.fn}${'strategy' in r && r.strategy ? ` (${r.strategy})` : ''}`;
      expect(r.failure, what).toBeUndefined();
      for (const [k, e] of Object.entries(r.errors)) expect(e, `${what}: ${k}`).toBeLessThanOrEqual(2e-4);
    }
    const dot = adjoints.find((r) => r.strategy === null)?.dot;
    expect(dot?.rel).toBeLessThanOrEqual(1e-4);
  });
});
