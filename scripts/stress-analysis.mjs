// npm run stress:analysis: does the exclusive-read analysis survive z3 in long runs? Two parts:
//   1. `parad analyze --json` (node bin/parad.js, a process per run) on files of random affine
//      kernels, each file several times in a row: crashes (no JSON, an uncaught exception, an exit
//      code other than 0 or 1), ms per kernel, the process' peak resident memory, PARAD2004 warnings
//      (z3 failed on a query), and whether every run of a file gave the same verdicts;
//   2. a watch-mode loop of the esbuild plugin (one esbuild context; each round rewrites the kernel
//      file, as an editor would, then rebuilds): ms per rebuild, z3 queries, failures and workers
//      started, and this process' resident memory over the rounds. The kernels of a round come from
//      a pool of random kernels that need z3 (renamed each round: new text, so analyzed again).
// Sizes (environment): PARAD_STRESS_FILES (3), PARAD_STRESS_KERNELS (200 per file), PARAD_STRESS_RUNS
// (3 per file), PARAD_STRESS_FIRST_FILE (0: the seed of the first file), PARAD_STRESS_ROUNDS (300), PARAD_STRESS_ROUND_KERNELS (3 per round), PARAD_STRESS_POOL
// (12 kernels that need z3), PARAD_STRESS_SEED (1).
// Exits with 1 when a run crashed. Uses the built package (dist/): `npm run stress:analysis` builds first.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { parad } from '../dist/plugin/esbuild.js';
import { analyze } from '../dist/transformer/index.js';
import { z3Stats, stopZ3 } from '../dist/transformer/analysis/exclusive/z3-client.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const env = (name, fallback) => Number(process.env[name] ?? fallback);
const FILES = env('PARAD_STRESS_FILES', 3);
const FIRST_FILE = env('PARAD_STRESS_FIRST_FILE', 0);
const KERNELS = env('PARAD_STRESS_KERNELS', 200);
const RUNS = env('PARAD_STRESS_RUNS', 3);
const ROUNDS = env('PARAD_STRESS_ROUNDS', 300);
const ROUND_KERNELS = env('PARAD_STRESS_ROUND_KERNELS', 3);
const POOL = env('PARAD_STRESS_POOL', 12);
const SEED = env('PARAD_STRESS_SEED', 1);

/** mulberry32: a small seeded generator (the files are the same for the same seed). */
function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A random affine kernel, the shapes of test/exclusive-property.test.ts: a 1-D or 2-D parallel
 * nest (offsets, strides), an optional inner sequential loop (fixed, or a window moving with the
 * nest), 1–3 reads of x (coefficients, offsets, n-dependent shifts, flattened i*n + j), and a
 * write of out that is either one element per iteration or a random affine index (a race query).
 */
function randomKernel(rand, name) {
  const int = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1));
  const d = int(1, 2);
  const vars = ['i', 'j'].slice(0, d);
  const loops = vars.map(() => ({ lo: int(0, 2), hiOff: int(0, 2), step: int(1, 2) }));
  const inner = rand() < 0.5;
  const window = rand() < 0.5;
  const affine = (flatOk) => {
    const flat = flatOk && d === 2 && rand() < 0.4;
    const terms = [];
    vars.forEach((v, k) => {
      if (flat && k === 0) terms.push(`${v} * n`);
      else {
        const c = int(-2, 2);
        if (c) terms.push(`${c} * ${v}`);
      }
    });
    if (inner && rand() < 0.5) terms.push('q');
    if (rand() < 0.3) terms.push('n');
    terms.push(String(int(-2, 2)));
    return terms.join(' + ');
  };
  const reads = Array.from({ length: int(1, 3) }, () => `x[${affine(true)}]`).join(' + ');
  const target = rand() < 0.7 ? (d === 2 ? 'out[i * n + j]' : 'out[i]') : `out[${affine(true).replace(/\bq\b/g, '0')}]`;
  const lines = [
    '/** @kernel */',
    `export function ${name}(out: Float64Array, x: Float64Array, n: i32, m: i32): void {`,
  ];
  let indent = '  ';
  loops.forEach((l, k) => {
    lines.push(
      `${indent}// @parallel`,
      `${indent}for (let ${vars[k]} = ${l.lo}; ${vars[k]} < n - ${l.hiOff}; ${vars[k]} += ${l.step}) {`,
    );
    indent += '  ';
  });
  if (inner) {
    lines.push(
      `${indent}let s = 0.0;`,
      window ? `${indent}for (let q = i - m; q <= i + m; q++) {` : `${indent}for (let q = 0; q < m; q++) {`,
      `${indent}  s += ${reads};`,
      `${indent}}`,
      `${indent}${target} = s;`,
    );
  } else {
    lines.push(`${indent}${target} = ${reads};`);
  }
  for (let k = d - 1; k >= 0; k--) lines.push(`${'  '.repeat(k + 1)}}`);
  lines.push('}');
  return lines.join('\n');
}

const kernelFile = (rand, n, prefix) =>
  `import type { i32 } from 'parad';\n\n${Array.from({ length: n }, (_, k) => randomKernel(rand, `${prefix}${k}`)).join('\n\n')}\n`;

const mb = (bytes) => Math.round(bytes / 2 ** 20);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))];

/** The peak resident memory of a running process (VmHWM, threads included), in bytes. */
function peakRss(pid) {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** `node bin/parad.js analyze --json file`: exit code, output, time, peak memory. */
function analyzeRun(file) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [path.join(root, 'bin/parad.js'), 'analyze', path.basename(file), '--json'], {
      cwd: path.dirname(file),
    });
    let stdout = '',
      stderr = '',
      peak = 0;
    child.stdout.on('data', (b) => {
      stdout += b;
    });
    child.stderr.on('data', (b) => {
      stderr += b;
    });
    const poll = setInterval(() => {
      peak = Math.max(peak, peakRss(child.pid));
    }, 100);
    child.on('exit', (code, signal) => {
      clearInterval(poll);
      resolve({ code, signal, stdout, stderr, ms: performance.now() - t0, peak });
    });
  });
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parad-stress-'));
let crashes = 0;

// 1. parad analyze, a process per run
console.log(`parad analyze --json: ${FILES} files of ${KERNELS} random affine kernels, ${RUNS} runs each`);
for (let f = FIRST_FILE; f < FIRST_FILE + FILES; f++) {
  const file = path.join(dir, `random${f}.ts`);
  fs.writeFileSync(file, kernelFile(random(SEED * 1000 + f), KERNELS, 'k'));
  /** per run without PARAD2004: each kernel's read verdicts */
  const verdicts = [];
  for (let run = 0; run < RUNS; run++) {
    const r = await analyzeRun(file);
    let json;
    try {
      json = JSON.parse(r.stdout);
    } catch {
      json = undefined;
    }
    const kernels = json?.files?.[0]?.kernels ?? [];
    const crashed =
      !json ||
      kernels.length !== KERNELS ||
      (r.code !== 0 && r.code !== 1) ||
      /uncaught|RuntimeError: |Pthread .* sent an error/i.test(r.stderr.replace(/^.*PARAD\d{4}.*$/gm, ''));
    if (crashed) crashes++;
    const failures = (r.stderr.match(/warning PARAD2004/g) ?? []).length;
    const races = (r.stderr.match(/error PARAD2001/g) ?? []).length;
    // the same file, the same verdicts (unless z3 failed on a query)
    if (!failures && json)
      verdicts.push(
        kernels.map(
          (k) =>
            `${k.name}: ${k.loops.map((l) => l.reads.map((x) => `${x.name} ${x.exclusiveRead}`).join(', ')).join('; ')}`,
        ),
      );
    console.log(
      `  file ${f} run ${run}: ${crashed ? `CRASHED (exit ${r.code ?? r.signal})` : `exit ${r.code}`}, ${(r.ms / 1000).toFixed(1)} s (${(r.ms / KERNELS).toFixed(0)} ms per kernel), peak RSS ${mb(r.peak)} MiB, ${races} race errors, ${failures} PARAD2004${crashed ? `\n${r.stderr.slice(-1500)}` : ''}`,
    );
    // what z3 failed on, and why
    for (const m of (r.stderr.match(/[^\n]*warning PARAD2004[^\n]*/g) ?? []).slice(0, 3)) console.log(`    ${m}`);
  }
  // z3's time limits (2 s a check) can decide a query in one run and not in the next on a loaded machine
  const differ = verdicts.length
    ? verdicts[0].flatMap((v, k) => (verdicts.some((run) => run[k] !== v) ? [verdicts.map((run) => run[k])] : []))
    : [];
  console.log(
    `  file ${f}: ${
      differ.length
        ? `${differ.length} kernels with verdicts that differ between runs:${differ
            .slice(0, 5)
            .map((d) => `\n    ${d.join('  |  ')}`)
            .join('')}`
        : 'the same verdicts in every run'
    }`,
  );
}

// 2. the esbuild plugin in watch mode: rewrite the kernel file, rebuild, many times
if (ROUNDS > 0) {
  const rand = random(SEED * 7919);
  const pool = [];
  for (let tried = 0; pool.length < POOL && tried < 50 * POOL; tried++) {
    const kernel = randomKernel(rand, '__NAME__');
    const before = z3Stats().queries;
    await analyze(`import type { i32 } from 'parad';\n\n${kernel.replace('__NAME__', `pool${tried}`)}\n`, {
      fileName: 'pool.ts',
    });
    if (z3Stats().queries > before) pool.push(kernel);
  }
  const roundFile = (round) =>
    `import type { i32 } from 'parad';\n\n${Array.from({ length: ROUND_KERNELS }, (_, k) => pool[(round * ROUND_KERNELS + k) % pool.length].replace('__NAME__', `w${round}_${k}`)).join('\n\n')}\n`;
  console.log(
    `\nesbuild plugin, one context: ${ROUNDS} rebuilds, each after the kernel file is rewritten with ${ROUND_KERNELS} kernels (renamed) from a pool of ${pool.length} random kernels that need z3`,
  );
  const watched = path.join(dir, 'watch');
  fs.mkdirSync(watched);
  const kernelPath = path.join(watched, 'k.kernel.ts');
  fs.writeFileSync(path.join(watched, 'app.ts'), "export * from './k.kernel.ts';\n");
  fs.writeFileSync(kernelPath, roundFile(0));
  const ctx = await esbuild.context({
    entryPoints: [path.join(watched, 'app.ts')],
    bundle: true,
    format: 'esm',
    platform: 'node',
    absWorkingDir: watched,
    external: ['parad'],
    write: false,
    logLevel: 'silent',
    plugins: [parad({ declarations: false })],
  });
  const times = [];
  const samples = [];
  const start = z3Stats();
  let buildErrors = 0,
    z3Warnings = 0;
  for (let round = 0; round < ROUNDS; round++) {
    fs.writeFileSync(kernelPath, roundFile(round));
    const t0 = performance.now();
    try {
      const r = await ctx.rebuild();
      for (const w of r.warnings.filter((m) => m.text.startsWith('PARAD2004'))) {
        if (z3Warnings++ < 3) console.log(`  round ${round}: ${w.text}`);
      }
    } catch (e) {
      // a kernel with a race is a build error (PARAD2001), not a crash; anything else is one
      const failure = /** @type {esbuild.BuildFailure} */ (e);
      if (!failure.errors?.every((m) => /^PARAD\d{4}/.test(m.text))) {
        crashes++;
        console.log(`  round ${round}: CRASHED ${e}`);
      }
      buildErrors++;
    }
    times.push(performance.now() - t0);
    if (round % Math.max(1, Math.floor(ROUNDS / 10)) === 0 || round === ROUNDS - 1) {
      const s = z3Stats();
      samples.push({ round, rss: process.memoryUsage().rss, heap: process.memoryUsage().heapUsed, ...s });
      console.log(
        `  round ${String(round).padStart(4)}: RSS ${String(mb(process.memoryUsage().rss)).padStart(5)} MiB (JS heap ${mb(process.memoryUsage().heapUsed)} MiB), z3 queries ${s.queries - start.queries}, failures ${s.failures - start.failures}, workers started ${s.workers - start.workers} (${s.recycled - start.recycled} recycled), last 10 rebuilds ${median(times.slice(-10)).toFixed(0)} ms median`,
      );
    }
  }
  await ctx.dispose();
  const end = z3Stats();
  console.log(
    `  ${ROUNDS} rebuilds: median ${median(times).toFixed(0)} ms, p95 ${pct(times, 0.95).toFixed(0)} ms, max ${Math.max(...times).toFixed(0)} ms; ${buildErrors} with race errors; ${z3Warnings} PARAD2004; z3: ${end.queries - start.queries} queries, ${end.failures - start.failures} failed, ${end.workers - start.workers} workers`,
  );
  const warm = samples.filter((s) => s.round >= ROUNDS / 5);
  if (warm.length > 1)
    console.log(
      `  resident memory after warm-up (round >= ${Math.ceil(ROUNDS / 5)}): ${mb(Math.min(...warm.map((s) => s.rss)))}–${mb(Math.max(...warm.map((s) => s.rss)))} MiB`,
    );
}
await stopZ3();
fs.rmSync(dir, { recursive: true, force: true });
console.log(`\n${crashes} crashes`);
process.exit(crashes ? 1 : 0);
