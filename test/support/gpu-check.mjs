// The WebGPU check of one kernel source (32-bit): every shader compiled by Tint, K and K_d on the
// GPU against the JavaScript module (same inputs), K_b with the analysis' strategies and each one
// forced against JavaScript, and the dot-product test with K_d and K_b both on the GPU. Used by
// test/support/webgpu-run.mjs (the fixtures) and test/support/gpu-fuzz-run.mjs (random kernels).
import fs from 'node:fs';
import { compile } from '../../dist/transformer/index.js';
import { createKernels } from '../../dist/runtime/gpu.js';
import * as runtime from '../../dist/runtime/index.js';
import { loadGenerated } from './load-generated.mjs';

export const load = (code) => loadGenerated(code, runtime);

/**
 * dawn.node's GPU objects (what `create()` returns), kept for the life of the process: once one is
 * garbage-collected its dawn::native::Instance is gone while its adapter and device still use it, and
 * the next event processing (a mapAsync, onSubmittedWorkDone) aborts the process (`std::system_error:
 * Invalid argument`) or deadlocks in `InstanceBase::ProcessEvents` (docs/wgsl.md). A caller that drops
 * `gpu` (gpu-fuzz-run.mjs did) must not be able to lose it.
 */
const instances = [];

/**
 * A WebGPU device of dawn.node (npm `webgpu`) with WebGPU's default limits, over SwiftShader
 * (`PARAD_VK_ICD`, default Debian chromium's driver), or dawn's null backend without it (`canRun`
 * false: shaders compile, nothing runs). The GPU object is kept alive here (`instances`).
 */
export async function openDevice() {
  const SWIFTSHADER = process.env.PARAD_VK_ICD ?? '/usr/lib/chromium/vk_swiftshader_icd.json';
  const canRun = fs.existsSync(SWIFTSHADER);
  if (canRun) process.env.VK_ICD_FILENAMES = SWIFTSHADER;
  process.env.XDG_RUNTIME_DIR ??= fs.mkdtempSync('/tmp/parad-xdg-');
  const { create, globals } = await import('webgpu');
  Object.assign(globalThis, globals);
  const gpu = create(canRun ? [] : ['backend=null']);
  instances.push(gpu);
  const adapter = await gpu.requestAdapter();
  const device = await adapter.requestDevice();
  return { gpu, adapter, device, canRun };
}

/**
 * Largest error relative to the largest |value| (at least 1e-3); NaN where only one side is NaN
 * counts as Infinity. `slack` (mathSlack): per element, the part of the difference that WGSL's
 * accuracy of the built-in functions explains, not counted.
 */
export function relError(gpuValues, jsValues, slack) {
  let scale = 1e-3,
    worst = 0;
  for (const x of jsValues) if (Number.isFinite(x)) scale = Math.max(scale, Math.abs(x));
  for (let i = 0; i < jsValues.length; i++) {
    const a = gpuValues[i],
      b = jsValues[i];
    if (Number.isNaN(a) && Number.isNaN(b)) continue;
    if (Object.is(a, b)) continue;
    const diff = Math.max(0, Math.abs(a - b) - (slack?.[i] ?? 0));
    worst = Math.max(worst, Number.isNaN(a - b) ? Infinity : diff / scale);
  }
  return worst;
}

/**
 * WGSL's accuracy of its built-in functions (the spec's table, for f32), as an absolute error of a
 * result r of arguments args: far above f32 rounding for some (sin and cos: 2⁻¹¹ absolute on
 * [-π, π]; atan and what inherits from it: 4096 ULP; exp: 3 + 2·|x| ULP; pow inherits from exp2
 * and log2). SwiftShader uses that room: its sin(0.45) is off by 1.2e-5 (200 ULP).
 */
const ULP = 2 ** -23;
const ACCURACY = {
  sin: (r, [x]) => 2 ** -11 * Math.max(1, Math.abs(x) / Math.PI),
  cos: (r, [x]) => 2 ** -11 * Math.max(1, Math.abs(x) / Math.PI),
  tan: (r, [x]) => 2 ** -11 * Math.max(1, Math.abs(x) / Math.PI) * (1 + r * r),
  exp: (r, [x]) => Math.abs(r) * (3 + 2 * Math.abs(x)) * ULP,
  expm1: (r, [x]) => (Math.abs(r) + 1) * (3 + 2 * Math.abs(x)) * ULP,
  log: (r) => 2 ** -21 + 3 * ULP * Math.abs(r),
  log2: (r) => 2 ** -21 + 3 * ULP * Math.abs(r),
  log10: (r) => 2 ** -21 + 3 * ULP * Math.abs(r),
  log1p: (r) => 2 ** -21 + 3 * ULP * Math.abs(r),
  pow: (r, [x, y]) => Math.abs(r) * 2 ** -20 * (1 + Math.abs(y * Math.log2(Math.abs(x)) || 0)),
  sqrt: (r) => Math.abs(r) * 2 ** -21,
  cbrt: (r) => Math.abs(r) * 2 ** -20,
  hypot: (r) => Math.abs(r) * 2 ** -21,
  sinh: (r) => (Math.abs(r) + 1) * 2 ** -20,
  cosh: (r) => (Math.abs(r) + 1) * 2 ** -20,
  tanh: (r) => (Math.abs(r) + 1) * 2 ** -20,
  atan: (r) => Math.abs(r) * 2 ** -11,
  atan2: (r) => Math.abs(r) * 2 ** -11,
  asin: (r) => Math.abs(r) * 2 ** -11,
  acos: (r) => Math.abs(r) * 2 ** -11,
};
/** How each perturbed run moves the k-th Math call's result: all up, all down, alternating, pseudo-random. */
const PATTERNS = [() => 1, () => -1, (k) => (k % 2 ? 1 : -1), (k) => (Math.imul(k + 1, 2654435761) >>> 31 ? 1 : -1)];

/**
 * How far the GPU may be from JavaScript because of WGSL's accuracy of the built-in functions,
 * not because of a bug: a kernel amplifies a function's error (a reduction adds n errors of one
 * sign, a cancellation leaves them on a small result: fuzz case reduction-7-0 summed 6 terms
 * 0.5·tanh(sin(sin(a))), each 1.1e-5 off through SwiftShader's sin, and returned s·a + y[1] =
 * -0.026 from terms of ±0.33: 1.1e-3 relative). `run()` runs the JavaScript module and returns its outputs
 * ({ key: number[] }); it is run again with every Math function's result moved by its WGSL accuracy
 * (ACCURACY) in each direction pattern, and the slack of an element is twice the largest move
 * (runs that throw or leave the finite values are ignored). relError does not count it: the
 * tolerance scales with the kernel's conditioning, where a fixed one was either too tight for
 * such kernels or too loose for the others.
 */
export function mathSlack(run, exact) {
  const saved = {};
  for (const name of Object.keys(ACCURACY)) saved[name] = Math[name];
  const slack = {};
  for (const [key, v] of Object.entries(exact)) slack[key] = new Float64Array(v.length);
  for (const pattern of PATTERNS) {
    let k = 0;
    for (const [name, err] of Object.entries(ACCURACY)) {
      const f = saved[name];
      Math[name] = (...args) => {
        const r = f(...args);
        return Number.isFinite(r) ? r + pattern(k++) * err(r, args) : r;
      };
    }
    let moved;
    try {
      moved = run();
    } catch {
      moved = undefined;
    } finally {
      Object.assign(Math, saved);
    }
    if (!moved) continue;
    for (const [key, v] of Object.entries(exact)) {
      const w = moved[key];
      if (!w) continue;
      for (let i = 0; i < v.length; i++) {
        const d = Math.abs(w[i] - v[i]);
        if (Number.isFinite(d)) slack[key][i] = Math.max(slack[key][i], 2 * d);
      }
    }
  }
  return slack;
}

export const STRATEGIES = ['direct', 'gather', 'reduction', 'atomic'];
const arrayOf = (type, v) =>
  type === 'Int32Array' ? Int32Array.from(v) : type === 'Uint32Array' ? Uint32Array.from(v) : Float32Array.from(v);
const dot = (a, b) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
};

/**
 * K_b of one spec on the GPU and in JavaScript (same inputs and adjoint seeds): the errors of every
 * array and returned adjoint; with `dotTest`, also <K_d·ẋ, ȳ> vs <ẋ, K_b·ȳ> with both on the GPU.
 */
async function adjointRun(m, ks, spec, dotTest) {
  const meta = m.__parad.kernels[spec.kernel];
  const name = `${spec.kernel}_b`;
  const make = () =>
    Object.fromEntries(
      Object.entries(spec.args).map(([key, v]) => [key, Array.isArray(v) ? arrayOf(spec.types[key], v) : v]),
    );
  const seedsOf = (a) =>
    Object.fromEntries(
      meta.params
        .filter((p) => p.active && p.kind === 'array')
        .map((p) => [p.name, Float32Array.from(a[p.name], (_, i) => Math.sin(i + 1))]),
    );
  const retb = meta.returns === 'void' ? [] : [0.75];
  const listB = (a, seeds) => [
    ...meta.params.flatMap((p) => (p.active && p.kind === 'array' ? [a[p.name], seeds[p.name]] : [a[p.name]])),
    ...retb,
  ];
  // the outputs compared: the arrays, their adjoints, the returned adjoints of scalars
  const outputs = (a, seeds, ret) => {
    const o = {};
    for (const p of meta.params.filter((q) => q.kind === 'array')) {
      o[p.name] = a[p.name];
      if (p.active) o[`${p.name}b`] = seeds[p.name];
    }
    for (const [key, v] of Object.entries(ret ?? {})) o[key] = [v];
    return o;
  };
  // (the seeds made once: mathSlack's runs move Math.sin's results)
  const seeds0 = seedsOf(make());
  const copy = (o) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, v.slice()]));
  const runJs = () => {
    const a = make(),
      seeds = copy(seeds0);
    return outputs(a, seeds, m[name](...listB(a, seeds)));
  };
  const js = runJs();
  const slack = mathSlack(runJs, js);
  const gpuArgs = make(),
    seedsGpu = copy(seeds0);
  const gpuRet = await ks[name](...listB(gpuArgs, seedsGpu));
  const gpu = outputs(gpuArgs, seedsGpu, gpuRet);
  const errors = {};
  for (const key of Object.keys(js)) errors[key] = relError(gpu[key] ?? [undefined], js[key], slack[key]);
  if (!dotTest || !ks[`${spec.kernel}_d`]) return { errors };
  // the dot-product test with K_d and K_b on the GPU: ẋ = cos, ȳ = the seeds above
  const a = make(),
    ad = {};
  const active = meta.params.filter((p) => p.active);
  for (const p of active) ad[p.name] = p.kind === 'array' ? Float32Array.from(a[p.name], (_, i) => Math.cos(i)) : 0.25;
  const xd = Object.fromEntries(active.map((p) => [p.name, p.kind === 'array' ? ad[p.name].slice() : ad[p.name]]));
  const dRet = await ks[`${spec.kernel}_d`](
    ...meta.params.flatMap((p) => (p.active ? [a[p.name], ad[p.name]] : [a[p.name]])),
  );
  const b = make(),
    seeds = seedsOf(b);
  const ybar = Object.fromEntries(Object.entries(seeds).map(([k, v]) => [k, v.slice()]));
  const bRet = await ks[name](...listB(b, seeds));
  let lhs = 0,
    rhs = 0;
  for (const p of active) {
    if (p.kind === 'array') {
      lhs += dot(ad[p.name], ybar[p.name]);
      rhs += dot(xd[p.name], seeds[p.name]);
    } else rhs += xd[p.name] * (bRet?.[`${p.name}b`] ?? 0);
  }
  if (retb.length) lhs += [dRet].flat()[1] * retb[0];
  return { errors, dot: { lhs, rhs, rel: Math.abs(lhs - rhs) / Math.max(1e-3, Math.abs(lhs), Math.abs(rhs)) } };
}

/**
 * Checks `source` (compiled as `fileName`; `resolveImport` for its imports) on `device` with the
 * inputs of `specs` ({ kernel, tag, args: { name: number[] | number }, types: { name: type } }).
 * Returns { diagnostics, tint, runs (K, K_d), adjoints (K_b per strategy), failure? }; without
 * `canRun` (no SwiftShader) only the shaders are compiled.
 */
export async function checkSource(device, canRun, { source, fileName, resolveImport, specs }) {
  return checkCompiled(device, canRun, await compileSource(source, fileName, resolveImport), specs);
}

/**
 * The JavaScript modules (with their WebGPU programs) of `source`: as the analysis chose and with
 * each strategy forced.
 */
export async function compileSource(source, fileName, resolveImport) {
  const options = { fileName, format: 'js', targets: ['ts', 'wgsl'], resolveImport };
  const r = await compile(source, options);
  const forced = {};
  if (r.code)
    for (const strategy of STRATEGIES) forced[strategy] = (await compile(source, { ...options, strategy })).code;
  return { diagnostics: r.diagnostics, code: r.code, forced };
}

/** checkSource of what compileSource returned. */
export async function checkCompiled(device, canRun, r, specs) {
  const entry = {
    diagnostics: r.diagnostics.map((d) => ({ code: d.code, severity: d.severity, message: d.message })),
    tint: [],
    runs: [],
  };
  if (!r.code) return entry;
  const mod = load(r.code);
  for (const k of Object.values(mod.wgsl.kernels)) {
    for (const p of [k.primal, k.d, k.b].filter(Boolean)) {
      for (const [i, pass] of p.passes.entries()) {
        const info = await device.createShaderModule({ code: pass.code }).getCompilationInfo();
        const errors = info.messages
          .filter((m) => m.type === 'error')
          .map((m) => `${m.lineNum}:${m.linePos} ${m.message}`);
        entry.tint.push({ fn: p.name, pass: i, errors, code: errors.length ? pass.code : undefined });
      }
    }
  }
  if (!canRun) return entry;
  let kernels;
  try {
    kernels = await createKernels(device, mod.wgsl);
  } catch (e) {
    entry.failure = String(e?.message ?? e);
    return entry;
  }
  // kernels and the layers that run on WebGPU (their WebGPU variants)
  const onGpu = (m, name) => m.wgsl.kernels[name] ?? m.wgsl.layers?.[name];
  for (const spec of specs) {
    if (!onGpu(mod, spec.kernel)) continue;
    const meta = mod.__parad.kernels[spec.kernel];
    for (const [name, withDirs] of [
      [spec.kernel, false],
      [`${spec.kernel}_d`, true],
    ]) {
      if (!kernels[name]) continue;
      const make = () =>
        Object.fromEntries(
          Object.entries(spec.args).map(([key, v]) => [
            key,
            Array.isArray(v)
              ? spec.types[key] === 'Int32Array'
                ? Int32Array.from(v)
                : spec.types[key] === 'Uint32Array'
                  ? Uint32Array.from(v)
                  : Float32Array.from(v)
              : v,
          ]),
        );
      const dirsOf = (a) =>
        Object.fromEntries(
          meta.params
            .filter((q) => q.active)
            .map((p) => [
              p.name,
              typeof a[p.name] === 'number' ? 0.25 : Float32Array.from(a[p.name], (_, i) => Math.cos(i)),
            ]),
        );
      const list = (a, ds) =>
        meta.params.flatMap((p) => (withDirs && p.active ? [a[p.name], ds[p.name]] : [a[p.name]]));
      // the outputs compared: the arrays, their tangents, the returned value(s)
      const outputs = (a, ds, ret) => {
        const o = {};
        for (const p of meta.params.filter((q) => q.kind === 'array')) {
          o[p.name] = a[p.name];
          if (withDirs && p.active) o[`${p.name}d`] = ds[p.name];
        }
        if (ret !== undefined) o.return = [ret].flat();
        return o;
      };
      // (the directions made once: mathSlack's runs move Math.cos's results)
      const dirs0 = dirsOf(make());
      const copy = () =>
        Object.fromEntries(Object.entries(dirs0).map(([k, v]) => [k, typeof v === 'number' ? v : v.slice()]));
      const runJs = () => {
        const a = make(),
          ds = copy();
        return outputs(a, ds, mod[name](...list(a, ds)));
      };
      const run = { fn: name, kernel: spec.kernel, tag: spec.tag ?? null, errors: {} };
      try {
        const js = runJs();
        const slack = mathSlack(runJs, js);
        const gpuArgs = make(),
          dirsGpu = copy();
        const gpuRet = await kernels[name](...list(gpuArgs, dirsGpu));
        const gpu = outputs(gpuArgs, dirsGpu, gpuRet);
        for (const key of Object.keys(js)) run.errors[key] = relError(gpu[key] ?? [], js[key], slack[key]);
      } catch (e) {
        run.failure = String(e?.message ?? e);
      }
      entry.runs.push(run);
    }
  }
  // K_b on the GPU vs JavaScript, with the strategies the analysis chose and with each one forced
  // (the JS module compiled the same way), and the dot-product test on the GPU itself
  entry.adjoints = [];
  const kernelsWithB = specs.filter((s) => onGpu(mod, s.kernel)?.b);
  if (!kernelsWithB.length) return entry;
  for (const strategy of [undefined, ...STRATEGIES]) {
    const m = strategy ? load(r.forced[strategy]) : mod;
    let ks = kernels;
    try {
      if (strategy) ks = await createKernels(device, m.wgsl);
    } catch (e) {
      entry.adjoints.push({ fn: fileName, strategy, failure: String(e?.message ?? e), errors: {} });
      continue;
    }
    for (const spec of kernelsWithB) {
      const run = {
        fn: `${spec.kernel}_b`,
        kernel: spec.kernel,
        tag: spec.tag ?? null,
        strategy: strategy ?? null,
        errors: {},
      };
      try {
        Object.assign(run, await adjointRun(m, ks, spec, !strategy));
      } catch (e) {
        run.failure = String(e?.stack ?? e);
      }
      entry.adjoints.push(run);
    }
  }
  return entry;
}
