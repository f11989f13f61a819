// npm run bench: generated adjoint vs primal vs hand-written adjoint, measured side by side in one
// run (interleaved repetitions, median), plus transpile time. Prints ratios; goals beside them.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { compile } from '../dist/transformer/index.js';
import * as hand from './handwritten.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const outDir = path.join(here, 'out');
fs.mkdirSync(outDir, { recursive: true });
const source = fs.readFileSync(path.join(here, 'kernels.ts'), 'utf8');
const compiled = compile(source, { fileName: 'bench/kernels.ts', format: 'js' });
if (!compiled.code) throw new Error('bench kernels do not compile');
fs.writeFileSync(path.join(outDir, 'kernels.ad.js'), compiled.code);
const gen = await import(pathToFileURL(path.join(outDir, 'kernels.ad.js')).href);

let seed = 42;
const rnd = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
const arr = (n, fill) => Float64Array.from({ length: n }, fill ?? (() => rnd() - 0.5));

/** Each case: its state (outputs, adjoint seeds and accumulators), a reset, and the three calls. */
const cases = [
  (() => {
    const H = 512, W = 512, N = H * W, u = arr(N), c = 0.1;
    const state = () => ({ out: new Float64Array(N), outb: arr(N, () => 1), ub: new Float64Array(N) });
    return {
      name: 'stencil2d 512×512', state,
      primal: (s) => gen.stencil2d(s.out, u, c, H, W),
      generated: (s) => gen.stencil2d_b(s.out, s.outb, u, s.ub, c, H, W),
      handwritten: (s) => hand.stencil2d_b(s.out, s.outb, u, s.ub, c, H, W),
      result: (s, r) => [...s.ub.subarray(0, 4096), r.cb],
    };
  })(),
  (() => {
    const C = 8, H = 64, W = 64, F = 8, K = 3, OH = H - K + 1, OW = W - K + 1;
    const inp = arr(C * H * W), w = arr(F * C * K * K), bias = arr(F);
    const state = () => ({ out: new Float64Array(F * OH * OW), outb: arr(F * OH * OW, () => 1), inpb: new Float64Array(inp.length), wb: new Float64Array(w.length), biasb: new Float64Array(F) });
    return {
      name: 'conv2d C=8 64×64 F=8 K=3', state,
      primal: (s) => gen.conv2d(s.out, inp, w, bias, C, H, W, F, K),
      generated: (s) => gen.conv2d_b(s.out, s.outb, inp, s.inpb, w, s.wb, bias, s.biasb, C, H, W, F, K),
      handwritten: (s) => hand.conv2d_b(s.out, s.outb, inp, s.inpb, w, s.wb, bias, s.biasb, C, H, W, F, K),
      result: (s) => [...s.inpb, ...s.wb, ...s.biasb],
    };
  })(),
  (() => {
    const nOut = 512, nIn = 512, Wm = arr(nOut * nIn), x = arr(nIn), b = arr(nOut);
    const state = () => ({ y: new Float64Array(nOut), yb: arr(nOut, () => 1), Wb: new Float64Array(nOut * nIn), xb: new Float64Array(nIn), bb: new Float64Array(nOut) });
    return {
      name: 'dense 512×512 + tanh', state,
      primal: (s) => gen.dense(s.y, Wm, x, b, nOut, nIn),
      generated: (s) => gen.dense_b(s.y, s.yb, Wm, s.Wb, x, s.xb, b, s.bb, nOut, nIn),
      handwritten: (s) => hand.dense_b(s.y, s.yb, Wm, s.Wb, x, s.xb, b, s.bb, nOut, nIn),
      result: (s) => [...s.xb, ...s.bb, ...s.Wb.subarray(0, 4096)],
    };
  })(),
];

// the generated and hand-written adjoints must agree before their times mean anything
for (const c of cases) {
  const a = c.state(), b = c.state();
  const ra = c.result(a, c.generated(a) ?? {}), rb = c.result(b, c.handwritten(b) ?? {});
  let err = 0, scale = 1e-300;
  for (let i = 0; i < ra.length; i++) { err = Math.max(err, Math.abs(ra[i] - rb[i])); scale = Math.max(scale, Math.abs(rb[i])); }
  if (!(err / scale <= 1e-9)) {
    console.error(`MISMATCH in ${c.name}: generated and hand-written adjoints differ (relative ${(err / scale).toExponential(2)})`);
    process.exit(1);
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const REPS = Number(process.env.BENCH_REPS ?? 15);
const rows = [];
for (const c of cases) {
  const t = { primal: [], generated: [], handwritten: [] };
  const s = { primal: c.state(), generated: c.state(), handwritten: c.state() };
  const fresh = c.state();
  for (let rep = 0; rep < REPS + 3; rep++) {
    for (const kind of ['primal', 'generated', 'handwritten']) {
      // reset in place (reusing memory: no page faults of fresh allocations inside the timing)
      for (const [k, v] of Object.entries(fresh)) s[kind][k].set(v);
      const t0 = performance.now();
      c[kind](s[kind]);
      const dt = performance.now() - t0;
      if (rep >= 3) t[kind].push(dt); // warm-up first
    }
  }
  const p = median(t.primal), g = median(t.generated), h = median(t.handwritten);
  rows.push([c.name, p.toFixed(2), g.toFixed(2), h.toFixed(2), (g / p).toFixed(2), (g / h).toFixed(2)]);
}

// transpile time per kernel, warm
for (let i = 0; i < 5; i++) compile(source, { fileName: 'bench/kernels.ts' });
const N = 20, t0 = performance.now();
for (let i = 0; i < N; i++) compile(source, { fileName: 'bench/kernels.ts' });
const perKernel = (performance.now() - t0) / N / compiled.kernels.length;

const head = ['kernel', 'primal ms', 'adjoint ms', 'hand ms', 'adjoint/primal', 'generated/hand'];
const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
const line = (r) => r.map((x, i) => (i ? x.padStart(widths[i]) : x.padEnd(widths[i]))).join('  ');
console.log(`parad bench (node ${process.version}, median of ${REPS}, ${new Date().toISOString().slice(0, 10)})`);
console.log(line(head));
for (const r of rows) console.log(line(r));
console.log('goals: adjoint/primal <= 2.5, generated/hand <= 1.1');
console.log(`transpile: ${perKernel.toFixed(2)} ms per kernel, warm (goal <= 20 ms)`);
