// conv2d (fixtures/conv2d, NCHW, valid, stride 1) against jax-js (@jax-js/jax): `vjp` of
// lax.conv + bias under `jit` on its wasm backend, same data, same process, interleaved repetitions
// (goal: parad's K_b >= 1.5x faster). jax-js is checked against parad's adjoint first.
import fs from 'node:fs';
import path from 'node:path';
import {
  root,
  arr,
  compileModule,
  mark,
  mismatch,
  ms,
  random,
  relativeError,
  seeds,
  table,
  timeInterleaved,
} from './common.mjs';
import * as hand from './handwritten.mjs';

export const GOAL_JAX = 1.5;

/** Runs the section; returns its markdown table (with a title and notes). */
export async function runJax() {
  const { mod } = await compileModule('fixtures/conv2d/conv2d.ts');
  // jax-js's wasm backend goes multi-threaded where `SharedArrayBuffer` and `Worker` exist, and
  // checks that when it loads, when it creates its memory and when it generates each kernel. Node
  // has no Worker, but z3-solver's Emscripten runtime defines one when the analysis loads it: if
  // that happens in between, the kernels and the memory disagree on sharing (LinkError). jax-js
  // runs without it here: single-threaded, as in Node without z3 and as parad's JavaScript runs.
  const worker = Object.getOwnPropertyDescriptor(globalThis, 'Worker');
  if (worker) delete globalThis.Worker;
  try {
    return await runJaxSection(mod);
  } finally {
    if (worker) Object.defineProperty(globalThis, 'Worker', worker);
  }
}

async function runJaxSection(mod) {
  // imported here, with Worker hidden: jax-js also reads it when its module loads
  const jax = await import('@jax-js/jax');
  const { lax, numpy: np } = jax;
  // only the wasm backend: init() without arguments also probes WebGPU through `navigator.gpu`,
  // which Node does not define (ReferenceError)
  const devices = await jax.init('wasm');
  if (!devices.includes('wasm'))
    throw new Error(`bench: jax-js has no wasm backend here (devices: ${devices.join(', ')})`);
  jax.defaultDevice('wasm');
  const rows = [];
  // jax-js builds arrays from typed arrays through an `instanceof Float16Array` test, which throws
  // where the runtime has no Float16Array (Node < 24): there only float32 runs
  const dtypes = typeof Float16Array === 'undefined' ? ['float32'] : ['float32', 'float64'];
  for (const dtype of dtypes) {
    const C = 8,
      H = 64,
      W = 64,
      F = 8,
      K = 3,
      OH = H - K + 1,
      OW = W - K + 1;
    const rnd = random(11);
    const inp = arr(rnd, C * H * W),
      w = arr(rnd, F * C * K * K),
      bias = arr(rnd, F),
      g = seeds(F * OH * OW);
    const Arr = dtype === 'float32' ? Float32Array : Float64Array;
    const put = (data, shape) => np.array(Arr.from(data), { shape });
    const ji = put(inp, [1, C, H, W]),
      jw = put(w, [F, C, K, K]),
      jb = put(bias, [F]),
      jg = put(g, [1, F, OH, OW]);
    const forward = (x, k, b) => lax.conv(x, k, [1, 1], 'VALID').add(b.reshape([1, F, 1, 1]));
    const step = jax.jit((x, k, b, dy) => {
      const [out, back] = jax.vjp(forward, [x, k, b]);
      const [xb, kb, bb] = back(dy);
      return [out, xb, kb, bb];
    });
    const runJaxStep = () => step(ji.ref, jw.ref, jb.ref, jg.ref).map((a) => a.dataSync());

    const state = () => ({
      out: new Float64Array(F * OH * OW),
      outb: g.slice(),
      inpb: new Float64Array(inp.length),
      wb: new Float64Array(w.length),
      biasb: new Float64Array(F),
    });
    const reset = (s) => {
      s.outb.set(g);
      s.inpb.fill(0);
      s.wb.fill(0);
      s.biasb.fill(0);
    };
    const args = (s) => [s.out, s.outb, inp, s.inpb, w, s.wb, bias, s.biasb, C, H, W, F, K];
    // same numbers first
    const s = state();
    mod.conv2d_b(...args(s));
    const [jout, jxb, jwb, jbb] = runJaxStep();
    for (const [name, ours, theirs] of [
      ['out', s.out, jout],
      ['inpb', s.inpb, jxb],
      ['wb', s.wb, jwb],
      ['biasb', s.biasb, jbb],
    ]) {
      const err = relativeError(ours, theirs);
      if (!(err <= (dtype === 'float32' ? 1e-4 : 1e-9)))
        mismatch(`conv2d vs jax-js (${dtype}): ${name} differs (relative ${err.toExponential(2)})`);
    }
    const t = await timeInterleaved({
      generated: { state, reset, run: (st) => mod.conv2d_b(...args(st)) },
      gather: { state, reset, run: (st) => hand.conv2d_b_gather(...args(st)) },
      jax: { run: runJaxStep },
    });
    rows.push([
      `conv2d C=8 64×64 F=8 K=3, jax-js ${dtype}`,
      ms(t.generated),
      ms(t.gather),
      ms(t.jax),
      mark(t.jax / t.generated, GOAL_JAX, true),
      (t.jax / t.gather).toFixed(2),
      String(t.reps),
    ]);
  }
  const version = JSON.parse(fs.readFileSync(path.join(root, 'node_modules/@jax-js/jax/package.json'), 'utf8')).version;
  const head = [
    'case',
    'parad K_b ms',
    'hand gather ms',
    'jax-js ms',
    `jax-js / K_b (goal >= ${GOAL_JAX})`,
    'jax-js / hand gather',
    'reps',
  ];
  return [
    '### conv2d vs jax-js',
    '',
    `@jax-js/jax ${version}: \`jit\`(\`vjp\` of lax.conv + bias) on the wasm backend (single-threaded: no Worker in Node), forward + three cotangents + dataSync;`,
    `parad: K_b on Float64Array data (the same values), both checked against each other first.${dtypes.length === 1 ? ' jax-js float64 needs Float16Array (Node >= 24), not in this Node.' : ''}`,
    '',
    table(head, rows),
  ].join('\n');
}
