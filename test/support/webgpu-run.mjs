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
import { loadGenerated } from './load-generated.mjs';
import { download as downloadFrom, upload as uploadTo } from './gpu-buffers.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SWIFTSHADER = process.env.PARAD_VK_ICD ?? '/usr/lib/chromium/vk_swiftshader_icd.json';
const canRun = fs.existsSync(SWIFTSHADER);
if (canRun) process.env.VK_ICD_FILENAMES = SWIFTSHADER;
process.env.XDG_RUNTIME_DIR ??= fs.mkdtempSync('/tmp/parad-xdg-');

const { create, globals } = await import('webgpu');
Object.assign(globalThis, globals);
const gpu = create(canRun ? [] : ['backend=null']);
const adapter = await gpu.requestAdapter();
// adjoint passes bind a kernel's arrays, their adjoints and staging buffers: more than the default 8
const device = await adapter.requestDevice({ requiredLimits: { maxStorageBuffersPerShaderStage: adapter.limits.maxStorageBuffersPerShaderStage } });
// the inputs, by fixture spec: { file, kernel, tag, args: { name: number[] | number }, types: { name: type } }
const specs = process.env.PARAD_GPU_SPECS ? JSON.parse(fs.readFileSync(process.env.PARAD_GPU_SPECS, 'utf8')) : [];

const load = (code) => loadGenerated(code, runtime);

const to32 = (src) => src.replaceAll('Float64Array', 'Float32Array').replace(/\bf64\b/g, 'f32');
const dirs = process.argv.length > 2 ? process.argv.slice(2) : fs.readdirSync(path.join(root, 'fixtures'), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();

/** Largest error relative to the largest |value| (at least 1e-3); NaN where only one side is NaN counts as Infinity. */
function relError(gpuValues, jsValues) {
  let scale = 1e-3, worst = 0;
  for (const x of jsValues) if (Number.isFinite(x)) scale = Math.max(scale, Math.abs(x));
  for (let i = 0; i < jsValues.length; i++) {
    const a = gpuValues[i], b = jsValues[i];
    if (Number.isNaN(a) && Number.isNaN(b)) continue;
    if (Object.is(a, b)) continue;
    worst = Math.max(worst, Number.isNaN(a - b) ? Infinity : Math.abs(a - b) / scale);
  }
  return worst;
}

const STRATEGIES = ['direct', 'gather', 'reduction', 'atomic'];
const arrayOf = (type, v) => (type === 'Int32Array' ? Int32Array.from(v) : type === 'Uint32Array' ? Uint32Array.from(v) : Float32Array.from(v));
const dot = (a, b) => { let s = 0; for (let i = 0; i < a.length; i++) s += a[i] * b[i]; return s; };

/**
 * K_b of one spec on the GPU and in JavaScript (same inputs and adjoint seeds): the errors of every
 * array and returned adjoint; with `dotTest`, also <K_d·ẋ, ȳ> vs <ẋ, K_b·ȳ> with both on the GPU.
 */
async function adjointRun(m, ks, spec, dotTest) {
  const meta = m.__parad.kernels[spec.kernel];
  const name = `${spec.kernel}_b`;
  const make = () => Object.fromEntries(Object.entries(spec.args).map(([key, v]) => [key, Array.isArray(v) ? arrayOf(spec.types[key], v) : v]));
  const seedsOf = (a) => Object.fromEntries(meta.params.filter((p) => p.active && p.kind === 'array').map((p) => [p.name, Float32Array.from(a[p.name], (_, i) => Math.sin(i + 1))]));
  const retb = meta.returns === 'void' ? [] : [0.75];
  const listB = (a, seeds) => [...meta.params.flatMap((p) => (p.active && p.kind === 'array' ? [a[p.name], seeds[p.name]] : [a[p.name]])), ...retb];
  const js = make(), gpuArgs = make();
  const seedsJs = seedsOf(js), seedsGpu = seedsOf(gpuArgs);
  const jsRet = m[name](...listB(js, seedsJs));
  const gpuRet = await ks[name](...listB(gpuArgs, seedsGpu));
  const errors = {};
  for (const p of meta.params.filter((q) => q.kind === 'array')) {
    errors[p.name] = relError(gpuArgs[p.name], js[p.name]);
    if (p.active) errors[`${p.name}b`] = relError(seedsGpu[p.name], seedsJs[p.name]);
  }
  for (const [key, v] of Object.entries(jsRet ?? {})) errors[key] = relError([gpuRet?.[key]], [v]);
  if (!dotTest || !ks[`${spec.kernel}_d`]) return { errors };
  // the dot-product test with K_d and K_b on the GPU: ẋ = cos, ȳ = the seeds above
  const a = make(), ad = {};
  const active = meta.params.filter((p) => p.active);
  for (const p of active) ad[p.name] = p.kind === 'array' ? Float32Array.from(a[p.name], (_, i) => Math.cos(i)) : 0.25;
  const xd = Object.fromEntries(active.map((p) => [p.name, p.kind === 'array' ? ad[p.name].slice() : ad[p.name]]));
  const dRet = await ks[`${spec.kernel}_d`](...meta.params.flatMap((p) => (p.active ? [a[p.name], ad[p.name]] : [a[p.name]])));
  const b = make(), seeds = seedsOf(b);
  const ybar = Object.fromEntries(Object.entries(seeds).map(([k, v]) => [k, v.slice()]));
  const bRet = await ks[name](...listB(b, seeds));
  let lhs = 0, rhs = 0;
  for (const p of active) {
    if (p.kind === 'array') {
      lhs += dot(ad[p.name], ybar[p.name]);
      rhs += dot(xd[p.name], seeds[p.name]);
    } else rhs += xd[p.name] * (bRet?.[`${p.name}b`] ?? 0);
  }
  if (retb.length) lhs += [dRet].flat()[1] * retb[0];
  return { errors, dot: { lhs, rhs, rel: Math.abs(lhs - rhs) / Math.max(1e-3, Math.abs(lhs), Math.abs(rhs)) } };
}

const report = { adapter: `${adapter.info.vendor} ${adapter.info.description}`.trim(), canRun, fixtures: {} };
for (const dir of dirs) {
  const source = to32(fs.readFileSync(path.join(root, 'fixtures', dir, `${dir}.ts`), 'utf8'));
  // the kernel files a fixture's layers import, made 32-bit too
  const resolveImport = (spec) => {
    const file = path.resolve(root, 'fixtures', dir, spec).replace(/\.js$/, '.ts');
    return fs.existsSync(file) ? { fileName: file, source: to32(fs.readFileSync(file, 'utf8')) } : undefined;
  };
  const r = await compile(source, { fileName: `${dir}.ts`, format: 'js', targets: ['ts', 'wgsl'], resolveImport });
  const entry = { diagnostics: r.diagnostics.map((d) => ({ code: d.code, severity: d.severity, message: d.message })), tint: [], runs: [] };
  report.fixtures[dir] = entry;
  if (!r.code) continue;
  const mod = load(r.code);
  for (const k of Object.values(mod.wgsl.kernels)) {
    for (const p of [k.primal, k.d, k.b].filter(Boolean)) {
      for (const [i, pass] of p.passes.entries()) {
        const info = await device.createShaderModule({ code: pass.code }).getCompilationInfo();
        const errors = info.messages.filter((m) => m.type === 'error').map((m) => `${m.lineNum}:${m.linePos} ${m.message}`);
        entry.tint.push({ fn: p.name, pass: i, errors, code: errors.length ? pass.code : undefined });
      }
    }
  }
  if (!canRun) continue;
  let kernels;
  try {
    kernels = await createKernels(device, mod.wgsl);
  } catch (e) {
    entry.failure = String(e?.message ?? e);
    continue;
  }
  // kernels and the layers that run on WebGPU (their WebGPU variants)
  const onGpu = (m, name) => m.wgsl.kernels[name] ?? m.wgsl.layers?.[name];
  for (const spec of specs.filter((s) => s.file === dir)) {
    if (!onGpu(mod, spec.kernel)) continue;
    const meta = mod.__parad.kernels[spec.kernel];
    for (const [name, withDirs] of [[spec.kernel, false], [`${spec.kernel}_d`, true]]) {
      if (!kernels[name]) continue;
      const make = () => Object.fromEntries(Object.entries(spec.args).map(([key, v]) => [key, Array.isArray(v) ? (spec.types[key] === 'Int32Array' ? Int32Array.from(v) : spec.types[key] === 'Uint32Array' ? Uint32Array.from(v) : Float32Array.from(v)) : v]));
      const js = make(), gpuArgs = make();
      const dirsJs = {}, dirsGpu = {};
      for (const p of meta.params.filter((q) => q.active)) {
        const v = js[p.name];
        const d = typeof v === 'number' ? 0.25 : Float32Array.from(v, (_, i) => Math.cos(i));
        dirsJs[p.name] = typeof d === 'number' ? d : d.slice();
        dirsGpu[p.name] = typeof d === 'number' ? d : d.slice();
      }
      const list = (a, ds) => meta.params.flatMap((p) => (withDirs && p.active ? [a[p.name], ds[p.name]] : [a[p.name]]));
      const run = { fn: name, kernel: spec.kernel, tag: spec.tag ?? null, errors: {} };
      try {
        const jsRet = mod[name](...list(js, dirsJs));
        const gpuRet = await kernels[name](...list(gpuArgs, dirsGpu));
        for (const p of meta.params.filter((q) => q.kind === 'array')) {
          run.errors[p.name] = relError(gpuArgs[p.name], js[p.name]);
          if (withDirs && p.active) run.errors[`${p.name}d`] = relError(dirsGpu[p.name], dirsJs[p.name]);
        }
        if (jsRet !== undefined) run.errors.return = relError([gpuRet].flat(), [jsRet].flat());
      } catch (e) {
        run.failure = String(e?.message ?? e);
      }
      entry.runs.push(run);
    }
  }
  // K_b on the GPU vs JavaScript, with the strategies the analysis chose and with each one forced
  // (the JS module compiled the same way), and the dot-product test on the GPU itself
  entry.adjoints = [];
  const kernelsWithB = specs.filter((s) => s.file === dir && onGpu(mod, s.kernel)?.b);
  if (!kernelsWithB.length) continue;
  for (const strategy of [undefined, ...STRATEGIES]) {
    const m = strategy ? load((await compile(source, { fileName: `${dir}.ts`, format: 'js', targets: ['ts', 'wgsl'], strategy, resolveImport })).code) : mod;
    let ks = kernels;
    try {
      if (strategy) ks = await createKernels(device, m.wgsl);
    } catch (e) {
      entry.adjoints.push({ fn: dir, strategy, failure: String(e?.message ?? e), errors: {} });
      continue;
    }
    for (const spec of kernelsWithB) {
      const run = { fn: `${spec.kernel}_b`, kernel: spec.kernel, tag: spec.tag ?? null, strategy: strategy ?? null, errors: {} };
      try {
        Object.assign(run, await adjointRun(m, ks, spec, !strategy));
      } catch (e) {
        run.failure = String(e?.stack ?? e);
      }
      entry.adjoints.push(run);
    }
  }
}
// a checkpointed layer on the GPU: heatRun_b (5 slots) == heatRunAll_b, both on the GPU, T = 300,
// following the optimal schedule; and against JavaScript (f32)
if (canRun && (process.argv.length <= 2 || dirs.includes('timestep'))) {
  const source = to32(fs.readFileSync(path.join(root, 'fixtures/timestep/timestep.ts'), 'utf8'));
  const mod = load((await compile(source, { fileName: 'timestep.ts', format: 'js', targets: ['ts', 'wgsl'] })).code);
  const ks = await createKernels(device, mod.wgsl);
  const n = 64, T = 300;
  const u0 = Float32Array.from({ length: n }, (_, i) => Math.sin(i / 5) + 1), w = Float32Array.from({ length: n }, (_, i) => 1 + i / n);
  const seed = () => Float32Array.from({ length: n }, (_, i) => Math.cos(i / 3));
  runtime.setCheckpointing({ slots: 5 }, 'heatRun');
  const ck = { u: u0.slice(), ub: seed() }, all = { u: u0.slice(), ub: seed() }, js = { u: u0.slice(), ub: seed() };
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
  const mod = load((await compile(source, { fileName: 'math.ts', format: 'js', targets: ['ts', 'wgsl'], modes: ['d'] })).code);
  const kernels = await createKernels(device, mod.wgsl);
  report.semantics = {};
  for (const name of Object.keys(mod.wgsl.kernels)) {
    const x = Float32Array.from({ length: n }, (_, k) => G[Math.floor(k / G.length)]);
    const z = Float32Array.from({ length: n }, (_, k) => G[k % G.length]);
    const yJs = new Float32Array(n), yGpu = new Float32Array(n);
    mod[name](yJs, x, z, n);
    await kernels[name](yGpu, x, z, n);
    let worst = { err: 0, x: 0, z: 0, js: 0, gpu: 0 };
    for (let k = 0; k < n; k++) {
      if (!Number.isFinite(yJs[k])) continue;
      const err = Math.abs(yGpu[k] - yJs[k]) / Math.max(1, Math.abs(yJs[k]));
      if (!(err <= worst.err)) worst = { err: Number.isNaN(err) ? Infinity : err, x: x[k], z: z[k], js: yJs[k], gpu: yGpu[k] };
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
  const typed = async (T) => { const u = init(); await k.heat(u, new Float32Array(n), 0.2, n, T); return u; };
  const runtimeReport = { errors: {} };
  // GPUBuffers in a call: they stay on the GPU, the result is read here
  const bu = upload(init()), bt = upload(new Float32Array(n));
  await k.heat(bu, bt, 0.2, n, 3);
  runtimeReport.buffers = relError(await download(bu), await typed(3));
  // two encodes into one encoder, one submit: T = 1 twice equals T = 2
  const cu = upload(init()), ct = upload(new Float32Array(n));
  const enc = device.createCommandEncoder();
  k.heat.encode(enc, cu, ct, 0.2, n, 1);
  k.heat.encode(enc, cu, ct, 0.2, n, 1);
  device.queue.submit([enc.finish()]);
  runtimeReport.encode = relError(await download(cu), await typed(2));
  // misuse: clear errors naming the parameter
  const message = async (f) => { try { await f(); return 'no error'; } catch (e) { return String(e.message); } };
  runtimeReport.errors.count = await message(() => k.heat(init()));
  runtimeReport.errors.type = await message(() => k.heat(init(), 3, 0.2, n, 1));
  runtimeReport.errors.encodeTyped = await message(() => k.heat.encode(device.createCommandEncoder(), init(), ct, 0.2, n, 1));
  // a shader that does not compile: the error points at the kernel line (tmp[i] = … is heat.ts:8)
  const p = mod.wgsl.kernels.heat.primal;
  const brokenPass = { ...p.passes[0], code: p.passes[0].code.replace(/(\n\s*tmp\[i\] = [^\n]*)/, '$1 let bad: i32 = 1.5;') };
  runtimeReport.errors.compile = await message(() => createKernels(device, { version: 1, kernels: { heat: { primal: { ...p, passes: [brokenPass, ...p.passes.slice(1)] } } } }));
  // the same, placed by the shader's source map comment alone (no sourceLines)
  runtimeReport.errors.compileMapOnly = await message(() => createKernels(device, { version: 1, kernels: { heat: { primal: { ...p, passes: [{ ...brokenPass, sourceLines: undefined }, ...p.passes.slice(1)] } } } }));
  // a WGSL warning (unreachable code on the line of tmp[i] = …): to the callback, at the kernel line
  const warnings = [];
  const warnPass = { ...p.passes[0], code: p.passes[0].code.replace(/(\n\s*tmp\[i\] = [^\n]*)/, '$1 return; let unreached: i32 = 1;') };
  await createKernels(device, { version: 1, kernels: { heat: { primal: { ...p, passes: [warnPass, ...p.passes.slice(1)] } } } }, { onShaderWarning: (m) => warnings.push(m) });
  runtimeReport.errors.warning = warnings.join('\n');
  // the per-device caches: a repeated call makes no buffer, a second createKernels no pipeline
  const counts = { buffers: 0, pipelines: 0 };
  const createBuffer = device.createBuffer.bind(device), createComputePipeline = device.createComputePipeline.bind(device);
  device.createBuffer = (d) => { counts.buffers++; return createBuffer(d); };
  device.createComputePipeline = (d) => { counts.pipelines++; return createComputePipeline(d); };
  await typed(2);
  const afterFirst = { ...counts };
  await typed(2);
  const k2 = await createKernels(device, mod.wgsl);
  await k2.heat(init(), new Float32Array(n), 0.2, n, 2);
  runtimeReport.reuse = { firstCallBuffers: afterFirst.buffers, newBuffers: counts.buffers - afterFirst.buffers, newPipelines: counts.pipelines - afterFirst.pipelines };
  device.createBuffer = createBuffer;
  device.createComputePipeline = createComputePipeline;
  // K_b with GPUBuffers: the scalar adjoints are returned, the arrays stay on the GPU
  const seeds = () => Float32Array.from({ length: n }, (_, i) => Math.cos(i));
  const typedB = { u: init(), ub: seeds(), tmp: new Float32Array(n), tmpb: new Float32Array(n) };
  const retTyped = await k.heat_b(typedB.u, typedB.ub, typedB.tmp, typedB.tmpb, 0.2, n, 3);
  const bufB = { u: upload(init()), ub: upload(seeds()), tmp: upload(new Float32Array(n)), tmpb: upload(new Float32Array(n)) };
  const retBuf = await k.heat_b(bufB.u, bufB.ub, bufB.tmp, bufB.tmpb, 0.2, n, 3);
  runtimeReport.adjointBuffers = Math.max(relError(await download(bufB.ub), typedB.ub), relError([retBuf.kappab], [retTyped.kappab]));
  // K_b.encode: recorded into the caller's encoder with the primal before it, one submit
  const encB = { u: upload(init()), ub: upload(seeds()), tmp: upload(new Float32Array(n)), tmpb: upload(new Float32Array(n)) };
  const enc2 = device.createCommandEncoder();
  k.heat.encode(enc2, encB.u, encB.tmp, 0.2, n, 1);
  const handle = k.heat_b.encode(enc2, encB.u, encB.ub, encB.tmp, encB.tmpb, 0.2, n, 2);
  device.queue.submit([enc2.finish()]);
  const refB = { u: init(), ub: seeds(), tmp: new Float32Array(n), tmpb: new Float32Array(n) };
  await k.heat(refB.u, refB.tmp, 0.2, n, 1);
  const { kappab: refKappab } = await k.heat_b(refB.u, refB.ub, refB.tmp, refB.tmpb, 0.2, n, 2);
  const encScalars = await download(handle.scalars);
  runtimeReport.adjointEncode = Math.max(relError(await download(encB.ub), refB.ub), relError(await download(encB.u), refB.u));
  runtimeReport.encodeKeys = handle.keys;
  runtimeReport.encodeScalars = encScalars[0];
  runtimeReport.callScalars = refKappab;
  runtimeReport.errors.partner = await message(() => k.heat_b(init(), new Float32Array(n - 1), new Float32Array(n), new Float32Array(n), 0.2, n, 1));
  // a lost device: calls reject saying so
  const other = await (await gpu.requestAdapter()).requestDevice();
  const k3 = await createKernels(other, mod.wgsl);
  other.destroy();
  await new Promise((r) => setTimeout(r, 50));
  runtimeReport.errors.lost = await message(() => k3.heat(init(), new Float32Array(n), 0.2, n, 1));
  // a reduction over more copies than one workgroup sums (two levels of partial sums): every
  // iteration of poly3 reads w, whose adjoint is reduced from 70,000 private copies
  const poly = load((await compile(`import type { i32 } from 'parad';
/** @kernel */
export function poly3(y: Float32Array, x: Float32Array, w: Float32Array, n: i32): void {
  // @parallel
  for (let i = 0; i < n; i++) {
    y[i] = w[0] * x[i] + w[1] * x[i] * x[i] + w[2] * Math.sin(x[i]);
  }
}
`, { fileName: 'poly3.ts', format: 'js', targets: ['ts', 'wgsl'] })).code);
  const kp = await createKernels(device, poly.wgsl);
  const m = 70000;
  const polyArgs = () => [new Float32Array(m), Float32Array.from({ length: m }, (_, i) => Math.cos(i) ** 2), Float32Array.from({ length: m }, () => 1), new Float32Array(m), Float32Array.of(0.5, -0.25, 0.125), new Float32Array(3)];
  const pj = polyArgs(), pg = polyArgs();
  poly.poly3_b(...pj, m);
  await kp.poly3_b(...pg, m);
  // a 1-D space beyond WebGPU's 65,535 workgroups per dimension folds into y
  const big = 65535 * 64 + 100;
  const bx = Float32Array.from({ length: big }, (_, i) => (i % 1000) / 1000), bw = Float32Array.of(0.5, -0.25, 0.125);
  const yJs = new Float32Array(big), yGpu = new Float32Array(big);
  poly.poly3(yJs, bx, bw, big);
  await kp.poly3(yGpu, bx, bw, big);
  runtimeReport.folded = { n: big, error: relError(yGpu, yJs), last: yGpu[big - 1] === yJs[big - 1] || Math.abs(yGpu[big - 1] - yJs[big - 1]) < 1e-5 };
  runtimeReport.bigReduction = { error: Math.max(relError(pg[5], pj[5]), relError(pg[3], pj[3])), strategy: String(kp.poly3_b && poly.wgsl.kernels.poly3.b.host).includes('reduce(') ? 'reduction' : 'other' };
  report.runtime = runtimeReport;
}
// Dawn prints validation messages on stdout: the report goes to a file when one is named
if (process.env.PARAD_GPU_OUT) fs.writeFileSync(process.env.PARAD_GPU_OUT, JSON.stringify(report));
else process.stdout.write(JSON.stringify(report));
device.destroy();
process.exit(0);
