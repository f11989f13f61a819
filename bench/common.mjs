// Helpers shared by the benchmarks (bench/run.mjs and the sections it runs): compiling kernels to
// importable modules, deterministic data, interleaved timing with medians, the agreement checks that
// must pass before a time means anything, and the markdown tables the results are printed as.
import fs from 'node:fs';
import { createRequire, register } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { compile } from '../dist/transformer/index.js';

export const here = path.dirname(fileURLToPath(import.meta.url));
export const root = path.join(here, '..');
export const outDir = path.join(here, 'out');

/**
 * Compiles a kernel file (path relative to the repository root) to JavaScript, writes it to
 * bench/out/<name><suffix>.ad.js and imports it. Throws with the diagnostics when it does not compile.
 */
export async function compileModule(file, options = {}, suffix = '') {
  const source = fs.readFileSync(path.join(root, file), 'utf8');
  const compiled = await compile(source, { fileName: file, format: 'js', ...options });
  if (!compiled.code) {
    const diags = compiled.diagnostics.map((d) => `  ${d.code} ${d.message}`).join('\n');
    throw new Error(`bench: ${file} does not compile:\n${diags}`);
  }
  fs.mkdirSync(outDir, { recursive: true });
  const out = path.join(outDir, `${path.basename(file, '.ts')}${suffix}.ad.js`);
  fs.writeFileSync(out, compiled.code);
  const mod = await import(`${pathToFileURL(out).href}?${Date.now()}`);
  return { mod, compiled, source };
}

/** Park–Miller: the same data on every run and platform. */
export function random(seed = 42) {
  let s = seed;
  return () => (s = (s * 16807) % 2147483647) / 2147483647;
}
/** Uniform values in [-0.5, 0.5). */
export const arr = (rnd, n) => Float64Array.from({ length: n }, () => rnd() - 0.5);
/** Deterministic, non-uniform adjoint seeds. */
export const seeds = (n) => Float64Array.from({ length: n }, (_, i) => 0.5 + ((i * 7919) % 101) / 101);

export const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
export const REPS = Number(process.env.BENCH_REPS ?? 21);
export const WARMUP = Number(process.env.BENCH_WARMUP ?? 5);
/**
 * Each case repeats until it has REPS repetitions and has run MIN_MS milliseconds (at most
 * MAX_REPS): on a loaded machine a fast kernel's median needs many more samples than a slow one's.
 */
export const MIN_MS = Number(process.env.BENCH_MIN_MS ?? 3000);
const MAX_REPS = 2000;

/**
 * Times the variants of one case interleaved: each repetition calls every variant once, so drift
 * (other load on the machine) hits all of them alike, starting with a different variant each time
 * (the garbage one variant leaves is collected inside whichever runs next: rotating spreads that
 * evenly). With `node --expose-gc` (as `npm run bench` runs) each case starts from a collected heap;
 * a collection before every call would distort the times (V8 runs some code several times slower
 * right after a full collection). Returns the median ms per variant and the number of repetitions
 * (`reps`). `variants[k]` is `{ state?: () => state, reset?: (state) => void, run: (state) => void }`:
 * the reset runs outside the timed region (in place, no allocation).
 */
export async function timeInterleaved(variants, reps = REPS, warmup = WARMUP) {
  const names = Object.keys(variants);
  const states = Object.fromEntries(names.map((k) => [k, variants[k].state?.()]));
  const times = Object.fromEntries(names.map((k) => [k, []]));
  globalThis.gc?.();
  const start = performance.now();
  let rep = 0;
  for (; rep < warmup + reps || (performance.now() - start < MIN_MS && rep < warmup + MAX_REPS); rep++) {
    for (let j = 0; j < names.length; j++) {
      const k = names[(rep + j) % names.length];
      const v = variants[k];
      v.reset?.(states[k]);
      const t0 = performance.now();
      const r = v.run(states[k]);
      if (r instanceof Promise) await r;
      const dt = performance.now() - t0;
      if (rep >= warmup) times[k].push(dt);
    }
  }
  return { ...Object.fromEntries(names.map((k) => [k, median(times[k])])), reps: rep - warmup };
}

/**
 * The largest error of `got` against `want`, relative to want's largest element (so that float32
 * references are compared at their precision), or Infinity when the lengths differ.
 */
export function relativeError(got, want) {
  if (got.length !== want.length) return Infinity;
  let scale = 1e-300,
    err = 0;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]));
  for (let i = 0; i < want.length; i++) err = Math.max(err, Math.abs(got[i] - want[i]));
  return err / scale;
}

/** Stops the run with a visible message: a time measured on wrong derivatives means nothing. */
export function mismatch(what) {
  console.error(`\n*** MISMATCH: ${what} ***\n`);
  process.exit(1);
}

/** `value ok` or `value MISS` against a goal (`<=` goal unless `atLeast`). */
export function mark(value, goal, atLeast = false) {
  if (!Number.isFinite(value)) return '—';
  const ok = atLeast ? value >= goal : value <= goal;
  return `${value.toFixed(2)} ${ok ? 'ok' : 'MISS'}`;
}

export const ms = (v) => (Number.isFinite(v) ? v.toFixed(3) : '—');

/** A markdown table, columns padded: numbers (and marked ratios) right-aligned, text left-aligned. */
export function table(head, rows) {
  const numeric = head.map((_, i) => rows.every((r) => /^(-?[\d.]+( ok| MISS)?|—)$/.test(String(r[i]))));
  const widths = head.map((h, i) => Math.max(h.length, 3, ...rows.map((r) => String(r[i]).length)));
  const cell = (x, i) => (numeric[i] ? String(x).padStart(widths[i]) : String(x).padEnd(widths[i]));
  const line = (r) => `| ${r.map(cell).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (numeric[i] ? ` ${'-'.repeat(w - 1)}: ` : ` ${'-'.repeat(w)} `)).join('|')}|`;
  return [line(head), rule, ...rows.map(line)].join('\n');
}

/**
 * Where two runs of one contract (their states and returned objects) differ beyond 1e-9, relative
 * to the largest element and element by element, as `'key' (relative e)`; undefined when they agree.
 */
export function differs(a, ra = {}, b, rb = {}) {
  for (const key of [...Object.keys(a), ...Object.keys(rb ?? {})]) {
    const x = key in a ? a[key] : [ra?.[key]],
      y = key in b ? b[key] : [rb?.[key]];
    let err = x.length === y.length ? 0 : Infinity,
      scale = 1e-300;
    for (let i = 0; i < y.length; i++) scale = Math.max(scale, Math.abs(y[i]));
    for (let i = 0; i < y.length; i++) err = Math.max(err, Math.abs(x[i] - y[i]) / Math.min(scale, 1 + Math.abs(y[i])));
    if (!(err <= 1e-9)) return `'${key}' (relative ${err.toExponential(2)})`;
  }
  return undefined;
}

/**
 * TF.js (@tensorflow/tfjs-core) with its gradients registered, and `backend` (a package name,
 * `@tensorflow/tfjs-backend-cpu` or `-webgpu`) loaded. tfjs-core's Node bundle registers no
 * gradients; its ES modules do (register_all_gradients), but import extensionless paths, which
 * Node's ESM loader rejects: a resolve hook tries '.js' first. The registries are global, so the
 * bundle sees what the ES modules register.
 */
export async function tfjsWithGradients(backend) {
  const require = createRequire(import.meta.url);
  let tfPath;
  try {
    tfPath = require.resolve('@tensorflow/tfjs-core');
    require.resolve(backend);
  } catch {
    throw new Error(`@tensorflow/tfjs-core and ${backend} are not installed`);
  }
  const tf = require('@tensorflow/tfjs-core');
  if (!tfjsGradients) {
    const hook =
      "export async function resolve(s, c, next) { if (/^\\.\\.?\\//.test(s) && !/\\.m?js$/.test(s)) { try { return await next(s + '.js', c); } catch {} } return next(s, c); }";
    register(`data:text/javascript,${encodeURIComponent(hook)}`);
    await import(pathToFileURL(path.join(path.dirname(tfPath), 'register_all_gradients.js')).href);
    tfjsGradients = true;
  }
  require(backend);
  return tf;
}
let tfjsGradients = false;
