/**
 * Soundness and precision of the exclusive-read analysis against brute force: random 1-D/2-D affine
 * loop nests (bounds, strides, offsets, coefficients, inner sequential loops, windows moving with
 * the nest, flattened indexing) are analyzed, then enumerated at small concrete sizes. A `yes`
 * contradicted by enumeration, a `no` whose witness is not real, or a `depends` condition that
 * admits a conflict is a failure.
 * `npm run fuzz` runs 10,000 cases (scripts/fuzz.mjs, in batches); the suite runs a few (PARAD_FUZZ_RUNS).
 */
import { describe, expect } from 'vitest';
import { test } from '@fast-check/vitest';
import fc from 'fast-check';
import { analyze } from '../transformer/index.js';

// each case costs z3 queries (~0.1–2 s): a few in the suite, many in `npm run fuzz`
const RUNS = Number(process.env.PARAD_FUZZ_RUNS ?? (process.env.CI ? 12 : 20));

interface Loop { lo: number; hiOff: number; step: number }
interface Read { coef: number[]; inner: number; c: number; nCoef: number; flat: boolean }
/** `window`: the inner loop runs from `i - m` to `i + m` (moves with the nest), else from 0 to m */
interface Nest { loops: Loop[]; inner: boolean; window: boolean; reads: Read[] }

const loopArb = fc.record({ lo: fc.integer({ min: 0, max: 2 }), hiOff: fc.integer({ min: 0, max: 2 }), step: fc.integer({ min: 1, max: 2 }) });
const nestArb: fc.Arbitrary<Nest> = fc.integer({ min: 1, max: 2 }).chain((d) =>
  fc.record({
    loops: fc.array(loopArb, { minLength: d, maxLength: d }),
    inner: fc.boolean(),
    window: fc.boolean(),
    reads: fc.array(fc.record({
      coef: fc.array(fc.integer({ min: -2, max: 2 }), { minLength: d, maxLength: d }),
      inner: fc.integer({ min: 0, max: 1 }),
      c: fc.integer({ min: -2, max: 2 }),
      nCoef: fc.integer({ min: 0, max: 1 }),
      flat: fc.boolean(),
    }), { minLength: 1, maxLength: 3 }),
  }));

const VARS = ['i', 'j'];

function indexText(r: Read, nest: Nest): string {
  const terms: string[] = [];
  nest.loops.forEach((_, k) => {
    // flattened 2-D indexing: i * n + j
    if (r.flat && nest.loops.length === 2 && k === 0) terms.push(`${VARS[0]} * n`);
    else if (r.coef[k]) terms.push(`${r.coef[k]} * ${VARS[k]}`);
  });
  if (nest.inner && r.inner) terms.push('q');
  if (r.nCoef) terms.push('n');
  terms.push(String(r.c));
  return terms.join(' + ');
}

function source(nest: Nest): string {
  const lines = ["import type { i32 } from 'parad';", '/** @kernel */', 'export function k(out: Float64Array, x: Float64Array, n: i32, m: i32): void {'];
  let indent = '  ';
  nest.loops.forEach((l, k) => {
    lines.push(`${indent}// @parallel`, `${indent}for (let ${VARS[k]} = ${l.lo}; ${VARS[k]} < n - ${l.hiOff}; ${VARS[k]} += ${l.step}) {`);
    indent += '  ';
  });
  const sum = nest.reads.map((r) => `x[${indexText(r, nest)}]`).join(' + ');
  if (nest.inner) lines.push(nest.window ? `${indent}for (let q = i - m; q <= i + m; q++) {` : `${indent}for (let q = 0; q < m; q++) {`, `${indent}  out[0] += ${sum};`, `${indent}}`);
  else lines.push(`${indent}out[0] += ${sum};`);
  for (let k = nest.loops.length - 1; k >= 0; k--) lines.push(`${'  '.repeat(k + 1)}}`);
  lines.push('}');
  return lines.join('\n');
}

/** Elements read by each iteration, for concrete n and m. */
function enumerate(nest: Nest, n: number, m: number): Map<string, Set<number>> {
  const out = new Map<string, Set<number>>();
  const ranges = nest.loops.map((l) => { const xs: number[] = []; for (let v = l.lo; v < n - l.hiOff; v += l.step) xs.push(v); return xs; });
  const iters: number[][] = ranges.length === 1 ? ranges[0].map((v) => [v]) : ranges[0].flatMap((a) => ranges[1].map((b) => [a, b]));
  for (const it of iters) {
    const set = new Set<number>();
    const qs = !nest.inner ? [0] : nest.window ? Array.from({ length: Math.max(0, 2 * m + 1) }, (_, k) => it[0] - m + k) : Array.from({ length: Math.max(0, m) }, (_, k) => k);
    for (const q of qs) {
      for (const r of nest.reads) {
        let e = r.c + r.nCoef * n + (nest.inner && r.inner ? q : 0);
        it.forEach((v, k) => { e += r.flat && nest.loops.length === 2 && k === 0 ? v * n : r.coef[k] * v; });
        set.add(e);
      }
    }
    out.set(it.join(','), set);
  }
  return out;
}

function conflict(reads: Map<string, Set<number>>): boolean {
  const owner = new Map<number, string>();
  for (const [it, set] of reads) for (const e of set) {
    const o = owner.get(e);
    if (o !== undefined && o !== it) return true;
    owner.set(e, it);
  }
  return false;
}

const evalCondition = (cond: string, n: number, m: number): boolean => new Function('n', 'm', `return (${cond});`)(n, m) as boolean;

describe('exclusive-read verdicts agree with brute force', () => {
  test.prop([nestArb], { numRuns: RUNS, seed: Number(process.env.PARAD_FUZZ_SEED ?? 7) })('random affine nests', async (nest) => {
    const src = source(nest);
    if (process.env.PARAD_FUZZ_LOG) console.log(`--- case\n${src}`);
    const { report } = await analyze(src, { fileName: 'fuzz.ts', races: false });
    const read = report.kernels[0].loops[0].reads.find((r) => r.name === 'x');
    expect(read, src).toBeDefined();
    const sizes: [number, number][] = [];
    for (let n = 0; n <= 9; n++) for (let m = 0; m <= 3; m++) sizes.push([n, m]);
    switch (read!.exclusiveRead) {
      case 'yes':
        for (const [n, m] of sizes) expect(conflict(enumerate(nest, n, m)), `yes contradicted at n=${n}, m=${m}\n${src}`).toBe(false);
        break;
      case 'no':
      case 'depends': {
        const w = read!.witness!;
        const n = w.params.n ?? 0, m = w.params.m ?? 0;
        const reads = enumerate(nest, n, m);
        const [a, b] = w.iterations.map((it) => nest.loops.map((_, k) => it[VARS[k]]).join(','));
        expect(a, `witness iterations must differ\n${src}`).not.toBe(b);
        expect(reads.get(a)?.has(w.element) && reads.get(b)?.has(w.element), `witness not real: ${JSON.stringify(w)}\n${src}`).toBe(true);
        if (read!.exclusiveRead === 'depends') {
          for (const [n2, m2] of sizes) {
            if (evalCondition(read!.condition!, n2, m2)) expect(conflict(enumerate(nest, n2, m2)), `condition ${read!.condition} admits a conflict at n=${n2}, m=${m2}\n${src}`).toBe(false);
          }
        }
        break;
      }
      default:
        break; // unknown: no claim to check
    }
  });
});
