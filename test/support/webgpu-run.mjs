// Runs every fixture kernel, made 32-bit, on WebGPU (dawn.node) and on JavaScript, and prints a
// JSON report on stdout; test/wgsl.test.ts checks it. A separate process: dawn.node is not
// stable inside vitest's workers. Uses the built transformer (dist/), as `npm test` builds first.
//   node test/support/webgpu-run.mjs [fixture-dir ...]
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { compile } from '../../dist/transformer/index.js';
import { createKernels } from '../../dist/runtime/gpu.js';
import * as runtime from '../../dist/runtime/index.js';
import { checkSource, load, openDevice, relError } from './gpu-check.mjs';
import { download as downloadFrom, upload as uploadTo } from './gpu-buffers.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
// WebGPU's default limits: a pass over 8 storage buffers (fixtures/gru: up to 24) shares bindings
const { gpu, adapter, device, canRun } = await openDevice();
// the inputs, by fixture spec: { file, kernel, tag, args: { name: number[] | number }, types: { name: type } }
const specs = process.env.PARAD_GPU_SPECS ? JSON.parse(fs.readFileSync(process.env.PARAD_GPU_SPECS, 'utf8')) : [];

const to32 = (src) => src.replaceAll('Float64Array', 'Float32Array').replace(/\bf64\b/g, 'f32');
const dirs =
  process.argv.length > 2
    ? process.argv.slice(2)
    : fs
        .readdirSync(path.join(root, 'fixtures'), { withFileTypes: true })
        .filter((d) => d.isDirectory())
        .map((d) => d.name)
        .sort();

const report = { adapter: `${adapter.info.vendor} ${adapter.info.description}`.trim(), canRun, fixtures: {} };
for (const dir of dirs) {
  const source = to32(fs.readFileSync(path.join(root, 'fixtures', dir, `${dir}.ts`), 'utf8'));
  // the kernel files a fixture's layers import, made 32-bit too
  const resolveImport = (spec) => {
    const file = path.resolve(root, 'fixtures', dir, spec).replace(/\.js$/, '.ts');
    return fs.existsSync(file) ? { fileName: file, source: to32(fs.readFileSync(file, 'utf8')) } : undefined;
  };
  report.fixtures[dir] = await checkSource(device, canRun, {
    source,
    fileName: `${dir}.ts`,
    resolveImport,
    specs: specs.filter((s) => s.file === dir),
  });
}
// a checkpointed layer on the GPU: heatRun_b (5 slots) == heatRunAll_b, both on the GPU, T = 300,
// following the optimal schedule; and against JavaScript (f32)
if (canRun && (process.argv.length <= 2 || dirs.includes('timestep'))) {
  const source = to32(fs.readFileSync(path.join(root, 'fixtures/timestep/timestep.ts'), 'utf8'));
  const mod = load((await compile(source, { fileName: 'timestep.ts', format: 'js', targets: ['ts', 'wgsl'] })).code);
  const ks = await createKernels(device, mod.wgsl);
  const n = 64,
    T = 300;
  const u0 = Float32Array.from({ length: n }, (_, i) => Math.sin(i / 5) + 1),
    w = Float32Array.from({ length: n }, (_, i) => 1 + i / n);
  const seed = () => Float32Array.from({ length: n }, (_, i) => Math.cos(i / 3));
  runtime.setCheckpointing({ slots: 5 }, 'heatRun');
  const ck = { u: u0.slice(), ub: seed() },
    all = { u: u0.slice(), ub: seed() },
    js = { u: u0.slice(), ub: seed() };
  const rCk = await ks.heatRun_b(ck.u, ck.ub, w, 0.2, n, T, 0.5);
  const stats = runtime.lastCheckpointRun().stats;
  const rAll = await ks.heatRunAll_b(all.u, all.ub, w, 0.2, n, T, 0.5);
  const rJs = mod.heatRun_b(js.u, js.ub, w, 0.2, n, T, 0.5);
  runtime.resetCheckpointing();
  report.checkpointed = {
    vsStoreAll: Math.max(relError(ck.ub, all.ub), relError(ck.u, all.u), relError([rCk.kappab], [rAll.kappab])),
    vsJs: Math.max(relError(ck.ub, js.ub), relError(ck.u, js.u), relError([rCk.kappab], [rJs.kappab])),
    forwardSteps: stats.forwardSteps,
    expected: runtime.checkpointSchedule(T, 5).forwardSteps,
    peakSlots: stats.peakSlots,
  };
}
// JavaScript semantics of every Math function on awkward inputs (negative bases, zeros, halves):
// m_<f>(y, x, z, n) of the math fixture, element k at x = G[k / G.length], z = G[k % G.length];
// compared where JavaScript's result is finite (WGSL leaves NaN/infinity cases to the implementation)
if (canRun && (process.argv.length <= 2 || dirs.includes('math'))) {
  const G = [-3, -2.5, -1.5, -1, -0.5, 0, 0.5, 1, 1.5, 2.5, 3, 7];
  const n = G.length * G.length;
  const source = to32(fs.readFileSync(path.join(root, 'fixtures/math/math.ts'), 'utf8'));
  const mod = load(
    (await compile(source, { fileName: 'math.ts', format: 'js', targets: ['ts', 'wgsl'], modes: ['d'] })).code,
  );
  const kernels = await createKernels(device, mod.wgsl);
  report.semantics = {};
  for (const name of Object.keys(mod.wgsl.kernels)) {
    const x = Float32Array.from({ length: n }, (_, k) => G[Math.floor(k / G.length)]);
    const z = Float32Array.from({ length: n }, (_, k) => G[k % G.length]);
    const yJs = new Float32Array(n),
      yGpu = new Float32Array(n);
    mod[name](yJs, x, z, n);
    await kernels[name](yGpu, x, z, n);
    let worst = { err: 0, x: 0, z: 0, js: 0, gpu: 0 };
    for (let k = 0; k < n; k++) {
      if (!Number.isFinite(yJs[k])) continue;
      const err = Math.abs(yGpu[k] - yJs[k]) / Math.max(1, Math.abs(yJs[k]));
      if (!(err <= worst.err))
        worst = { err: Number.isNaN(err) ? Infinity : err, x: x[k], z: z[k], js: yJs[k], gpu: yGpu[k] };
    }
    report.semantics[name.slice(2)] = worst;
  }
}
// parad/runtime with GPUBuffers and encode(): fixtures/heat's heat (32-bit), typed-array calls as the reference
if (canRun && (process.argv.length <= 2 || dirs.includes('heat'))) {
  const source = to32(fs.readFileSync(path.join(root, 'fixtures/heat/heat.ts'), 'utf8'));
  const mod = load((await compile(source, { fileName: 'heat.ts', format: 'js', targets: ['ts', 'wgsl'] })).code);
  const k = await createKernels(device, mod.wgsl);
  const n = 300;
  const init = () => Float32Array.from({ length: n }, (_, i) => Math.sin(i / 7));
  const upload = (a) => uploadTo(device, a);
  const download = (b) => downloadFrom(device, b);
  const typed = async (T) => {
    const u = init();
    await k.heat(u, new Float32Array(n), 0.2, n, T);
    return u;
  };
  const runtimeReport = { errors: {} };
  // GPUBuffers in a call: they stay on the GPU, the result is read here
  const bu = upload(init()),
    bt = upload(new Float32Array(n));
  await k.heat(bu, bt, 0.2, n, 3);
  runtimeReport.buffers = relError(await download(bu), await typed(3));
  // two encodes into one encoder, one submit: T = 1 twice equals T = 2
  const cu = upload(init()),
    ct = upload(new Float32Array(n));
  const enc = device.createCommandEncoder();
  k.heat.encode(enc, cu, ct, 0.2, n, 1);
  k.heat.encode(enc, cu, ct, 0.2, n, 1);
  device.queue.submit([enc.finish()]);
  runtimeReport.encode = relError(await download(cu), await typed(2));
  // misuse: clear errors naming the parameter
  const message = async (f) => {
    try {
      await f();
      return 'no error';
    } catch (e) {
      return String(e.message);
    }
  };
  runtimeReport.errors.count = await message(() => k.heat(init()));
  runtimeReport.errors.type = await message(() => k.heat(init(), 3, 0.2, n, 1));
  runtimeReport.errors.encodeTyped = await message(() =>
    k.heat.encode(device.createCommandEncoder(), init(), ct, 0.2, n, 1),
  );
  // a shader that does not compile: the error points at the kernel line (tmp[i] = … is heat.ts:8)
  const p = mod.wgsl.kernels.heat.primal;
  const brokenPass = {
    ...p.passes[0],
    code: p.passes[0].code.replace(/(\n\s*tmp\[i\] = [^\n]*)/, '$1 let bad: i32 = 1.5;'),
  };
  // the per-device caches: a repeated call makes no buffer, a second createKernels no pipeline
  const counts = { buffers: 0, pipelines: 0 };
  const createBuffer = device.createBuffer.bind(device),
    createComputePipeline = device.createComputePipeline.bind(device);
  device.createBuffer = (d) => {
    counts.buffers++;
    return createBuffer(d);
  };
  device.createComputePipeline = (d) => {
    counts.pipelines++;
    return createComputePipeline(d);
  };
  await typed(2);
  const afterFirst = { ...counts };
  await typed(2);
  const k2 = await createKernels(device, mod.wgsl);
  await k2.heat(init(), new Float32Array(n), 0.2, n, 2);
  runtimeReport.reuse = {
    firstCallBuffers: afterFirst.buffers,
    newBuffers: counts.buffers - afterFirst.buffers,
    newPipelines: counts.pipelines - afterFirst.pipelines,
  };
  device.createBuffer = createBuffer;
  device.createComputePipeline = createComputePipeline;
  // the same, placed by the shader's source map comment alone (no sourceLines); pipelines are made on a function's first call
  const callHeat = async (passes, options) =>
    (await createKernels(device, { version: 1, kernels: { heat: { primal: { ...p, passes } } } }, options)).heat(
      init(),
      new Float32Array(n),
      0.2,
      n,
      1,
    );
  runtimeReport.errors.compileMapOnly = await message(() =>
    callHeat([{ ...brokenPass, sourceLines: undefined }, ...p.passes.slice(1)]),
  );
  // a WGSL warning (unreachable code on the line of tmp[i] = …): to the callback, at the kernel line
  const warnings = [];
  const warnPass = {
    ...p.passes[0],
    code: p.passes[0].code.replace(/(\n\s*tmp\[i\] = [^\n]*)/, '$1 return; let unreached: i32 = 1;'),
  };
  await callHeat([warnPass, ...p.passes.slice(1)], { onShaderWarning: (m) => warnings.push(m) });
  runtimeReport.errors.warning = warnings.join('\n');
  // pipelines are made per function on its first call: the broken one rejects, its module's other kernels run
  const broken = await createKernels(device, {
    version: 1,
    kernels: {
      heat: { primal: { ...p, passes: [brokenPass, ...p.passes.slice(1)] } },
      reactDiffuse: mod.wgsl.kernels.reactDiffuse,
    },
  });
  runtimeReport.errors.compile = await message(() => broken.heat(init(), new Float32Array(n), 0.2, n, 1));
  runtimeReport.errors.compileAgain = await message(() => broken.heat(init(), new Float32Array(n), 0.2, n, 1));
  const rdJs = init(),
    rdGpu = init();
  mod.reactDiffuse(rdJs, new Float32Array(n), 0.2, 0.3, n, 2);
  runtimeReport.errors.otherKernel = await message(() =>
    broken.reactDiffuse(rdGpu, new Float32Array(n), 0.2, 0.3, n, 2),
  );
  runtimeReport.otherKernel = relError(rdGpu, rdJs);
  // K_b with GPUBuffers: the scalar adjoints are returned, the arrays stay on the GPU
  const seeds = () => Float32Array.from({ length: n }, (_, i) => Math.cos(i));
  const typedB = { u: init(), ub: seeds(), tmp: new Float32Array(n), tmpb: new Float32Array(n) };
  const retTyped = await k.heat_b(typedB.u, typedB.ub, typedB.tmp, typedB.tmpb, 0.2, n, 3);
  const bufB = {
    u: upload(init()),
    ub: upload(seeds()),
    tmp: upload(new Float32Array(n)),
    tmpb: upload(new Float32Array(n)),
  };
  const retBuf = await k.heat_b(bufB.u, bufB.ub, bufB.tmp, bufB.tmpb, 0.2, n, 3);
  runtimeReport.adjointBuffers = Math.max(
    relError(await download(bufB.ub), typedB.ub),
    relError([retBuf.kappab], [retTyped.kappab]),
  );
  // K_b.encode: recorded into the caller's encoder with the primal before it, one submit
  const encB = {
    u: upload(init()),
    ub: upload(seeds()),
    tmp: upload(new Float32Array(n)),
    tmpb: upload(new Float32Array(n)),
  };
  const enc2 = device.createCommandEncoder();
  k.heat.encode(enc2, encB.u, encB.tmp, 0.2, n, 1);
  const handle = k.heat_b.encode(enc2, encB.u, encB.ub, encB.tmp, encB.tmpb, 0.2, n, 2);
  device.queue.submit([enc2.finish()]);
  const refB = { u: init(), ub: seeds(), tmp: new Float32Array(n), tmpb: new Float32Array(n) };
  await k.heat(refB.u, refB.tmp, 0.2, n, 1);
  const { kappab: refKappab } = await k.heat_b(refB.u, refB.ub, refB.tmp, refB.tmpb, 0.2, n, 2);
  const encScalars = await download(handle.scalars);
  runtimeReport.adjointEncode = Math.max(
    relError(await download(encB.ub), refB.ub),
    relError(await download(encB.u), refB.u),
  );
  runtimeReport.encodeKeys = handle.keys;
  runtimeReport.encodeScalars = encScalars[0];
  runtimeReport.callScalars = refKappab;
  runtimeReport.errors.partner = await message(() =>
    k.heat_b(init(), new Float32Array(n - 1), new Float32Array(n), new Float32Array(n), 0.2, n, 1),
  );
  // a lost device: calls reject saying so
  const other = await (await gpu.requestAdapter()).requestDevice();
  const k3 = await createKernels(other, mod.wgsl);
  other.destroy();
  await new Promise((r) => setTimeout(r, 50));
  runtimeReport.errors.lost = await message(() => k3.heat(init(), new Float32Array(n), 0.2, n, 1));
  // a reduction over more copies than one workgroup sums (two levels of partial sums): every
  // iteration of poly3 reads w, whose adjoint is reduced from 70,000 private copies
  const poly = load(
    (
      await compile(
        `import type { i32 } from 'parad';
/** @kernel */
export function poly3(y: Float32Array, x: Float32Array, w: Float32Array, n: i32): void {
  // @parallel
  for (let i = 0; i < n; i++) {
    y[i] = w[0] * x[i] + w[1] * x[i] * x[i] + w[2] * Math.sin(x[i]);
  }
}
`,
        { fileName: 'poly3.ts', format: 'js', targets: ['ts', 'wgsl'] },
      )
    ).code,
  );
  const kp = await createKernels(device, poly.wgsl);
  const m = 70000;
  const polyArgs = () => [
    new Float32Array(m),
    Float32Array.from({ length: m }, (_, i) => Math.cos(i) ** 2),
    Float32Array.from({ length: m }, () => 1),
    new Float32Array(m),
    Float32Array.of(0.5, -0.25, 0.125),
    new Float32Array(3),
  ];
  const pj = polyArgs(),
    pg = polyArgs();
  poly.poly3_b(...pj, m);
  await kp.poly3_b(...pg, m);
  // a 1-D space beyond WebGPU's 65,535 workgroups per dimension folds into y
  const big = 65535 * 64 + 100;
  const bx = Float32Array.from({ length: big }, (_, i) => (i % 1000) / 1000),
    bw = Float32Array.of(0.5, -0.25, 0.125);
  const yJs = new Float32Array(big),
    yGpu = new Float32Array(big);
  poly.poly3(yJs, bx, bw, big);
  await kp.poly3(yGpu, bx, bw, big);
  runtimeReport.folded = {
    n: big,
    error: relError(yGpu, yJs),
    last: yGpu[big - 1] === yJs[big - 1] || Math.abs(yGpu[big - 1] - yJs[big - 1]) < 1e-5,
  };
  runtimeReport.bigReduction = {
    error: Math.max(relError(pg[5], pj[5]), relError(pg[3], pj[3])),
    strategy: String(kp.poly3_b && poly.wgsl.kernels.poly3.b.host).includes('reduce(') ? 'reduction' : 'other',
  };
  report.runtime = runtimeReport;
}
// Dawn prints validation messages on stdout: the report goes to a file when one is named
if (process.env.PARAD_GPU_OUT) fs.writeFileSync(process.env.PARAD_GPU_OUT, JSON.stringify(report));
else process.stdout.write(JSON.stringify(report));
device.destroy();
process.exit(0);
