/**
 * Differential GPU fuzzing: the random kernels of the property tests (test/support/generators.ts:
 * straight-line parallel kernels with max/min, sequential recurrences, programs with loops, branches,
 * in-place updates and reassigned locals, row loops mixing scalars and inner loops, affine nests
 * with inner loops, scalar reductions of parallel loops (+=, -=, *=, Math.max, Math.min), random layers), made 32-bit, run K, K_d and K_b (the analysis' strategies and
 * each strategy forced) on WebGPU (dawn.node over SwiftShader, WebGPU's default limits) and must
 * match the JavaScript module (f32 tolerance) and pass the dot-product test with K_d and K_b both
 * on the GPU.
 *
 * `npm test` runs PARAD_GPU_FUZZ_RUNS (default 1) cases per generator from PARAD_GPU_FUZZ_SEED
 * (default 1001), of every generator or those named in PARAD_GPU_FUZZ_GENERATORS; `npm run fuzz:gpu` runs thousands in batches (scripts/fuzz-gpu.mjs). A failure
 * prints the case's source and the seed to replay it. Kernels the backend refuses (PARAD3001, or
 * K_b staying in JavaScript, PARAD3002) are counted, not failed. A second test checks that the
 * device of support/gpu-check.mjs's openDevice survives garbage collections when its caller drops
 * dawn.node's GPU object (support/gpu-gc-check.mjs): that drop was the cause of the fuzz's crashes.
 */
import { beforeAll, expect, test } from 'vitest';
import fc from 'fast-check';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { prng } from '../testing/index.js';
import { compile } from '../transformer/index.js';
import { to32 } from './support/fixtures32.js';
import {
  LEN,
  layerArb,
  oneD,
  parallelKernel,
  program,
  reductionKernel,
  rowKernel,
  sequentialKernel,
  SIZE,
  twoD,
} from './support/generators.js';

const RUNS = Number(process.env.PARAD_GPU_FUZZ_RUNS ?? 1);
// (seed 1's row kernel, 69 rows, used to abort dawn.node every time, and seed 1001 crashed or hung it on
// 3 cases of 8: not the kernels, the runner let dawn.node's GPU object be garbage-collected; openDevice
// in support/gpu-check.mjs now keeps it, and both seeds run without a crash)
const SEED = Number(process.env.PARAD_GPU_FUZZ_SEED ?? 1001);
/** PARAD_GPU_FUZZ_GENERATORS=rows,reduction: only these generators (same samples as in a full run) */
const ONLY = process.env.PARAD_GPU_FUZZ_GENERATORS?.split(',');
/** relative errors against JavaScript (f32 on both sides, f32 arithmetic on the GPU) and of the dot-product test */
/** seconds one case may run (SwiftShader on a loaded machine is slow) before its process counts as hung */
const CASE_TIMEOUT_S = Number(process.env.PARAD_GPU_CASE_TIMEOUT ?? 180);
const TOLERANCE = { primal: 1e-3, adjoint: 1e-3, dot: 1e-4 };

type Args = Record<string, number[] | number>;
interface Generator {
  name: string;
  arb: fc.Arbitrary<{ source: string; args: Args }>;
  kernel: string;
}
const floats = (rnd: () => number, n: number) => Array.from({ length: n }, () => 0.2 + rnd());
const GENERATORS: Generator[] = [
  {
    name: 'parallel',
    kernel: 'k',
    arb: parallelKernel.map((source) => ({
      source,
      args: ((r) => ({ y: floats(r, 5), x: floats(r, 6), w: [0.7, -0.4], a: 0.6, n: 5 }))(prng(2024)),
    })),
  },
  {
    name: 'sequential',
    kernel: 'k',
    arb: sequentialKernel.map((source) => ({
      source,
      args: ((r) => ({ y: floats(r, 6), x: floats(r, 7), a: 0.6, n: 6 }))(prng(2025)),
    })),
  },
  {
    name: 'program',
    kernel: 'k',
    arb: program.map((source) => ({
      source,
      args: ((r) => ({ y: floats(r, SIZE), x: floats(r, SIZE), a: 0.45, n: SIZE }))(prng(77)),
    })),
  },
  {
    name: 'rows',
    kernel: 'k',
    arb: fc
      .tuple(rowKernel, fc.integer({ min: 1, max: 70 }), fc.integer({ min: 1, max: 5 }))
      .map(([source, rows, cols]) => ({
        source,
        args: ((r) => ({ y: floats(r, rows * cols), x: floats(r, rows * cols), w: floats(r, cols), rows, cols }))(
          prng(rows * 10 + cols),
        ),
      })),
  },
  {
    name: 'affine1d',
    kernel: 'k',
    arb: fc
      .tuple(oneD, fc.integer({ min: 1, max: 12 }))
      .map(([source, n]) => ({ source, args: ((r) => ({ y: floats(r, 24), x: floats(r, LEN), n }))(prng(n)) })),
  },
  {
    name: 'affine2d',
    kernel: 'k',
    arb: fc
      .tuple(twoD, fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 12 }))
      .map(([source, R, C, W]) => ({
        source,
        args: ((r) => ({ y: floats(r, R * C), x: floats(r, LEN), R, C, W }))(prng(R * 100 + C * 10 + W)),
      })),
  },
  // += / -= reductions of a parallel loop (WGSL: workgroup sums, one atomic per workgroup), up to 4 workgroups
  {
    name: 'reduction',
    kernel: 'k',
    arb: fc
      .tuple(reductionKernel(['+=', '-=']), fc.integer({ min: 2, max: 200 }))
      .map(([source, n]) => ({ source, args: ((r) => ({ y: floats(r, n), x: floats(r, n), a: 0.45, n }))(prng(n)) })),
  },
  {
    name: 'layer',
    kernel: 'L',
    arb: layerArb.map((source) => ({
      source,
      args: ((r) => ({ p: floats(r, 5).map((v) => v - 0.7), q: floats(r, 5).map((v) => v - 0.7), k: 0.7, n: 5 }))(
        prng(5),
      ),
    })),
  },
  // *=, Math.max and Math.min reductions of a parallel loop (WGSL: workgroup trees and one CAS update per
  // workgroup; K_d and K_b: product.ts, extremum.ts), up to 4 workgroups; last, so that the samples of the
  // generators above stay those of earlier runs. The product's factors are brought near 1 (1 + 0.02·e
  // instead of 0.5 + e, e in (-0.5, 0.5)): 200 factors in (0, 1) vanish, and with them what the check sees
  {
    name: 'reduction-ops',
    kernel: 'k',
    arb: fc.tuple(reductionKernel(['*=', 'max', 'min']), fc.integer({ min: 2, max: 200 })).map(([source, n]) => ({
      source: source.replace('s *= 0.5 + ', 's *= 1 + 0.02 * '),
      args: ((r) => ({ y: floats(r, n), x: floats(r, n), a: 0.45, n }))(prng(n)),
    })),
  },
];

/** Cases of the big runs (`npm run fuzz:gpu`) that found bugs, run every time (their sources as generated, 32-bit). */
const REGRESSIONS: { name: string; source: string; args: Args }[] = [
  {
    // seed 3025, generator program, sample 3: K_b's host function popped a branch's flag with `tape.pop()`
    // (undefined there: the runtime's tape is `gpu`), a ReferenceError
    name: 'program-3025-3',
    source: `import type { f32, i32 } from 'parad';
/** @kernel */
export function k(y: Float32Array, x: Float32Array, a: f32, n: i32): void {
  let s0 = 0.5 * Math.tanh(a);
  // @parallel
  for (let i = 0; i < n; i++) {
    const t0 = 0.5 * Math.tanh(Math.hypot(1 + x[i] * x[i], Math.min(s0, x[(i + 2) % n] + 0.01)));
    y[i] = 0.5 * Math.tanh(Math.log1p(0.5 + Math.tanh(t0)));
  }
  if (s0 > 0) {
    s0 = 0.5 * Math.tanh(Math.tanh(Math.log2(1.5 + Math.tanh(s0))));
  }
}
`,
    args: ((r) => ({ y: floats(r, SIZE), x: floats(r, SIZE), a: 0.45, n: SIZE }))(prng(77)),
  },
  {
    // seed 4015, generator parallel, sample 4: Math.pow of constants: Tint evaluates both arms of the
    // lowering's select, and pow(-(a), b) of a positive constant a is an error there (no shader)
    name: 'parallel-4015-4',
    source: `import type { f32, i32 } from 'parad';
/** @kernel */
export function k(y: Float32Array, x: Float32Array, w: Float32Array, a: f32, n: i32): void {
  // @parallel
  for (let i = 0; i < n; i++) {
    const t0 = Math.pow(1.5 + Math.tanh((-0.5)), Math.atan2(0.5, 2 + Math.tanh(0.5)));
    y[i] = Math.tan(0.3 * Math.tanh(x[i])) + 0.25 * y[i] + t0 * Math.pow(-1.5, 3);
  }
}
`,
    args: ((r) => ({ y: floats(r, 5), x: floats(r, 6), w: [0.7, -0.4], a: 0.6, n: 5 }))(prng(2024)),
  },
  {
    // seed 8000, generator layer, sample 2: a layer's values grew to ~1e4 and `squash` took their tanh:
    // WGSL's tanh went through sinh/cosh (SwiftShader), Inf/Inf = NaN past |x| ≈ 89, in K, K_d and K_b
    name: 'layer-8000-2',
    source: `import type { f32, i32 } from 'parad';
/** @kernel */
export function k(y: Float32Array, x: Float32Array, a: f32, n: i32): void {
  // @parallel
  for (let i = 0; i < n; i++) {
    y[i] = Math.tanh(a * x[i]) + 0.5 * Math.tanh(x[i]);
  }
}
`,
    args: { y: [0, 0, 0, 0, 0, 0], x: [-17046.2, -95.5, -9.5, 0.3, 89.5, 1e4], a: 1.5, n: 6 },
  },
];

interface Run {
  fn: string;
  strategy?: string | null;
  errors: Record<string, number | null>;
  failure?: string;
  dot?: { lhs: number; rhs: number; rel: number | null };
}
interface Entry {
  crashed?: boolean;
  crashes?: number;
  diagnostics: { code: string; severity: string; message: string }[];
  tint: { fn: string; pass: number; errors: string[] }[];
  runs: Run[];
  adjoints?: Run[];
  failure?: string;
}
interface Case {
  name: string;
  generator: string;
  index: number;
  source: string;
  specs: unknown[];
}

const cases: Case[] = [];
let report: { adapter: string; canRun: boolean; cases: Record<string, Entry> };

beforeAll(async () => {
  for (const [g, gen] of GENERATORS.entries()) {
    if (ONLY && !ONLY.includes(gen.name)) continue;
    const samples = fc.sample(gen.arb, { seed: SEED * 7919 + g, numRuns: RUNS });
    for (const [index, { source: src, args }] of samples.entries()) {
      const source = to32(src);
      // the parameters' types, from the compiled kernel (arrays Float32Array after to32)
      const meta = (await compile(source, { fileName: 'fuzz.ts', targets: ['ts'] })).kernels.find(
        (k) => k.name === gen.kernel,
      );
      const types = Object.fromEntries((meta?.params ?? []).map((p) => [p.name, p.type]));
      cases.push({
        name: `${gen.name}-${SEED}-${index}`,
        generator: gen.name,
        index,
        source,
        specs: [{ kernel: gen.kernel, tag: null, args, types }],
      });
    }
  }
  // the cases the big runs found bugs with, every run
  for (const r of REGRESSIONS) {
    const meta = (await compile(r.source, { fileName: 'fuzz.ts', targets: ['ts'] })).kernels.find(
      (k) => k.name === 'k',
    );
    const types = Object.fromEntries((meta?.params ?? []).map((p) => [p.name, p.type]));
    cases.push({
      name: r.name,
      generator: 'regression',
      index: 0,
      source: r.source,
      specs: [{ kernel: 'k', tag: null, args: r.args, types }],
    });
  }
  // PARAD_GPU_FUZZ_CASES=cases.json: the cases written out, to replay them by hand (stderr included) with
  // PARAD_GPU_CASES=cases.json PARAD_GPU_OUT=report.json node test/support/gpu-fuzz-run.mjs
  if (process.env.PARAD_GPU_FUZZ_CASES) fs.writeFileSync(process.env.PARAD_GPU_FUZZ_CASES, JSON.stringify(cases));
  report = await runCases(cases);
}, 3_600_000);

/**
 * Runs `list` in child processes (test/support/gpu-fuzz-run.mjs). The aborts (`std::system_error:
 * Invalid argument`) and hangs (a deadlock in dawn::native::InstanceBase::ProcessEvents) seen here
 * came from the runner dropping the object of dawn.node's `create()`: once garbage-collected, its
 * instance is freed under the live device (support/gpu-check.mjs keeps it now). As a safety net a
 * case that crashes the process (or hangs it, the parent kills it after CASE_TIMEOUT_S) is run again
 * alone, twice; one that crashes every time fails (`crashed`), one that then runs counts among
 * `crashes` (reported, named, not failed: a count above 0 is worth a look).
 */
async function runCases(list: Case[]): Promise<typeof report> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parad-gpu-fuzz-'));
  const run = async (part: Case[]): Promise<{ report?: typeof report; crashed?: string }> => {
    const casesFile = path.join(dir, 'cases.json'),
      out = path.join(dir, 'report.json'),
      running = `${out}.running`;
    fs.writeFileSync(casesFile, JSON.stringify(part));
    fs.rmSync(out, { force: true });
    const child = spawn(process.execPath, [path.resolve(import.meta.dirname, 'support/gpu-fuzz-run.mjs')], {
      env: { ...process.env, PARAD_GPU_CASES: casesFile, PARAD_GPU_OUT: out },
      stdio: 'ignore',
    });
    // a case running for longer than CASE_TIMEOUT_S has hung the process (its event loop too, at times): killed
    let current = '',
      since = Date.now();
    const watch = setInterval(() => {
      const now = fs.existsSync(running) ? fs.readFileSync(running, 'utf8') : '';
      if (now !== current) [current, since] = [now, Date.now()];
      else if (Date.now() - since > CASE_TIMEOUT_S * 1000) child.kill('SIGKILL');
    }, 1000);
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    clearInterval(watch);
    const crashed = code === 0 ? undefined : fs.existsSync(running) ? fs.readFileSync(running, 'utf8') : part[0]?.name;
    fs.rmSync(running, { force: true });
    return {
      report: fs.existsSync(out) ? (JSON.parse(fs.readFileSync(out, 'utf8')) as typeof report) : undefined,
      crashed,
    };
  };
  const all: typeof report = { adapter: '', canRun: false, cases: {} };
  let rest = list;
  while (rest.length) {
    const r = await run(rest);
    if (r.report)
      Object.assign(all, {
        adapter: r.report.adapter,
        canRun: r.report.canRun,
        cases: { ...all.cases, ...r.report.cases },
      });
    if (!r.crashed) break;
    const at = rest.findIndex((c) => c.name === r.crashed);
    const c = rest[at];
    let alone: Awaited<ReturnType<typeof run>> | undefined;
    for (let attempt = 0; attempt < 2 && !alone?.report?.cases[c.name]; attempt++) alone = await run([c]);
    const entry = alone?.report?.cases[c.name];
    if (alone?.report) Object.assign(all, { adapter: alone.report.adapter, canRun: alone.report.canRun });
    all.cases[c.name] = entry ? { ...entry, crashes: 1 } : { diagnostics: [], tint: [], runs: [], crashed: true };
    rest = rest.slice(at + 1);
  }
  return all;
}

/** What is wrong with one case's report (empty: nothing), and whether it ran at all. */
function problems(entry: Entry): { ran: boolean; refused?: string; problems: string[] } {
  const out: string[] = [];
  if (entry.crashed) return { ran: false, problems: ['the process crashed (or hung) on this case, three times'] };
  if (entry.failure) return { ran: false, problems: [`failure: ${entry.failure}`] };
  const refused = entry.diagnostics.find((d) => d.code === 'PARAD3001' || d.code === 'PARAD3002');
  for (const d of entry.diagnostics)
    if (d.severity === 'error' && d.code !== 'PARAD3001') out.push(`${d.code}: ${d.message}`);
  for (const t of entry.tint)
    if (t.errors.length) out.push(`${t.fn} pass ${t.pass} does not compile: ${t.errors.join('; ')}`);
  const within = (r: Run, tol: number) => {
    const what = `${r.fn}${r.strategy ? ` (${r.strategy} forced)` : ''}`;
    if (r.failure) out.push(`${what}: ${r.failure.split('\n')[0]}`);
    for (const [k, e] of Object.entries(r.errors))
      if (e === null || !(e <= tol)) out.push(`${what}: ${k} off by ${e ?? 'NaN/Infinity'} (relative)`);
    if (r.dot && (r.dot.rel === null || !(r.dot.rel <= TOLERANCE.dot)))
      out.push(`${what}: dot-product test ${r.dot.lhs} vs ${r.dot.rhs}`);
  };
  for (const r of entry.runs) within(r, TOLERANCE.primal);
  for (const r of entry.adjoints ?? []) within(r, TOLERANCE.adjoint);
  return {
    ran: entry.runs.length > 0,
    ...(refused ? { refused: `${refused.code}: ${refused.message}` } : {}),
    problems: out,
  };
}

test('random kernels on WebGPU match JavaScript and pass the dot-product test on the GPU (seeds printed for replay)', () => {
  if (!report.canRun) {
    if (process.env.CI) expect.fail('no SwiftShader: apt-get install chromium libvulkan1');
    return;
  }
  const failures: string[] = [];
  const counts = { cases: cases.length, ran: 0, adjoints: 0, refused: 0, crashes: 0 };
  const crashed: string[] = [];
  for (const c of cases) {
    const entry = report.cases[c.name];
    const p = problems(entry);
    if (p.ran) counts.ran++;
    if (entry.adjoints?.length) counts.adjoints++;
    if (p.refused) counts.refused++;
    counts.crashes += entry.crashes ?? 0;
    if (entry.crashes) crashed.push(c.name);
    if (p.problems.length) {
      failures.push(
        `${c.name} (replay: PARAD_GPU_FUZZ_SEED=${SEED} PARAD_GPU_FUZZ_RUNS=${RUNS} npx vitest run test/gpu-fuzz.test.ts; generator ${c.generator}, sample ${c.index})\n${p.problems.map((x) => `  ${x}`).join('\n')}\n${c.source}`,
      );
    }
  }
  console.log(
    `gpu fuzz seed ${SEED}: ${JSON.stringify(counts)}${crashed.length ? ` (crashed or hung, then ran alone: ${crashed.join(', ')})` : ''}${failures.length ? `, ${failures.length} failed` : ''}`,
  );
  if (process.env.PARAD_GPU_FUZZ_REPORT)
    fs.writeFileSync(process.env.PARAD_GPU_FUZZ_REPORT, JSON.stringify({ seed: SEED, counts, failures }));
  expect(failures, failures.join('\n\n')).toEqual([]);
  // the generators make kernels the backend runs: most cases run K_b on the GPU
  expect(counts.adjoints).toBeGreaterThanOrEqual(Math.ceil(cases.length / 2));
});

test("the device keeps working after garbage collections when the caller drops dawn.node's GPU object (it used to abort the fuzz's runs)", () => {
  const r = spawnSync(
    process.execPath,
    ['--expose-gc', path.resolve(import.meta.dirname, 'support/gpu-gc-check.mjs')],
    { encoding: 'utf8', timeout: 120_000 },
  );
  expect(r.status, `${r.signal ?? ''} ${r.stderr}`).toBe(0);
  const { canRun, seen } = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}');
  expect(seen).toHaveLength(5);
  // on SwiftShader the values written are read back (dawn's null backend, without it, reads zeros)
  if (canRun) expect(seen).toEqual([0, 1, 2, 3, 4]);
});

test("the comparison's slack is what WGSL's accuracy of the built-in functions explains, and no more", async () => {
  // @ts-expect-error: plain JavaScript support module
  const { mathSlack, relError } = await import('./support/gpu-check.mjs');
  const sin = Math.sin;
  // six terms of sin(0.45): the accuracy of WGSL's sin (2^-11 absolute) six times, twice
  const run = () => ({ r: [6 * Math.sin(0.45)], plain: [0.45 * 6] });
  const slack = mathSlack(run, run());
  expect(slack.r[0]).toBeCloseTo(2 * 6 * 2 ** -11, 10);
  // no Math function: no slack; Math is restored
  expect(slack.plain[0]).toBe(0);
  expect(Math.sin).toBe(sin);
  // the slack is taken off the difference before it is made relative (to max(|value|, 1e-3))
  expect(relError([1.01], [1], [0])).toBeCloseTo(0.01, 12);
  expect(relError([1.01], [1], [0.004])).toBeCloseTo(0.006, 12);
  expect(relError([1.01], [1], [0.02])).toBe(0);
  expect(relError([Number.NaN], [1], [1e9])).toBe(Infinity);
});
