// Natural formulations (bench/kernels/natural.ts): each kernel written as a user would, its generated
// adjoint K_b timed against its primal K (goal: K_b / K <= 3), in both JavaScript schedules, and,
// where TF.js has the op, against `tf.grads` on TF.js's CPU backend (goal: parad >= 2x faster).
// Before any timing every adjoint passes the dot-product test (parad/testing's checkAdjoint) and
// agrees with TF.js's gradient on the benchmarked data; a disagreement stops the run.
import fs from 'node:fs';
import path from 'node:path';
import { checkAdjoint } from '../dist/testing/index.js';
import * as hand from './handwritten.mjs';
import {
  root,
  arr,
  compileModule,
  differs,
  tfjsWithGradients,
  mark,
  mismatch,
  ms,
  random,
  relativeError,
  seeds,
  table,
  timeInterleaved,
} from './common.mjs';

export const NATURAL_FILE = 'bench/kernels/natural.ts';
/** Per kernel, the sizes of the dot-product test (parad/testing's makeArgs recipe; test/bench-kernels.test.ts uses them too). */
const SIZES_FILE = 'bench/kernels/natural.sizes.json';
const SMALL = JSON.parse(fs.readFileSync(path.join(root, SIZES_FILE), 'utf8'));
export const GOAL_RATIO = 3;
export const GOAL_TF = 2;

/** TF.js, loaded by runNatural (the cases' ops use it). */
let tf;

const conv = (H, K, s) => Math.floor((H - K) / s) + 1;

/**
 * The cases. `p`: the integer parameters of the timed run; `lengths(p)`: every array's length; `tf`: the same op in TF.js (`inputs`: the active arrays that
 * are its arguments, with their shapes; `op`: the tensors to the output; `output`: its shape), or
 * `none`: why there is no TF.js row; `hand` (optional): a hand-written K_b with the generated one's
 * arguments and contract (bench/handwritten.mjs), timed beside it: the ceiling of the form.
 */
export const NATURAL = [
  {
    kernel: 'conv2dStrided',
    label: 'conv2d, OH/OW/stride parameters (s=2)',
    p: (() => {
      const H = 64,
        W = 64,
        K = 3,
        s = 2;
      return { H, W, C: 8, F: 16, K, stride: s, OH: conv(H, K, s), OW: conv(W, K, s) };
    })(),
    lengths: (p) => ({ out: p.OH * p.OW * p.F, inp: p.H * p.W * p.C, w: p.K * p.K * p.C * p.F, bias: p.F }),
    tf: {
      inputs: (p) => [
        ['inp', [1, p.H, p.W, p.C]],
        ['w', [p.K, p.K, p.C, p.F]],
        ['bias', [p.F]],
      ],
      op: (p, x, w, b) => tf.add(tf.conv2d(x, w, p.stride, 'valid'), b),
      output: (p) => [1, p.OH, p.OW, p.F],
      name: 'conv2d + add',
    },
  },
  {
    kernel: 'avgPool3s2',
    label: 'avgPool 3×3 s2, run-time sizes',
    p: { H: 128, W: 128, C: 16, OH: conv(128, 3, 2), OW: conv(128, 3, 2) },
    lengths: (p) => ({ out: p.OH * p.OW * p.C, inp: p.H * p.W * p.C }),
    tf: {
      inputs: (p) => [['inp', [1, p.H, p.W, p.C]]],
      op: (p, x) => tf.avgPool(x, 3, 2, 'valid'),
      output: (p) => [1, p.OH, p.OW, p.C],
      name: 'avgPool',
    },
  },
  {
    kernel: 'maxPool3s2',
    label: 'maxPool 3×3 s2, run-time sizes',
    p: { H: 128, W: 128, C: 16, OH: conv(128, 3, 2), OW: conv(128, 3, 2) },
    lengths: (p) => ({ out: p.OH * p.OW * p.C, inp: p.H * p.W * p.C }),
    tf: {
      inputs: (p) => [['inp', [1, p.H, p.W, p.C]]],
      op: (p, x) => tf.maxPool(x, 3, 2, 'valid'),
      output: (p) => [1, p.OH, p.OW, p.C],
      name: 'maxPool',
    },
  },
  {
    kernel: 'upsample2x',
    label: 'nearest upsample ×2, `y >> 1`',
    p: { H: 64, W: 64, C: 16 },
    lengths: (p) => ({ out: 4 * p.H * p.W * p.C, inp: p.H * p.W * p.C }),
    tf: {
      inputs: (p) => [['inp', [1, p.H, p.W, p.C]]],
      op: (p, x) => tf.image.resizeNearestNeighbor(x, [2 * p.H, 2 * p.W]),
      output: (p) => [1, 2 * p.H, 2 * p.W, p.C],
      name: 'image.resizeNearestNeighbor',
    },
  },
  {
    kernel: 'periodic3',
    label: 'periodic 3-point stencil, `(i + 1) % n`',
    p: { n: 1 << 18 },
    lengths: (p) => ({ out: p.n, u: p.n, w: 3 }),
    none: 'no periodic stencil op',
  },
  {
    kernel: 'pixelShuffle',
    label: 'pixel shuffle r=2, `/` and `%`',
    p: { H: 64, W: 64, C: 4, r: 2 },
    lengths: (p) => ({ out: p.H * p.W * p.r * p.r * p.C, inp: p.H * p.W * p.r * p.r * p.C }),
    tf: {
      // tf.depthToSpace has no gradient in TF.js: reshape + transpose + reshape, as a user would write it
      inputs: (p) => [['inp', [1, p.H, p.W, p.r * p.r * p.C]]],
      op: (p, x) =>
        tf.reshape(tf.transpose(tf.reshape(x, [p.H, p.W, p.r, p.r, p.C]), [0, 2, 1, 3, 4]), [
          1,
          p.H * p.r,
          p.W * p.r,
          p.C,
        ]),
      output: (p) => [1, p.H * p.r, p.W * p.r, p.C],
      name: 'reshape/transpose (depthToSpace has no gradient)',
    },
  },
  {
    kernel: 'resizeBilinear',
    label: 'bilinear resize 64→96',
    p: { H: 64, W: 64, C: 16, OH: 96, OW: 96 },
    lengths: (p) => ({ out: p.OH * p.OW * p.C, inp: p.H * p.W * p.C }),
    tf: {
      inputs: (p) => [['inp', [1, p.H, p.W, p.C]]],
      op: (p, x) => tf.image.resizeBilinear(x, [p.OH, p.OW], false, false),
      output: (p) => [1, p.OH, p.OW, p.C],
      name: 'image.resizeBilinear',
    },
    hand: hand.resizeBilinear_b,
  },
  {
    kernel: 'convTranspose',
    label: 'transposed conv s=2, parallel over outputs',
    p: (() => {
      const H = 32,
        W = 32,
        K = 3,
        s = 2;
      return { H, W, C: 8, F: 8, K, stride: s, OH: (H - 1) * s + K, OW: (W - 1) * s + K };
    })(),
    lengths: (p) => ({ out: p.OH * p.OW * p.F, inp: p.H * p.W * p.C, w: p.K * p.K * p.F * p.C }),
    tf: {
      inputs: (p) => [
        ['inp', [1, p.H, p.W, p.C]],
        ['w', [p.K, p.K, p.F, p.C]],
      ],
      op: (p, x, w) => tf.conv2dTranspose(x, w, [1, p.OH, p.OW, p.F], p.stride, 'valid'),
      output: (p) => [1, p.OH, p.OW, p.F],
      name: 'conv2dTranspose',
    },
  },
];

/** The kernel's arguments in order: for K, and for K_b (each active array followed by its adjoint). */
function argLists(meta, values, bars) {
  const primal = meta.params.map((q) => values[q.name]);
  const adjoint = meta.params.flatMap((q) =>
    q.active && q.kind === 'array' ? [values[q.name], bars[q.name]] : [values[q.name]],
  );
  return { primal, adjoint };
}

/** The WebGPU schedule of a kernel's nests, per array read: `inp no→atomic`. */
function scheduleOf(report) {
  const parts = [];
  for (const loop of report?.loops ?? []) {
    for (const read of loop.reads ?? [])
      parts.push(`${read.name} ${read.exclusiveRead}→${read.targets?.wgsl?.strategy ?? read.strategy}`);
  }
  return parts.join(', ');
}

/** Runs the section; returns its markdown table (with a title and notes). */
export async function runNatural() {
  tf = await tfjsWithGradients('@tensorflow/tfjs-backend-cpu');
  await tf.setBackend('cpu');
  await tf.ready();
  const t0 = performance.now();
  const { mod, compiled } = await compileModule(NATURAL_FILE);
  const compileMs = performance.now() - t0;
  const { mod: par } = await compileModule(NATURAL_FILE, { schedule: 'parallel' }, '.parallel');
  const reports = Object.fromEntries(compiled.analysis.kernels.map((k) => [k.name, k]));
  const rows = [];
  // BENCH_NATURAL=kernel,kernel: only those rows
  const only = process.env.BENCH_NATURAL?.split(',');
  for (const c of NATURAL.filter((c) => !only || only.includes(c.kernel))) {
    const meta = mod.__parad.kernels[c.kernel];
    if (!meta) mismatch(`${NATURAL_FILE} has no kernel ${c.kernel}`);
    // 1. the dot-product test of both schedules' adjoints against the tangent, at small sizes
    if (!SMALL[c.kernel]) mismatch(`${SIZES_FILE} has no sizes for ${c.kernel}`);
    for (const [which, m] of [
      ['default', mod],
      ['parallel', par],
    ]) {
      const r = checkAdjoint(m, c.kernel, { sizes: SMALL[c.kernel] });
      if (!r.ok) mismatch(`${c.kernel} (${which} schedule): ${r.message}`);
    }
    // 2. the timed data; the adjoint against TF.js's gradient on exactly that data
    const rnd = random(7);
    const len = c.lengths(c.p);
    const values = { ...c.p },
      bars = {};
    for (const q of meta.params) {
      if (q.kind !== 'array') continue;
      // a float32 kernel (as TF.js computes) gets Float32Array data
      const A = q.type === 'Float32Array' ? Float32Array : Float64Array;
      values[q.name] = A.from(arr(rnd, len[q.name]));
      if (q.active) bars[q.name] = new A(len[q.name]);
    }
    const outName = meta.params[0].name;
    bars[outName] = bars[outName].constructor.from(seeds(len[outName]));
    const template = {
      ...Object.fromEntries(
        meta.params.filter((q) => q.kind === 'array' && q.active).map((q) => [q.name, values[q.name]]),
      ),
      ...Object.fromEntries(Object.entries(bars).map(([k, v]) => [`${k}b`, v])),
    };
    const makeState = () => Object.fromEntries(Object.entries(template).map(([k, v]) => [k, v.slice()]));
    const call = (fn, s, adjoint) => {
      const v = { ...values },
        b = {};
      for (const q of meta.params)
        if (q.kind === 'array' && q.active) {
          v[q.name] = s[q.name];
          b[q.name] = s[`${q.name}b`];
        }
      const lists = argLists(meta, v, b);
      return fn(...(adjoint ? lists.adjoint : lists.primal));
    };
    const K = mod[c.kernel],
      Kb = mod[`${c.kernel}_b`],
      KbPar = par[`${c.kernel}_b`];
    const once = makeState();
    call(Kb, once, true);

    let tfRun,
      tfNote = c.none ?? '';
    if (c.tf) {
      const inputs = c.tf.inputs(c.p).map(([name, shape]) => [name, tf.tensor(Float32Array.from(values[name]), shape)]);
      const dy = tf.tensor(Float32Array.from(bars[outName]), c.tf.output(c.p));
      const f = (...xs) => c.tf.op(c.p, ...xs);
      const grads = tf.grads(f);
      const forward = tf.tidy(() => f(...inputs.map(([, t]) => t)));
      const fwdErr = relativeError(once[outName], forward.dataSync());
      forward.dispose();
      if (!(fwdErr <= 1e-4))
        mismatch(
          `${c.kernel}: the primal output differs from TF.js ${c.tf.name} (relative ${fwdErr.toExponential(2)})`,
        );
      const gs = grads(
        inputs.map(([, t]) => t),
        dy,
      );
      inputs.forEach(([name], i) => {
        const err = relativeError(once[`${name}b`], gs[i].dataSync());
        if (!(err <= 1e-4))
          mismatch(
            `${c.kernel}: the adjoint of ${name} differs from TF.js's tf.grads of ${c.tf.name} (relative ${err.toExponential(2)})`,
          );
      });
      tf.dispose(gs);
      tfRun = () => {
        const out = grads(
          inputs.map(([, t]) => t),
          dy,
        );
        for (const t of out) t.dataSync();
        tf.dispose(out);
      };
      tfNote = c.tf.name;
    }

    // 3. interleaved timing
    const reset = (s) => {
      for (const [k, v] of Object.entries(template)) s[k].set(v);
    };
    const variants = {
      primal: { state: makeState, reset, run: (s) => call(K, s, false) },
      adjoint: { state: makeState, reset, run: (s) => call(Kb, s, true) },
      parallel: { state: makeState, reset, run: (s) => call(KbPar, s, true) },
    };
    if (tfRun) variants.tf = { run: tfRun };
    if (c.hand) {
      // the hand-written adjoint must agree with the generated one on the timed data
      const mine = makeState();
      call(c.hand, mine, true);
      const bad = differs(once, {}, mine, {});
      if (bad) mismatch(`${c.kernel}: the hand-written K_b differs from the generated one in ${bad}`);
      variants.hand = { state: makeState, reset, run: (s) => call(c.hand, s, true) };
    }
    const t = await timeInterleaved(variants);
    rows.push([
      c.label,
      c.kernel,
      ms(t.primal),
      ms(t.adjoint),
      ms(t.parallel),
      ms(t.tf),
      ms(t.hand),
      mark(t.adjoint / t.primal, GOAL_RATIO),
      (t.parallel / t.primal).toFixed(2),
      tfRun ? mark(t.tf / t.adjoint, GOAL_TF, true) : '—',
      tfRun && c.hand ? (t.tf / t.hand).toFixed(2) : '—',
      String(t.reps),
      tfNote,
      scheduleOf(reports[c.kernel]),
    ]);
  }
  const head = [
    'formulation',
    'kernel',
    'K ms',
    'K_b ms',
    'K_b parallel ms',
    'tf.grads ms',
    'hand K_b ms',
    `K_b / K (goal <= ${GOAL_RATIO})`,
    'K_b parallel / K',
    `tf.grads / K_b (goal >= ${GOAL_TF})`,
    'tf.grads / hand K_b',
    'reps',
    'TF.js op',
    'WebGPU schedule (read verdict→strategy)',
  ];
  return [
    '### Natural formulations',
    '',
    `bench/kernels/natural.ts (${NATURAL.length} kernels, transpiled in ${(compileMs / 1000).toFixed(1)} s, cold analysis); every adjoint passed the dot-product test`,
    "and agrees with TF.js's gradient (float32, relative 1e-4) before timing. K_b: default (sequential) schedule;",
    "K_b parallel: `schedule: 'parallel'`; tf.grads: TF.js CPU backend, float32, forward + gradients + dataSync;",
    'hand K_b: the fastest hand-written adjoint found for the form (bench/handwritten.mjs), where there is one.',
    '',
    table(head, rows),
  ].join('\n');
}
