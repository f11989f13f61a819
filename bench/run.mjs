// npm run bench: parad's generated adjoints measured side by side with hand-written code, TF.js and
// jax-js, in one process (interleaved repetitions, medians), then transpile and analysis time. Each
// section prints a markdown table with the ratios and their goals beside them; the whole output is
// also written to bench/out/bench.md (docs/bench.md holds the figures of one run).
//
//   npm run bench                 every section
//   npm run bench -- --hand       generated K_b vs hand-written gather/scatter adjoints (stencil1d, jacobi2d, conv2d, dense)
//   npm run bench -- --natural    the natural formulations (bench/kernels/natural.ts) vs their primal and tf.grads
//   npm run bench -- --jax        conv2d vs jax-js's jit(vjp) on wasm
//   npm run bench -- --compile    transpile time and exclusive-read analysis time
// BENCH_REPS (default 21), BENCH_MIN_MS (default 3000: a case repeats at least that long) and
// BENCH_WARMUP (default 5) set the repetitions.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { analyze, compile } from '../dist/transformer/index.js';
import { warmZ3 } from '../dist/transformer/analysis/exclusive/z3-client.js';
import { clearAnalysisCache } from '../dist/transformer/compile.js';
import { HAND_KERNELS, runHand } from './hand.mjs';
import { runNatural } from './natural.mjs';
import { runJax } from './jax.mjs';
import { MIN_MS, REPS, WARMUP, here, mark, median, outDir, table } from './common.mjs';

const SECTIONS = ['hand', 'natural', 'jax', 'compile'];
const asked = process.argv.slice(2).map((a) => a.replace(/^--/, ''));
for (const a of asked)
  if (!SECTIONS.includes(a)) {
    console.error(`bench: unknown option --${a} (sections: ${SECTIONS.map((x) => `--${x}`).join(' ')})`);
    process.exit(2);
  }
const run = (section) => asked.length === 0 || asked.includes(section);
const GOAL_TRANSPILE_MS = 20,
  GOAL_ANALYSIS_MS = 300;

const lines = [];
const print = (text) => {
  console.log(text);
  lines.push(text);
};
const load = os.loadavg()[0].toFixed(1);
print(
  `parad bench: node ${process.version}, ${process.arch}, ${os.cpus().length} cores (load average ${load}), medians of >= ${REPS} interleaved repetitions and >= ${MIN_MS} ms per case after ${WARMUP} warm-up, ${new Date().toISOString().slice(0, 10)}`,
);
if (run('hand')) print(`\n${await runHand()}`);
if (run('natural')) print(`\n${await runNatural()}`);
if (run('jax')) print(`\n${await runJax()}`);
if (run('compile')) await compileTimes();
fs.mkdirSync(outDir, { recursive: true });
fs.writeFileSync(path.join(outDir, 'bench.md'), `${lines.join('\n')}\n`);
process.exit(0);

/**
 * The analysis goal's 10-kernel file: fixture kernels covering every verdict (yes, no, depends,
 * unknown) and flattened 2-D/3-D indexing, gathered into one source.
 */
function tenKernelFile() {
  const pick = {
    stencil1d: ['stencil3', 'diffuse'],
    stencil2d: ['laplace5', 'filter3x3'],
    conv2d: ['conv2d'],
    pooling: ['maxPool2d'],
    dense: ['dense'],
    softmax: ['softmaxRows'],
    mirror: ['mirror'],
    window: ['windowSum'],
  };
  const parts = ["import type { f64, i32 } from 'parad';"];
  for (const [dir, names] of Object.entries(pick)) {
    const src = fs.readFileSync(path.join(here, '..', 'fixtures', dir, `${dir}.ts`), 'utf8');
    for (const m of src.matchAll(/\/\*\*(?:(?!\*\/)[\s\S])*\*\/\nexport function (\w+)\([\s\S]*?\n}\n/g))
      if (names.includes(m[1])) parts.push(m[0]);
  }
  if (parts.length !== 11) throw new Error(`bench: expected 10 fixture kernels, found ${parts.length - 1}`);
  return parts.join('\n');
}

/** Transpile time per kernel (warm) and the exclusive-read analysis of whole files (cold). */
async function compileTimes() {
  // transpile, warm: each kernel compiled on its own (the file's import line plus its JSDoc and source)
  const transpile = [];
  for (const [alias, [file, kernel]] of Object.entries(HAND_KERNELS)) {
    const source = fs.readFileSync(path.join(here, '..', file), 'utf8');
    const [header, ...chunks] = source.split(/\n(?=\/\*\*)/);
    const one = `${header}\n${chunks.find((c) => c.includes(`export function ${kernel}(`))}`;
    for (let i = 0; i < 10; i++) await compile(one, { fileName: `bench/${kernel}.ts` });
    const times = [];
    for (let i = 0; i < 21; i++) {
      const t0 = performance.now();
      const r = await compile(one, { fileName: `bench/${kernel}.ts` });
      times.push(performance.now() - t0);
      if (!r.code) throw new Error(`bench kernel ${kernel} does not compile on its own`);
    }
    const t = median(times);
    transpile.push([`${alias} (${kernel})`, mark(t, GOAL_TRANSPILE_MS)]);
  }
  print(
    `\n### Transpile time\n\nwarm (the exclusive-read analysis cached; timed below), median of 21\n\n${table(['kernel', `ms (goal <= ${GOAL_TRANSPILE_MS})`], transpile)}`,
  );

  // exclusive-read analysis (parad analyze): z3's load time (its worker started), then whole files, cold (cache cleared)
  const t0 = performance.now();
  await warmZ3();
  const load = performance.now() - t0;
  const rows = [];
  for (const f of [
    '10 fixture kernels',
    'fixtures/math/math.ts',
    'fixtures/stencil1d/stencil1d.ts',
    'fixtures/conv2d/conv2d.ts',
    'fixtures/window/window.ts',
  ]) {
    const src = f === '10 fixture kernels' ? tenKernelFile() : fs.readFileSync(path.join(here, '..', f), 'utf8');
    clearAnalysisCache();
    const t1 = performance.now();
    const r = await analyze(src, { fileName: f });
    const t = performance.now() - t1;
    const n = r.report.kernels.length;
    rows.push([
      f,
      f === '10 fixture kernels' ? mark(t, GOAL_ANALYSIS_MS).replace(/^[\d.]+/, t.toFixed(0)) : t.toFixed(0),
      String(n),
      (t / n).toFixed(1),
    ]);
  }
  const z3 = load < 1 ? 'z3 already loaded by an earlier section' : `z3 load ${load.toFixed(0)} ms`;
  print(
    `\n### Exclusive-read analysis\n\ncold (cache cleared), after z3 is loaded (${z3})\n\n${table(['file', `ms (goal: 10-kernel file <= ${GOAL_ANALYSIS_MS})`, 'kernels', 'ms per kernel'], rows)}`,
  );
}
