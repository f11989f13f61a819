// npm run bench: generated adjoint vs primal vs hand-written adjoint, and the generated adjoint with
// the analysis' strategies (gather / reduction) vs the same adjoint forced to direct scatter updates,
// measured side by side in one run (interleaved repetitions, median), plus transpile and analysis
// time. Prints ratios; goals beside them.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { analyze, compile } from '../dist/transformer/index.js';
import { warmZ3 } from '../dist/transformer/analysis/exclusive/z3-client.js';
import { clearAnalysisCache } from '../dist/transformer/compile.js';
import * as hand from './handwritten.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const outDir = path.join(here, 'out');
fs.mkdirSync(outDir, { recursive: true });
// the benchmarked kernels are fixtures (their derivatives are checked numerically by the tests)
const KERNELS = { stencil2d: ['fixtures/stencil2d/stencil2d.ts', 'laplace5'], conv2d: ['fixtures/conv2d/conv2d.ts', 'conv2d'], dense: ['fixtures/dense/dense.ts', 'dense'] };
const gen = {};
/** Each benchmarked kernel alone: the file's import line and the kernel's JSDoc and function. */
const kernelSources = [];
for (const [alias, [file, kernel]] of Object.entries(KERNELS)) {
  const source = fs.readFileSync(path.join(here, '..', file), 'utf8');
  for (const strategy of [undefined, 'direct']) {
    const compiled = await compile(source, { fileName: file, format: 'js', strategy });
    if (!compiled.code) throw new Error(`${file} does not compile`);
    const out = path.join(outDir, `${path.basename(file, '.ts')}${strategy ? `.${strategy}` : ''}.ad.js`);
    fs.writeFileSync(out, compiled.code);
    const mod = await import(pathToFileURL(out).href);
    gen[alias] = mod[kernel];
    gen[`${alias}_b${strategy ? `_${strategy}` : ''}`] = mod[`${kernel}_b`];
  }
  const [header, ...chunks] = source.split(/\n(?=\/\*\*)/);
  kernelSources.push([alias, `${header}\n${chunks.find((c) => c.includes(`export function ${kernel}(`))}`]);
}

let seed = 42;
const rnd = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
const arr = (n, fill) => Float64Array.from({ length: n }, fill ?? (() => rnd() - 0.5));
/** Deterministic, non-uniform adjoint seeds (every state() call gives the same ones). */
const seeds = (n) => arr(n, (_, i) => 0.5 + ((i * 7919) % 101) / 101);

/** Each case: its state (outputs, adjoint seeds and accumulators), a reset, and the three calls. */
const cases = [
  (() => {
    const H = 512, W = 512, N = H * W, u = arr(N), c = 0.1;
    const state = () => ({ out: new Float64Array(N), outb: seeds(N), ub: new Float64Array(N) });
    return {
      name: 'stencil2d 512×512', state,
      primal: (s) => gen.stencil2d(s.out, u, c, H, W),
      generated: (s) => gen.stencil2d_b(s.out, s.outb, u, s.ub, c, H, W),
      scatter: (s) => gen.stencil2d_b_direct(s.out, s.outb, u, s.ub, c, H, W),
      handwritten: (s) => hand.stencil2d_b(s.out, s.outb, u, s.ub, c, H, W),
    };
  })(),
  (() => {
    const C = 8, H = 64, W = 64, F = 8, K = 3, OH = H - K + 1, OW = W - K + 1;
    const inp = arr(C * H * W), w = arr(F * C * K * K), bias = arr(F);
    const state = () => ({ out: new Float64Array(F * OH * OW), outb: seeds(F * OH * OW), inpb: new Float64Array(inp.length), wb: new Float64Array(w.length), biasb: new Float64Array(F) });
    return {
      name: 'conv2d C=8 64×64 F=8 K=3', state,
      primal: (s) => gen.conv2d(s.out, inp, w, bias, C, H, W, F, K),
      generated: (s) => gen.conv2d_b(s.out, s.outb, inp, s.inpb, w, s.wb, bias, s.biasb, C, H, W, F, K),
      scatter: (s) => gen.conv2d_b_direct(s.out, s.outb, inp, s.inpb, w, s.wb, bias, s.biasb, C, H, W, F, K),
      handwritten: (s) => hand.conv2d_b(s.out, s.outb, inp, s.inpb, w, s.wb, bias, s.biasb, C, H, W, F, K),
    };
  })(),
  (() => {
    const nOut = 512, nIn = 512, Wm = arr(nOut * nIn), x = arr(nIn), b = arr(nOut);
    const state = () => ({ y: new Float64Array(nOut), yb: seeds(nOut), Wb: new Float64Array(nOut * nIn), xb: new Float64Array(nIn), bb: new Float64Array(nOut) });
    return {
      name: 'dense 512×512 + tanh', state,
      primal: (s) => gen.dense(s.y, Wm, x, b, nOut, nIn),
      generated: (s) => gen.dense_b(s.y, s.yb, Wm, s.Wb, x, s.xb, b, s.bb, nOut, nIn),
      scatter: (s) => gen.dense_b_direct(s.y, s.yb, Wm, s.Wb, x, s.xb, b, s.bb, nOut, nIn),
      handwritten: (s) => hand.dense_b(s.y, s.yb, Wm, s.Wb, x, s.xb, b, s.bb, nOut, nIn),
    };
  })(),
];

// the adjoints must agree (adjoints, returned scalar adjoints, primal outputs, reset seeds) before
// their times mean anything: generated vs hand-written, and the analysis' strategies vs forced scatter
/** The first key where two runs (states and returned objects) differ beyond 1e-9, or undefined. */
function differs(a, ra, b, rb) {
  for (const key of [...Object.keys(a), ...Object.keys(rb)]) {
    const x = key in a ? a[key] : [ra[key]], y = key in b ? b[key] : [rb[key]];
    let err = x.length === y.length ? 0 : Infinity, scale = 1e-300;
    for (let i = 0; i < y.length; i++) scale = Math.max(scale, Math.abs(y[i]));
    // relative to the largest element, and element by element
    for (let i = 0; i < y.length; i++) err = Math.max(err, Math.abs(x[i] - y[i]) / Math.min(scale, 1 + Math.abs(y[i])));
    if (!(err <= 1e-9)) return `'${key}' (relative ${err.toExponential(2)})`;
  }
  return undefined;
}
for (const c of cases) {
  const a = c.state(), b = c.state(), d = c.state();
  const ra = c.generated(a) ?? {}, rb = c.handwritten(b) ?? {}, rd = c.scatter(d) ?? {};
  for (const [what, bad] of [['generated and hand-written', differs(a, ra, b, rb)], ['gather/reduction and scatter', differs(a, ra, d, rd)]]) {
    if (bad) {
      console.error(`\n*** MISMATCH in ${c.name}: ${what} adjoints differ in ${bad} ***\n`);
      process.exit(1);
    }
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const REPS = Number(process.env.BENCH_REPS ?? 21);
const WARMUP = 5;
const GOAL_ADJ = 2.5, GOAL_HAND = 1.1, GOAL_TRANSPILE_MS = 20, GOAL_ANALYSIS_MS = 300;
const mark = (v, goal) => `${v.toFixed(2)} ${v <= goal ? 'ok' : 'MISS'}`;
const rows = [];
for (const c of cases) {
  globalThis.gc?.(); // with node --expose-gc: start every case from a collected heap
  const t = { primal: [], generated: [], handwritten: [], scatter: [] };
  const s = { primal: c.state(), generated: c.state(), handwritten: c.state(), scatter: c.state() };
  const fresh = c.state();
  // interleaved: one call of each kind per repetition, so drift (thermal, other load) hits all three alike
  for (let rep = 0; rep < REPS + WARMUP; rep++) {
    for (const kind of ['primal', 'generated', 'handwritten', 'scatter']) {
      // reset in place (reusing memory: no page faults of fresh allocations inside the timing)
      for (const [k, v] of Object.entries(fresh)) s[kind][k].set(v);
      const t0 = performance.now();
      c[kind](s[kind]);
      const dt = performance.now() - t0;
      if (rep >= WARMUP) t[kind].push(dt);
    }
  }
  const p = median(t.primal), g = median(t.generated), h = median(t.handwritten), sc = median(t.scatter);
  rows.push([c.name, p.toFixed(3), g.toFixed(3), h.toFixed(3), sc.toFixed(3), mark(g / p, GOAL_ADJ), mark(g / h, GOAL_HAND), (h / p).toFixed(2), (g / sc).toFixed(2)]);
}

// transpile time per kernel, warm: each kernel compiled on its own (the import line plus its source)
const transpile = [];
for (const [alias, one] of kernelSources) {
  const name = /export function (\w+)/.exec(one)[1];
  for (let i = 0; i < 10; i++) await compile(one, { fileName: `bench/${name}.ts` });
  const times = [];
  for (let i = 0; i < 21; i++) {
    const t0 = performance.now();
    const r = await compile(one, { fileName: `bench/${name}.ts` });
    times.push(performance.now() - t0);
    if (!r.code) throw new Error(`bench kernel ${name} does not compile on its own`);
  }
  transpile.push([`${alias} (${name})`, median(times)]);
}

const head = ['kernel', 'primal ms', 'adjoint ms', 'hand ms', 'scatter ms', `adjoint/primal (goal <= ${GOAL_ADJ})`, `generated/hand (goal <= ${GOAL_HAND})`, 'hand/primal', 'adjoint/scatter'];
const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
const line = (r) => r.map((x, i) => (i ? x.padStart(widths[i]) : x.padEnd(widths[i]))).join('  ');
console.log(`parad bench (node ${process.version}, ${process.arch}, median of ${REPS} after ${WARMUP} warm-up, ${new Date().toISOString().slice(0, 10)})`);
console.log('adjoint = generated K_b with its strategies (gather, reduction), scatter = the same forced to direct updates,');
console.log('hand = hand-written scatter adjoint (bench/handwritten.mjs); all run the primal too');
console.log(line(head));
for (const r of rows) console.log(line(r));
console.log(`transpile, warm (the exclusive-read analysis cached; timed below), median of 21 (goal <= ${GOAL_TRANSPILE_MS} ms per kernel):`);
for (const [name, ms] of transpile) console.log(`  ${name.padEnd(22)} ${ms.toFixed(2).padStart(7)} ms  ${ms <= GOAL_TRANSPILE_MS ? 'ok' : 'MISS'}`);

/**
 * The analysis goal's 10-kernel file: fixture kernels covering every verdict (yes, no, depends,
 * unknown) and flattened 2-D/3-D indexing, gathered into one source.
 */
function tenKernelFile() {
  const pick = { stencil1d: ['stencil3', 'diffuse'], stencil2d: ['laplace5', 'filter3x3'], conv2d: ['conv2d'], pooling: ['maxPool2d'], dense: ['dense'], softmax: ['softmaxRows'], mirror: ['mirror'], window: ['windowSum'] };
  const parts = ["import type { f64, i32 } from 'parad';"];
  for (const [dir, names] of Object.entries(pick)) {
    const src = fs.readFileSync(path.join(here, '..', 'fixtures', dir, `${dir}.ts`), 'utf8');
    for (const m of src.matchAll(/\/\*\*(?:(?!\*\/)[\s\S])*\*\/\nexport function (\w+)\([\s\S]*?\n}\n/g)) if (names.includes(m[1])) parts.push(m[0]);
  }
  if (parts.length !== 11) throw new Error(`bench: expected 10 fixture kernels, found ${parts.length - 1}`);
  return parts.join('\n');
}

// exclusive-read analysis (parad analyze): z3's load time (its worker started), then whole files, cold (cache cleared)
{
  const t0 = performance.now();
  await warmZ3();
  const load = performance.now() - t0;
  console.log(`exclusive-read analysis, cold (goal: a 10-kernel file <= ${GOAL_ANALYSIS_MS} ms after z3 is loaded; z3 load ${load.toFixed(0)} ms):`);
  for (const f of ['10 fixture kernels', 'fixtures/math/math.ts', 'fixtures/stencil1d/stencil1d.ts', 'fixtures/conv2d/conv2d.ts', 'fixtures/window/window.ts']) {
    const src = f === '10 fixture kernels' ? tenKernelFile() : fs.readFileSync(path.join(here, '..', f), 'utf8');
    clearAnalysisCache();
    const t1 = performance.now();
    const r = await analyze(src, { fileName: f });
    const ms = performance.now() - t1;
    const n = r.report.kernels.length;
    const goal = f === '10 fixture kernels' ? (ms <= GOAL_ANALYSIS_MS ? '  ok' : '  MISS') : '';
    console.log(`  ${f.padEnd(34)} ${ms.toFixed(0).padStart(6)} ms for ${String(n).padStart(2)} kernel${n === 1 ? ' ' : 's'} (${(ms / n).toFixed(1)} ms per kernel)${goal}`);
  }
}
process.exit(0);
