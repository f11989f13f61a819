// npm run bench:gpu: the generated WGSL adjoints (K_b on WebGPU through parad/runtime) against their
// primal, and the adjoint with the analysis' strategies against the same adjoint forced to gather,
// to reduction and to CAS-loop atomics, on a 1-D stencil, a convolution and a high-contention kernel
// (every iteration reads the same 3 weights); plus TF.js's WebGPU gradient of the same convolution.
// WebGPU in Node is dawn.node (npm `webgpu`): on SwiftShader (CPU emulation) where Debian's chromium
// ships it, or on the machine's own GPU with PARAD_GPU_NATIVE=1.
//   BENCH_REPS=9 (median of that many, after WARMUP), BENCH_SMALL=1 (every size 16× smaller)
// Every adjoint is checked against the JavaScript adjoint of the same module first, at a small size
// (relative error <= 1e-3) and at the benchmarked size itself (<= 1e-2, printed as `err`): a
// mismatch exits non-zero.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { compile } from '../dist/transformer/index.js';
import { createKernels } from '../dist/runtime/gpu.js';
import * as runtime from '../dist/runtime/index.js';
import { loadGenerated } from '../test/support/load-generated.mjs';
import { download as downloadFrom, upload as uploadTo } from '../test/support/gpu-buffers.mjs';
import { tfjsWithGradients } from './common.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.join(here, '..');
const REPS = Number(process.env.BENCH_REPS ?? 9);
const WARMUP = 2;
const SMALL = process.env.BENCH_SMALL === '1';
// relative error vs the JavaScript adjoint: at the check size, and (looser) at the benchmarked size,
// where a single f32 accumulator sums millions of terms (forced gather or atomics of poly3's wb: the
// sequential f32 sum of its 4M positive terms is 3.4e-3 off JavaScript's f64 one)
const TOLERANCE = 1e-3,
  TOLERANCE_LARGE = 1e-2;
const GOAL_ADJ = 3,
  GOAL_CONTENTION = 10;

// ---- WebGPU on dawn.node ------------------------------------------------------------------------
const SWIFTSHADER = '/usr/lib/chromium/vk_swiftshader_icd.json';
const native = process.env.PARAD_GPU_NATIVE === '1';
if (!native && fs.existsSync(SWIFTSHADER)) process.env.VK_ICD_FILENAMES = SWIFTSHADER;
process.env.XDG_RUNTIME_DIR ??= fs.mkdtempSync(path.join(os.tmpdir(), 'parad-xdg-'));
const { create, globals } = await import('webgpu');
Object.assign(globalThis, globals);
const gpu = create([]);
const adapter = await gpu.requestAdapter();
if (!adapter) {
  console.error(
    'bench:gpu: no WebGPU adapter (install chromium for SwiftShader, or set PARAD_GPU_NATIVE=1 on a machine with a GPU driver)',
  );
  process.exit(1);
}
// adjoint passes bind a kernel's arrays, their adjoints and staging buffers: more than the default 8
const device = await adapter.requestDevice({
  requiredLimits: { maxStorageBuffersPerShaderStage: adapter.limits.maxStorageBuffersPerShaderStage },
});
const info = adapter.info;
const adapterName = [info.vendor, info.architecture, info.description].filter(Boolean).join(' / ');
const swiftshader = /swiftshader/i.test(`${info.vendor} ${info.architecture} ${info.description} ${info.device}`);
const out = [];
/** Prints and keeps the line for bench/out/gpu.txt. */
const say = (line = '') => {
  console.log(line);
  out.push(line);
};
say(
  `parad bench:gpu (node ${process.version}, ${new Date().toISOString().slice(0, 10)}, median of ${REPS} after ${WARMUP} warm-up${SMALL ? ', BENCH_SMALL: sizes / 16' : ''})`,
);
say(`adapter: ${adapterName}${info.isFallbackAdapter ? ' (fallback adapter)' : ''}`);
if (swiftshader) {
  say('  SwiftShader is CPU emulation of a GPU: the times are CPU times, and atomic contention is hidden');
  say('  (a CAS loop rarely retries on a few CPU threads): atomic/gather and atomic/reduction are not');
  say('  meaningful here, only on a real GPU (PARAD_GPU_NATIVE=1).');
}

// ---- kernels -------------------------------------------------------------------------------------
const load = (code) => loadGenerated(code, runtime);
const to32 = (src) => src.replaceAll('Float64Array', 'Float32Array').replace(/\bf64\b/g, 'f32');
/** One kernel of a fixture, made 32-bit: the file's import line and the kernel's JSDoc and function. */
function fixtureKernel(file, kernel) {
  const [header, ...chunks] = to32(fs.readFileSync(path.join(root, file), 'utf8')).split(/\n(?=\/\*\*)/);
  return `${header}\n${chunks.find((c) => c.includes(`export function ${kernel}(`))}`;
}
// the high-contention kernel: every iteration reads w[0..2], so wb is summed over all n iterations
const POLY3 = `import type { i32 } from 'parad';

/** A polynomial-and-sine model with 3 shared weights. @kernel */
export function poly3(y: Float32Array, x: Float32Array, w: Float32Array, n: i32): void {
  // @parallel
  for (let i = 0; i < n; i++) {
    y[i] = w[0] * x[i] + w[1] * x[i] * x[i] + w[2] * Math.sin(x[i]);
  }
}
`;

let seed = 42;
const rnd = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
const arr = (n) => Float32Array.from({ length: n }, () => rnd() - 0.5);
/** Deterministic, non-uniform adjoint seeds. */
const seeds = (n) => Float32Array.from({ length: n }, (_, i) => 0.5 + ((i * 7919) % 101) / 101);

const div = SMALL ? 16 : 1;
/** Each case: a kernel, and its arguments by parameter name at the benchmarked size and at a small check size. */
const cases = [
  {
    name: 'stencil3',
    file: 'fixtures/stencil1d/stencil1d.ts',
    kernel: 'stencil3',
    what: 'out[i] = w[0]·u[i-1] + w[1]·u[i] + w[2]·u[i+1]',
    make: (n) => ({ out: new Float32Array(n), u: arr(n), w: Float32Array.of(0.25, 0.5, 0.25), n }),
    size: [2 ** 22 / div],
    check: [3001],
  },
  {
    name: 'conv2d',
    file: 'fixtures/conv2d/conv2d.ts',
    kernel: 'conv2d',
    what: 'C=16 H=W=%H F=16 K=3, NCHW, valid',
    make: (C, H, W, F, K) => ({
      out: new Float32Array(F * (H - K + 1) * (W - K + 1)),
      inp: arr(C * H * W),
      w: arr(F * C * K * K),
      bias: arr(F),
      C,
      H,
      W,
      F,
      K,
    }),
    size: [16, 128 / Math.sqrt(div), 128 / Math.sqrt(div), 16, 3],
    check: [3, 13, 11, 4, 3],
  },
  {
    name: 'poly3',
    source: POLY3,
    kernel: 'poly3',
    what: 'y[i] = w[0]·x[i] + w[1]·x[i]² + w[2]·sin(x[i]): all iterations read w',
    make: (n) => ({ y: new Float32Array(n), x: arr(n), w: Float32Array.of(0.7, -0.3, 0.2), n }),
    size: [2 ** 22 / div],
    check: [100003],
  },
];
const VARIANTS = [
  ['adjoint', undefined],
  ['gather', 'gather'],
  ['reduction', 'reduction'],
  ['atomic', 'atomic'],
];

/** Largest error relative to the largest |value| (at least 1e-3); NaN on one side only is Infinity. */
function relError(a, b) {
  let scale = 1e-3,
    worst = 0;
  for (const x of b) if (Number.isFinite(x)) scale = Math.max(scale, Math.abs(x));
  for (let i = 0; i < b.length; i++) {
    if (Object.is(a[i], b[i]) || (Number.isNaN(a[i]) && Number.isNaN(b[i]))) continue;
    worst = Math.max(worst, Number.isNaN(a[i] - b[i]) ? Infinity : Math.abs(a[i] - b[i]) / scale);
  }
  return a.length === b.length ? worst : Infinity;
}
/**
 * The strategy per read of the kernel's parallel loops on the GPU (`targets.wgsl` of
 * `compile(...).analysis`, with the fallbacks the schedule noted).
 */
function strategiesOf(r, kernel) {
  const reads = r.analysis.kernels.find((k) => k.name === kernel).loops.flatMap((l) => l.reads);
  return reads
    .map((x) => {
      const d = x.targets?.wgsl ?? x;
      const fell = d.reason.includes('cannot be used') ? ` (${d.reason.slice(d.reason.indexOf('; ') + 2)})` : '';
      return `${x.name} ${d.strategy}${fell}`;
    })
    .join(', ');
}
const upload = (a) => uploadTo(device, a);
const download = (b) => downloadFrom(device, b);
const clone = (v) => Object.fromEntries(Object.entries(v).map(([k, x]) => [k, typeof x === 'number' ? x : x.slice()]));
/** Arguments of K and K_b from named values; K_b gets a `b` partner (seeded) after each active array. */
function argsOf(meta, values) {
  const b = {};
  for (const p of meta.params) if (p.active && p.kind === 'array') b[`${p.name}b`] = seeds(values[p.name].length);
  const all = { ...values, ...b };
  return {
    all,
    primal: () => meta.params.map((p) => all[p.name]),
    adjoint: (v = all) =>
      meta.params.flatMap((p) => (p.active && p.kind === 'array' ? [v[p.name], v[`${p.name}b`]] : [v[p.name]])),
  };
}
/** The largest error of two states (primal and adjoint arrays) and the array it is in. */
function worstError(got, want) {
  let worst = { key: '', err: 0 };
  for (const [key, v] of Object.entries(want)) {
    if (typeof v === 'number') continue;
    const err = relError(got[key], v);
    if (!(err <= worst.err)) worst = { key, err: Number.isNaN(err) ? Infinity : err };
  }
  return worst;
}
/** The array where two states differ beyond `tol`, or undefined. */
function mismatch(got, want, tol = TOLERANCE) {
  const { key, err } = worstError(got, want);
  return err <= tol ? undefined : `'${key}' (relative error ${err.toExponential(2)})`;
}
const fail = (what) => {
  console.error(`\n*** MISMATCH: ${what} ***\n`);
  process.exit(1);
};
const f2 = (x) => (x === undefined ? 'n/a' : x.toFixed(2));
const ratio = (a, b) => (a === undefined || b === undefined ? undefined : a / b);
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const short = (e) =>
  String(e?.message ?? e)
    .split('\n')[0]
    .slice(0, 160);

const results = [];
/** Each case's compiled variants and median times (the TF.js comparison uses conv2d's). */
const byCase = {};
for (const c of cases) {
  const source = c.source ?? fixtureKernel(c.file, c.kernel);
  const fileName = c.file ?? `bench/${c.kernel}.ts`;
  const what = c.what.replace('%H', String(c.size[1]));
  say();
  say(`${c.name}${c.size.length === 1 ? ` n=${c.size[0]}` : ''} (${what})`);
  // compile and load every variant; the reference is the JavaScript K_b of the same module
  const variants = [];
  for (const [label, strategy] of VARIANTS) {
    const r = await compile(source, { fileName, format: 'js', targets: ['ts', 'wgsl'], strategy });
    if (!r.code) throw new Error(`${c.name}: does not compile: ${r.diagnostics.map((d) => d.message).join('; ')}`);
    const mod = load(r.code);
    const v = { label, strategy, mod, strategies: strategiesOf(r, c.kernel), meta: mod.__parad.kernels[c.kernel] };
    try {
      v.k = await createKernels(device, mod.wgsl);
      if (!v.k[`${c.kernel}_b`]) throw new Error('no WGSL adjoint emitted');
    } catch (e) {
      v.failure = short(e);
    }
    variants.push(v);
  }
  const meta = variants[0].meta;

  // 1. correctness at the check size: GPU (typed arrays, read back) vs JavaScript, K and each K_b
  {
    const base = c.make(...c.check);
    const { k, mod } = variants[0];
    if (k) {
      const js = clone(base),
        g = clone(base);
      mod[c.kernel](...meta.params.map((p) => js[p.name]));
      await k[c.kernel](...meta.params.map((p) => g[p.name]));
      const bad = mismatch(g, js);
      if (bad) fail(`${c.name}: primal on the GPU and in JavaScript differ in ${bad}`);
    }
    for (const v of variants.filter((x) => !x.failure)) {
      const js = argsOf(meta, clone(base)),
        g = argsOf(meta, clone(base));
      v.mod[`${c.kernel}_b`](...js.adjoint());
      try {
        await v.k[`${c.kernel}_b`](...g.adjoint());
      } catch (e) {
        v.failure = `at the check size: ${short(e)}`;
        continue;
      }
      const bad = mismatch(g.all, js.all);
      if (bad)
        fail(
          `${c.name} ${v.label} (${v.strategies}): K_b on the GPU and in JavaScript differ in ${bad} at the check size`,
        );
    }
  }

  // 2. the benchmarked size: one set of GPU buffers, every array (primal and adjoint) restored from
  // a pristine copy before each call, outside the timing; the reference is one JavaScript K_b
  const base = c.make(...c.size);
  const ref = argsOf(meta, clone(base));
  variants[0].mod[`${c.kernel}_b`](...ref.adjoint());
  const start = argsOf(meta, base).all;
  const names = Object.keys(start).filter((k) => typeof start[k] !== 'number');
  const pristine = Object.fromEntries(names.map((k) => [k, upload(start[k])]));
  const live = Object.fromEntries(names.map((k) => [k, upload(start[k])]));
  const bufs = { ...start, ...live };
  const reset = async () => {
    const enc = device.createCommandEncoder();
    for (const k of names) enc.copyBufferToBuffer(pristine[k], 0, live[k], 0, live[k].size);
    device.queue.submit([enc.finish()]);
    await device.queue.onSubmittedWorkDone();
  };
  const primalArgs = meta.params.map((p) => bufs[p.name]);
  const adjointArgs = meta.params.flatMap((p) =>
    p.active && p.kind === 'array' ? [bufs[p.name], bufs[`${p.name}b`]] : [bufs[p.name]],
  );
  // the timed runs: the call (validated and submitted) and the device work it submitted
  const runs = variants[0].k
    ? [{ label: 'primal', call: () => variants[0].k[c.kernel](...primalArgs), times: [] }]
    : [];
  for (const v of variants) {
    if (v.failure) continue;
    // the benchmarked size's result itself must match JavaScript (this is also a first warm-up)
    try {
      await reset();
      await v.k[`${c.kernel}_b`](...adjointArgs);
      await device.queue.onSubmittedWorkDone();
      const got = {};
      for (const k of names) got[k] = await download(live[k]);
      v.error = worstError(got, ref.all).err;
      const bad = mismatch(got, ref.all, TOLERANCE_LARGE);
      if (bad)
        fail(
          `${c.name} ${v.label} (${v.strategies}): K_b on the GPU and in JavaScript differ in ${bad} at the benchmarked size`,
        );
    } catch (e) {
      v.failure = short(e);
      continue;
    }
    runs.push({ label: v.label, call: () => v.k[`${c.kernel}_b`](...adjointArgs), times: [], v });
  }
  // interleaved: one call of each kind per repetition, so drift hits all alike
  for (let rep = 0; rep < REPS + WARMUP; rep++) {
    for (const run of runs) {
      await reset();
      const t0 = performance.now();
      await run.call();
      await device.queue.onSubmittedWorkDone();
      const dt = performance.now() - t0;
      if (rep >= WARMUP) run.times.push(dt);
    }
  }
  for (const k of names) {
    pristine[k].destroy();
    live[k].destroy();
  }
  const ms = Object.fromEntries(runs.map((r) => [r.label, median(r.times)]));
  // each figure with the strategy per read it was compiled with, and its error vs JavaScript
  say(`  ${'primal'.padEnd(25)} ${f2(ms.primal).padStart(10)} ms`);
  for (const v of variants) {
    const title = v.strategy ? `adjoint, forced ${v.strategy}` : "adjoint, analysis' choice";
    const figure = v.failure ? 'failed'.padStart(13) : `${ms[v.label].toFixed(2).padStart(10)} ms`;
    const err = v.failure ? ''.padEnd(13) : `err ${v.error.toExponential(1).padEnd(9)}`;
    say(`  ${title.padEnd(25)} ${figure}  ${err}  ${v.strategies}${v.failure ? `\n    ${v.failure}` : ''}`);
  }
  results.push({ name: c.name, ms, contention: c.name === 'poly3' });
  byCase[c.name] = { variants, ms };
}

// ---- TF.js: tf.grads of the same convolution on its WebGPU backend -----------------------------------
/**
 * TF.js's gradient of loss = Σ out·seed, out = conv2d(inp, w) + bias, at the conv2d case's size
 * (NHWC, its native layout; the data transposed from parad's NCHW once, untimed), checked against
 * parad's JavaScript adjoint at the check size. Times tf.grads (forward and backward, as K_b) and
 * the forward alone, each until its device work is done.
 */
async function tfjsConv2d() {
  // the backend registers itself only where navigator.gpu exists (Node 20 has no navigator)
  if (!globalThis.navigator?.gpu)
    Object.defineProperty(globalThis, 'navigator', {
      value: { ...globalThis.navigator, gpu },
      configurable: true,
      writable: true,
    });
  const tf = await tfjsWithGradients('@tensorflow/tfjs-backend-webgpu');
  if (!(await tf.setBackend('webgpu'))) throw new Error('the webgpu backend did not initialize');
  const backend = tf.backend();
  // TF.js batches dispatches into an open compute pass: end it, submit, wait for the device
  const done = async () => {
    backend.endComputePassEncoder();
    if (backend.commandEncoder) backend.submitQueue();
    await backend.device.queue.onSubmittedWorkDone();
  };
  const { variants, ms } = byCase.conv2d;
  const meta = variants[0].meta;
  const toNHWC = (a, C, H, W) =>
    Float32Array.from(
      { length: a.length },
      (_, j) => a[((j % C) * H + Math.floor(j / C / W)) * W + (Math.floor(j / C) % W)],
    );
  const filterOf = (w, F, C, K) =>
    Float32Array.from({ length: w.length }, (_, j) => {
      const f = j % F,
        c = Math.floor(j / F) % C,
        kx = Math.floor(j / F / C) % K,
        ky = Math.floor(j / F / C / K);
      return w[((f * C + c) * K + ky) * K + kx];
    });
  const setup = (C, H, W, F, K) => {
    const a = cases[1].make(C, H, W, F, K);
    const OH = H - K + 1,
      OW = W - K + 1;
    const seedNCHW = seeds(F * OH * OW);
    const x = tf.tensor4d(toNHWC(a.inp, C, H, W), [1, H, W, C]);
    const w = tf.tensor4d(filterOf(a.w, F, C, K), [K, K, C, F]);
    const b = tf.tensor1d(a.bias);
    const s = tf.tensor4d(toNHWC(seedNCHW, F, OH, OW), [1, OH, OW, F]);
    const forward = (xx, ww, bb) => tf.add(tf.conv2d(xx, ww, 1, 'valid', 'NHWC'), bb);
    const grads = tf.grads((xx, ww, bb) => tf.sum(tf.mul(forward(xx, ww, bb), s)));
    return { a, seedNCHW, x, w, b, s, forward, grads, dims: { C, H, W, F, K } };
  };
  // check: the gradients against parad's JavaScript adjoint (zero adjoint accumulators, outb = seed)
  {
    const t = setup(...cases[1].check);
    const { C, H, W, F, K } = t.dims;
    const js = {
      ...t.a,
      outb: t.seedNCHW.slice(),
      inpb: new Float32Array(t.a.inp.length),
      wb: new Float32Array(t.a.w.length),
      biasb: new Float32Array(F),
    };
    variants[0].mod.conv2d_b(
      ...meta.params.flatMap((p) => (p.active && p.kind === 'array' ? [js[p.name], js[`${p.name}b`]] : [js[p.name]])),
    );
    const [dx, dw, db] = t.grads([t.x, t.w, t.b]);
    const pairs = [
      ['inpb', await dx.data(), toNHWC(js.inpb, C, H, W)],
      ['wb', await dw.data(), filterOf(js.wb, F, C, K)],
      ['biasb', await db.data(), js.biasb],
    ];
    for (const [key, got, want] of pairs) {
      const e = relError(got, want);
      if (!(e <= TOLERANCE))
        fail(
          `TF.js's gradient and parad's JavaScript adjoint of conv2d differ in '${key}' (relative error ${e.toExponential(2)})`,
        );
    }
    tf.dispose([dx, dw, db, t.x, t.w, t.b, t.s]);
  }
  const t = setup(...cases[1].size);
  const time = async (f) => {
    const times = [];
    for (let rep = 0; rep < REPS + WARMUP; rep++) {
      await done();
      const t0 = performance.now();
      const r = f();
      await done();
      const dt = performance.now() - t0;
      tf.dispose(r);
      if (rep >= WARMUP) times.push(dt);
    }
    return median(times);
  };
  const fwd = await time(() => t.forward(t.x, t.w, t.b));
  const grad = await time(() => t.grads([t.x, t.w, t.b]));
  tf.dispose([t.x, t.w, t.b, t.s]);
  const lines = [
    `TF.js ${tf.version_core} WebGPU, conv2d at the same size (NHWC, same adapter, its own device):`,
    `  tf.conv2d + bias          ${fwd.toFixed(2).padStart(9)} ms   parad primal / TF.js forward   ${f2(ratio(ms.primal, fwd))}`,
    `  tf.grads (fwd + bwd)      ${grad.toFixed(2).padStart(9)} ms   parad adjoint / TF.js tf.grads ${f2(ratio(ms.adjoint, grad))}`,
  ];
  return lines.join('\n');
}

// ---- summary -------------------------------------------------------------------------------------
const rows = results.map((r) => {
  const adjPrimal = ratio(r.ms.adjoint, r.ms.primal);
  const ag = ratio(r.ms.atomic, r.ms.gather);
  const contentionMark =
    r.contention && ag !== undefined ? (swiftshader ? ' (n/m)' : ag >= GOAL_CONTENTION ? ' ok' : ' MISS') : '';
  return [
    r.name,
    f2(r.ms.primal),
    f2(r.ms.adjoint),
    f2(r.ms.gather),
    f2(r.ms.reduction),
    f2(r.ms.atomic),
    adjPrimal === undefined ? 'n/a' : `${f2(adjPrimal)} ${adjPrimal <= GOAL_ADJ ? 'ok' : 'MISS'}`,
    `${f2(ag)}${contentionMark}`,
    f2(ratio(r.ms.atomic, r.ms.reduction)),
    f2(ratio(r.ms.atomic, r.ms.adjoint)),
  ];
});
const head = [
  'case',
  'primal ms',
  'adjoint ms',
  'gather ms',
  'reduction ms',
  'atomic ms',
  `adjoint/primal (goal <= ${GOAL_ADJ})`,
  `atomic/gather (goal >= ${GOAL_CONTENTION} on poly3, real GPU)`,
  'atomic/reduction',
  'atomic/adjoint',
];
const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
const line = (r) => r.map((x, i) => (i ? x.padStart(widths[i]) : x.padEnd(widths[i]))).join('  ');
say();
say("adjoint = K_b on WebGPU with the analysis' strategies; gather / reduction / atomic = the same forced");
say('(n/a: failed, see above); every K_b also runs the primal; times until the submitted work is done;');
say('err above: the largest relative error of the GPU adjoint vs the JavaScript K_b at the benchmarked size');
say(line(head));
for (const r of rows) say(line(r));
if (swiftshader) say('(n/m: not meaningful on SwiftShader, see above)');
say();
// after the table: TF.js's checks may fail the run too
try {
  say(await tfjsConv2d());
} catch (e) {
  say(`TF.js WebGPU: not run here (${short(e)})`);
}
// ---- a layer: the heat equation's time loop on WebGPU, checkpointed vs stored ---------------------
try {
  const m = load(
    (
      await compile(to32(fs.readFileSync(path.join(root, 'fixtures/timestep/timestep.ts'), 'utf8')), {
        fileName: 'fixtures/timestep/timestep.ts',
        format: 'js',
        targets: ['ts', 'wgsl'],
      })
    ).code,
  );
  const k = await createKernels(device, m.wgsl);
  const n = SMALL ? 1 << 14 : 1 << 18,
    T = SMALL ? 100 : 300;
  const u0 = Float32Array.from({ length: n }, (_, i) => Math.sin(i / 97) + 1),
    w = Float32Array.from({ length: n }, () => 1);
  const timeLayer = async (f) => {
    const times = [];
    for (let rep = 0; rep < Math.min(REPS, 3) + 1; rep++) {
      const t0 = performance.now();
      await f();
      if (rep) times.push(performance.now() - t0);
    }
    return median(times);
  };
  const primal = await timeLayer(() => k.heatRun(u0.slice(), w, 0.2, n, T));
  const stored = await timeLayer(() => k.heatRunAll_b(u0.slice(), new Float32Array(n), w, 0.2, n, T, 1));
  say(`layer heatRun on WebGPU (n = ${n}, T = ${T}; typed arrays in and out, one read-back per call):`);
  say(
    `  primal ${primal.toFixed(1)} ms; store-all heatRunAll_b ${stored.toFixed(1)} ms = ${f2(stored / primal)}x the primal`,
  );
  for (const c of [5, 10, 30]) {
    runtime.setCheckpointing({ slots: c }, 'heatRun');
    const ms = await timeLayer(() => k.heatRun_b(u0.slice(), new Float32Array(n), w, 0.2, n, T, 1));
    const st = runtime.lastCheckpointRun().stats;
    say(
      `  c = ${String(c).padStart(2)}: ${ms.toFixed(1)} ms = ${f2(ms / primal)}x the primal, ${st.forwardSteps} forward steps (${st.recomputed} recomputed)`,
    );
  }
  runtime.resetCheckpointing();
} catch (e) {
  say(`layer heatRun on WebGPU: failed (${short(e)})`);
}
fs.mkdirSync(path.join(here, 'out'), { recursive: true });
fs.writeFileSync(path.join(here, 'out', 'gpu.txt'), `${out.join('\n')}\n`);
device.destroy();
process.exit(0);
