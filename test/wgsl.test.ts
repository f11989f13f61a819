/**
 * The WGSL backend on WebGPU (dawn.node, the npm `webgpu` package, over SwiftShader's Vulkan on
 * CPU-only machines; docs/wgsl.md): every fixture kernel, made 32-bit (Float32Array, f32), is
 * compiled with target wgsl. Every generated shader must compile with Tint; kernels the backend
 * lowers run K, K_d and K_b on the GPU through parad/runtime and must match the JavaScript module
 * (f32 tolerance), K_b with every adjoint strategy forced too, and pass the dot-product test on the
 * GPU; the others must get a clear PARAD3001 diagnostic.
 *
 * Every shader is also compiled by naga (Deno's WebGPU over Mesa's lavapipe), so the output is
 * portable beyond Dawn.
 *
 * dawn.node runs in a child process (test/support/webgpu-run.mjs, using the built dist/): it is
 * not stable inside vitest's workers. Without SwiftShader the shaders are validated (dawn's null
 * backend) but not run; with CI=true a missing SwiftShader is a failure, not a skip.
 */
import { beforeAll, describe, expect, test } from 'vitest';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { compile } from '../transformer/index.js';
import { specs } from '../fixtures/specs.js';
import { argsFor } from './support/fixture-args.js';
import { imports32, to32 } from './support/fixtures32.js';
import { REDUCE_WGSL } from '../runtime/gpu.js';

const root = path.resolve(import.meta.dirname, '..');
const dirs = fs
  .readdirSync(path.join(root, 'fixtures'), { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort();

/** Kernels the backend does not lower yet, with the reason it must give. */
const UNSUPPORTED: Record<string, RegExp> = {};

/** Kernels whose primal runs on the GPU while K_d and K_b run in JavaScript (PARAD3002), with the reason they give. */
const PRIMAL_ONLY: Record<string, RegExp> = {};
/** Kernels whose K and K_d run on the GPU while K_b runs in JavaScript (PARAD3002), with the reason they give. */
const NO_ADJOINT: Record<string, RegExp> = {};
const primalOnly = (message: string) =>
  [...Object.values(PRIMAL_ONLY), ...Object.values(NO_ADJOINT)].some((re) => re.test(message));

import { MATH_FUNCTIONS } from '../transformer/differentiate/rules.js';

interface Run {
  fn: string;
  kernel: string;
  tag: string | null;
  errors: Record<string, number>;
  failure?: string;
  strategy?: string | null;
  dot?: { lhs: number; rhs: number; rel: number };
}
interface Report {
  adapter: string;
  canRun: boolean;
  runtime?: {
    otherKernel: number;
    buffers: number;
    encode: number;
    adjointBuffers: number;
    adjointEncode: number;
    encodeKeys: string[];
    encodeScalars: number;
    callScalars: number;
    bigReduction: { error: number; strategy: string };
    folded: { n: number; error: number; last: boolean };
    errors: Record<string, string>;
    reuse: { firstCallBuffers: number; newBuffers: number; newPipelines: number };
  };
  /** per Math function: the worst relative error (to max(1, |js|)) over awkward inputs, where JS is finite */
  semantics?: Record<string, { err: number; x: number; z: number; js: number; gpu: number }>;
  /** heatRun_b with 5 slots on the GPU vs heatRunAll_b on the GPU and heatRun_b in JavaScript */
  checkpointed?: { vsStoreAll: number; vsJs: number; forwardSteps: number; expected: number; peakSlots: number };
  fixtures: Record<
    string,
    {
      diagnostics: { code: string; severity: string; message: string }[];
      tint: { fn: string; pass: number; errors: string[]; code?: string }[];
      runs: Run[];
      adjoints?: Run[];
      failure?: string;
    }
  >;
}
let report: Report;
const shaders: { fn: string; pass: number; code: string }[] = [];
let naga: { adapter: string | null; results: { fn: string; pass: number; errors: string[] }[]; failure?: string };

beforeAll(async () => {
  // inputs for every spec, from the 32-bit kernels' signatures
  const inputs: unknown[] = [];
  for (const dir of dirs) {
    const source = to32(fs.readFileSync(path.join(root, 'fixtures', dir, `${dir}.ts`), 'utf8'));
    const resolveImport = imports32(dir);
    const r = await compile(source, { fileName: `${dir}.ts`, targets: ['ts', 'wgsl'], resolveImport });
    shaders.push(...(r.shaders ?? []));
    // the adjoints with each strategy forced (their passes differ)
    for (const strategy of ['direct', 'gather', 'reduction', 'atomic'] as const) {
      const forced = await compile(source, {
        fileName: `${dir}.ts`,
        modes: ['b'],
        targets: ['ts', 'wgsl'],
        strategy,
        resolveImport,
      });
      shaders.push(
        ...(forced.shaders ?? [])
          .filter((x) => !shaders.some((y) => y.code === x.code))
          .map((x) => ({ ...x, fn: `${x.fn} (${strategy})` })),
      );
    }
    for (const spec of specs.filter((s) => s.file === dir)) {
      const meta = r.kernels.find((k) => k.name === spec.kernel);
      if (!meta) continue;
      const args = argsFor(spec, meta.params);
      inputs.push({
        file: dir,
        kernel: spec.kernel,
        tag: spec.tag ?? null,
        args: Object.fromEntries(Object.entries(args).map(([k, v]) => [k, typeof v === 'number' ? v : Array.from(v)])),
        types: Object.fromEntries(meta.params.map((p) => [p.name, p.type])),
      });
    }
  }
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'parad-gpu-')), 'specs.json');
  fs.writeFileSync(file, JSON.stringify(inputs));
  const reportFile = path.join(path.dirname(file), 'report.json');
  execFileSync(process.execPath, [path.join(root, 'test/support/webgpu-run.mjs')], {
    env: { ...process.env, PARAD_GPU_SPECS: file, PARAD_GPU_OUT: reportFile },
    maxBuffer: 64 << 20,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  report = JSON.parse(fs.readFileSync(reportFile, 'utf8')) as Report;
  // the second compiler: naga (Deno's WebGPU) over lavapipe, without SwiftShader's driver override
  shaders.push({ fn: 'parad/runtime reduce', pass: 0, code: REDUCE_WGSL });
  const shaderFile = path.join(path.dirname(file), 'shaders.json');
  fs.writeFileSync(shaderFile, JSON.stringify(shaders));
  const deno = path.join(root, 'node_modules/.bin/deno');
  const env: NodeJS.ProcessEnv = { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? path.dirname(file) };
  delete env.VK_ICD_FILENAMES;
  try {
    naga = JSON.parse(
      execFileSync(deno, ['run', '--allow-read', path.join(root, 'test/support/naga-validate.mjs'), shaderFile], {
        env,
        maxBuffer: 64 << 20,
        encoding: 'utf8',
      }),
    ) as typeof naga;
  } catch (e) {
    naga = { adapter: null, results: [], failure: String((e as Error).message) };
  }
}, 600_000);

test('SwiftShader runs the shaders (required in CI)', () => {
  if (process.env.CI) expect(report.canRun, 'no SwiftShader: apt-get install chromium libvulkan1').toBe(true);
  if (report.canRun) expect(report.adapter.toLowerCase()).toContain('swiftshader');
});

test('every shader also compiles with naga (Deno over lavapipe; required in CI)', () => {
  if (!naga.adapter) {
    if (process.env.CI)
      expect.fail(`no Deno WebGPU adapter (apt-get install mesa-vulkan-drivers): ${naga.failure ?? ''}`);
    return;
  }
  expect(naga.results.length).toBe(shaders.length);
  expect(shaders.length).toBeGreaterThan(50);
  for (const r of naga.results)
    expect(
      r.errors,
      `${r.fn} pass ${r.pass}:\n${shaders.find((s) => s.fn === r.fn && s.pass === r.pass)?.code}`,
    ).toEqual([]);
});

describe.each(dirs)('fixtures/%s on WebGPU', (dir) => {
  test('compiles, or says which kernel WGSL cannot run and why', () => {
    const f = report.fixtures[dir];
    for (const e of f.diagnostics.filter((d) => d.code === 'PARAD3001')) {
      const name = /kernel '(\w+)'/.exec(e.message)![1];
      expect(Object.keys(UNSUPPORTED), e.message).toContain(name);
      expect(e.message).toMatch(UNSUPPORTED[name]);
    }
    expect(f.diagnostics.filter((d) => d.severity === 'error' && d.code !== 'PARAD3001')).toEqual([]);
  });

  test('every shader compiles with Tint', () => {
    for (const t of report.fixtures[dir].tint) expect(t.errors, `${t.fn} pass ${t.pass}:\n${t.code}`).toEqual([]);
  });

  test('every K_b has a WGSL version, every layer a WebGPU variant', () => {
    expect(
      report.fixtures[dir].diagnostics
        .filter((d) => (d.code === 'PARAD3002' && !primalOnly(d.message)) || d.code === 'PARAD3004')
        .map((d) => d.message),
    ).toEqual([]);
    // the primal-only kernels say why their derivatives stay in JavaScript
    const why = { ...PRIMAL_ONLY, ...NO_ADJOINT };
    for (const k of new Set(specs.filter((x) => x.file === dir && why[x.kernel]).map((x) => x.kernel)))
      expect(
        report.fixtures[dir].diagnostics.some((d) => d.code === 'PARAD3002' && why[k].test(d.message)),
        k,
      ).toBe(true);
  });

  test('K_b on the GPU matches JavaScript with every strategy (analysis, forced direct/gather/reduction/atomic) and passes the dot-product test on the GPU', () => {
    if (!report.canRun) return;
    const f = report.fixtures[dir];
    expect(f.failure).toBeUndefined();
    const wanted = specs.filter(
      (s) => s.file === dir && !UNSUPPORTED[s.kernel] && !PRIMAL_ONLY[s.kernel] && !NO_ADJOINT[s.kernel],
    );
    const runs = f.adjoints ?? [];
    expect(runs.length, "each kernel ran with the analysis' strategies and each one forced").toBe(5 * wanted.length);
    for (const r of runs) {
      const what = `${r.fn}${r.tag ? ` (${r.tag})` : ''} with ${r.strategy ?? "the analysis' strategies"}`;
      expect(r.failure, what).toBeUndefined();
      for (const [where, err] of Object.entries(r.errors)) expect(err, `${what}: ${where}`).toBeLessThanOrEqual(1e-3);
    }
    // <K_d·ẋ, ȳ> = <ẋ, K_b·ȳ> with both on the GPU (f32)
    const dots = runs.filter((r) => !r.strategy);
    expect(
      dots.every((r) => r.dot),
      'a dot-product test per kernel',
    ).toBe(true);
    for (const r of dots) expect(r.dot!.rel, `${r.fn}: ${r.dot!.lhs} vs ${r.dot!.rhs}`).toBeLessThanOrEqual(1e-4);
  });

  test('K and K_d on the GPU match JavaScript (f32)', () => {
    if (!report.canRun) return;
    const runs = report.fixtures[dir].runs;
    const wanted = specs.filter((s) => s.file === dir && !UNSUPPORTED[s.kernel]);
    const primal = wanted.filter((s) => PRIMAL_ONLY[s.kernel]).length;
    expect(runs.length, 'each kernel ran in both modes (the primal-only ones in one)').toBe(2 * wanted.length - primal);
    for (const s of wanted.filter((w) => PRIMAL_ONLY[w.kernel]))
      expect(
        runs.some((r) => r.fn === s.kernel),
        `${s.kernel} ran on the GPU`,
      ).toBe(true);
    for (const s of wanted.filter((w) => NO_ADJOINT[w.kernel]))
      expect(
        runs.some((r) => r.fn === `${s.kernel}_d`),
        `${s.kernel}_d ran on the GPU`,
      ).toBe(true);
    for (const r of runs) {
      expect(r.failure, `${r.fn}`).toBeUndefined();
      for (const [where, err] of Object.entries(r.errors))
        expect(err, `${r.fn}${r.tag ? ` (${r.tag})` : ''}: ${where}`).toBeLessThanOrEqual(2e-4);
    }
  });
});

test('a checkpointed layer on the GPU: heatRun_b (5 slots, T = 300) equals the stored heatRunAll_b and JavaScript, on the optimal schedule', () => {
  if (!report.canRun) return;
  const c = report.checkpointed!;
  expect(c.vsStoreAll).toBeLessThanOrEqual(1e-5);
  expect(c.vsJs).toBeLessThanOrEqual(1e-3);
  expect(c.forwardSteps).toBe(c.expected);
  expect(c.peakSlots).toBeLessThanOrEqual(5);
});

describe('Math functions on the GPU keep JavaScript semantics (negative bases, zeros, halves)', () => {
  test.each(MATH_FUNCTIONS.map((f) => f.slice(5)))('Math.%s', (f) => {
    if (!report.canRun) return;
    const w = report.semantics?.[f];
    expect(w, `no result for ${f}`).toBeDefined();
    // SwiftShader's sin/cos are accurate to about 2e-4
    expect(w!.err, `${f}: x=${w!.x}, z=${w!.z}: gpu ${w!.gpu}, js ${w!.js}`).toBeLessThanOrEqual(5e-4);
  });
});

test('parad/runtime: GPUBuffer arguments stay on the GPU, encode() chains calls in one submit, buffers pooled and pipelines cached, misuse names the parameter, compile errors the kernel line and leave the other kernels running', () => {
  if (!report.canRun) return;
  const r = report.runtime!;
  expect(r.buffers).toBeLessThanOrEqual(1e-6);
  expect(r.encode).toBeLessThanOrEqual(1e-6);
  expect(r.errors.count).toBe('heat takes 5 arguments (u, tmp, kappa, n, T), got 1');
  expect(r.errors.type).toBe("heat: argument 'tmp' must be a Float32Array or a GPUBuffer");
  expect(r.errors.encodeTyped).toMatch(/heat\.encode: argument 'u' must be a GPUBuffer/);
  // K_b with GPUBuffers: arrays stay on the GPU, the scalar adjoints come back; partner lengths checked; a lost device named
  expect(r.adjointBuffers).toBeLessThanOrEqual(1e-6);
  expect(r.adjointEncode).toBeLessThanOrEqual(1e-6);
  // encode() of K_b hands back the buffer holding its scalar adjoints
  expect(r.encodeKeys).toEqual(['kappab']);
  expect(Math.abs(r.encodeScalars - r.callScalars)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(r.callScalars)));
  // 65,535 × 64 + 100 iterations: more workgroups than one dimension allows, folded into y (the last ones too)
  expect(r.folded.error).toBeLessThanOrEqual(2e-4);
  expect(r.folded.last).toBe(true);
  // a reduction of 70,000 private copies (partial sums of partial sums) matches JavaScript
  expect(r.bigReduction).toEqual({ error: expect.any(Number), strategy: 'reduction' });
  expect(r.bigReduction.error).toBeLessThanOrEqual(1e-4);
  expect(r.errors.partner).toBe(
    "heat_b: argument 'ub' has 299 elements, 'u' 300: a derivative array has the length of its array",
  );
  expect(r.errors.lost).toMatch(/^heat: the GPU device was lost \(destroyed/);
  // pooled buffers and cached pipelines: the first call made some buffers, the next calls none
  expect(r.reuse.firstCallBuffers).toBeGreaterThan(0);
  expect(r.reuse).toMatchObject({ newBuffers: 0, newPipelines: 0 });
  // a WGSL compile error names the kernel line the shader line comes from
  expect(r.errors.compile).toMatch(/^heat: pass 0 does not compile: heat\.ts:8 \(WGSL \d+:\d+\): /);
  // the shader's source map comment alone places it, and warnings reach the callback placed the same way
  expect(r.errors.compileMapOnly).toMatch(/^heat: pass 0 does not compile: heat\.ts:8 \(WGSL \d+:\d+\): /);
  expect(r.errors.warning).toMatch(/^heat: pass 0: WGSL warning at heat\.ts:8 \(WGSL \d+:\d+\): code is unreachable$/);
  // pipelines per function, made on its first call: the broken kernel keeps failing, the module's other kernels run
  expect(r.errors.compileAgain).toBe(r.errors.compile);
  expect(r.errors.otherKernel).toBe('no error');
  expect(r.otherKernel).toBeLessThanOrEqual(2e-4);
});
