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
import { analyze, type ReadReport } from '../transformer/index.js';

// each case costs z3 queries (~0.1–2 s): a few in the suite, many in `npm run fuzz`
const RUNS = Number(process.env.PARAD_FUZZ_RUNS ?? (process.env.CI ? 12 : 20));

interface Loop {
  lo: number;
  hiOff: number;
  step: number;
}
interface Read {
  coef: number[];
  inner: number;
  c: number;
  nCoef: number;
  flat: boolean;
}
/** `window`: the inner loop runs from `i - m` to `i + m` (moves with the nest), else from 0 to m */
interface Nest {
  loops: Loop[];
  inner: boolean;
  window: boolean;
  reads: Read[];
}

const loopArb = fc.record({
  lo: fc.integer({ min: 0, max: 2 }),
  hiOff: fc.integer({ min: 0, max: 2 }),
  step: fc.integer({ min: 1, max: 2 }),
});
const nestArb: fc.Arbitrary<Nest> = fc.integer({ min: 1, max: 2 }).chain((d) =>
  fc.record({
    loops: fc.array(loopArb, { minLength: d, maxLength: d }),
    inner: fc.boolean(),
    window: fc.boolean(),
    reads: fc.array(
      fc.record({
        coef: fc.array(fc.integer({ min: -2, max: 2 }), { minLength: d, maxLength: d }),
        inner: fc.integer({ min: 0, max: 1 }),
        c: fc.integer({ min: -2, max: 2 }),
        nCoef: fc.integer({ min: 0, max: 1 }),
        flat: fc.boolean(),
      }),
      { minLength: 1, maxLength: 3 },
    ),
  }),
);

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
  const lines = [
    "import type { i32 } from 'parad';",
    '/** @kernel */',
    'export function k(out: Float64Array, x: Float64Array, n: i32, m: i32): void {',
  ];
  let indent = '  ';
  nest.loops.forEach((l, k) => {
    lines.push(
      `${indent}// @parallel`,
      `${indent}for (let ${VARS[k]} = ${l.lo}; ${VARS[k]} < n - ${l.hiOff}; ${VARS[k]} += ${l.step}) {`,
    );
    indent += '  ';
  });
  const sum = nest.reads.map((r) => `x[${indexText(r, nest)}]`).join(' + ');
  if (nest.inner)
    lines.push(
      nest.window ? `${indent}for (let q = i - m; q <= i + m; q++) {` : `${indent}for (let q = 0; q < m; q++) {`,
      `${indent}  out[0] += ${sum};`,
      `${indent}}`,
    );
  else lines.push(`${indent}out[0] += ${sum};`);
  for (let k = nest.loops.length - 1; k >= 0; k--) lines.push(`${'  '.repeat(k + 1)}}`);
  lines.push('}');
  return lines.join('\n');
}

/** Elements read by each iteration, for concrete n and m. */
function enumerate(nest: Nest, n: number, m: number): Map<string, Set<number>> {
  const out = new Map<string, Set<number>>();
  const ranges = nest.loops.map((l) => {
    const xs: number[] = [];
    for (let v = l.lo; v < n - l.hiOff; v += l.step) xs.push(v);
    return xs;
  });
  const iters: number[][] =
    ranges.length === 1 ? ranges[0].map((v) => [v]) : ranges[0].flatMap((a) => ranges[1].map((b) => [a, b]));
  for (const it of iters) {
    const set = new Set<number>();
    const qs = !nest.inner
      ? [0]
      : nest.window
        ? Array.from({ length: Math.max(0, 2 * m + 1) }, (_, k) => it[0] - m + k)
        : Array.from({ length: Math.max(0, m) }, (_, k) => k);
    for (const q of qs) {
      for (const r of nest.reads) {
        let e = r.c + r.nCoef * n + (nest.inner && r.inner ? q : 0);
        it.forEach((v, k) => {
          e += r.flat && nest.loops.length === 2 && k === 0 ? v * n : r.coef[k] * v;
        });
        set.add(e);
      }
    }
    out.set(it.join(','), set);
  }
  return out;
}

function conflict(reads: Map<string, Set<number>>): boolean {
  const owner = new Map<number, string>();
  for (const [it, set] of reads)
    for (const e of set) {
      const o = owner.get(e);
      if (o !== undefined && o !== it) return true;
      owner.set(e, it);
    }
  return false;
}

const evalCondition = (cond: string, n: number, m: number): boolean =>
  new Function('n', 'm', `return (${cond});`)(n, m) as boolean;

/**
 * A verdict's claims checked against brute force (`readsAt`: each iteration's reads, by `key` of
 * the iteration, at sizes n, m): `yes` has no conflict at any of `sizes`; the witness of `no` and
 * `depends` is real, and `depends`' condition admits no conflict where it holds. False for
 * `unknown`, which claims nothing.
 */
function checkClaims(
  read: ReadReport,
  src: string,
  sizes: [number, number][],
  readsAt: (n: number, m: number) => Map<string, Set<number>>,
  key: (it: Record<string, number>) => string,
): boolean {
  switch (read.exclusiveRead) {
    case 'yes':
      for (const [n, m] of sizes)
        expect(conflict(readsAt(n, m)), `yes contradicted at n=${n}, m=${m}\n${src}`).toBe(false);
      return true;
    case 'no':
    case 'depends': {
      const w = read.witness!;
      const reads = readsAt(w.params.n ?? 0, w.params.m ?? 0);
      const [a, b] = w.iterations.map(key);
      expect(a, `witness iterations must differ\n${src}`).not.toBe(b);
      expect(
        reads.get(a)?.has(w.element) && reads.get(b)?.has(w.element),
        `witness not real: ${JSON.stringify(w)}\n${src}`,
      ).toBe(true);
      if (read.exclusiveRead === 'depends') {
        for (const [n2, m2] of sizes) {
          if (evalCondition(read.condition!, n2, m2))
            expect(
              conflict(readsAt(n2, m2)),
              `condition ${read.condition} admits a conflict at n=${n2}, m=${m2}\n${src}`,
            ).toBe(false);
        }
      }
      return true;
    }
    default:
      return false;
  }
}

describe('exclusive-read verdicts agree with brute force', () => {
  test.prop([nestArb], { numRuns: RUNS, seed: Number(process.env.PARAD_FUZZ_SEED ?? 7) })(
    'random affine nests',
    async (nest) => {
      const src = source(nest);
      if (process.env.PARAD_FUZZ_LOG) console.log(`--- case\n${src}`);
      const { report } = await analyze(src, { fileName: 'fuzz.ts', races: false });
      const read = report.kernels[0].loops[0].reads.find((r) => r.name === 'x');
      expect(read, src).toBeDefined();
      const sizes: [number, number][] = [];
      for (let n = 0; n <= 9; n++) for (let m = 0; m <= 3; m++) sizes.push([n, m]);
      // unknown claims nothing here
      checkClaims(
        read!,
        src,
        sizes,
        (n, m) => enumerate(nest, n, m),
        (it) => nest.loops.map((_, k) => it[VARS[k]]).join(','),
      );
    },
  );
});

// ---------------------------------------------------------------------------------------------
// Quasi-affine indices (issue 13): `%` (and the Euclidean idiom), `>>`, `<<`, `(a / b) | 0`,
// Math.floor/trunc of a quotient, `& (2^k − 1)`, Math.min/max clamps, products with a run-time
// stride, loop bounds with a division; constant and parameter divisors. Brute force evaluates
// the index text itself (JavaScript semantics: an index that is not an integer reads nothing).

interface QuasiRead {
  form: string;
  a: number;
  b: number;
  c: number;
  d: string;
}
interface QuasiNest {
  twoD: boolean;
  inner: number;
  bound: 'n' | 'div';
  reads: QuasiRead[];
}

const FORMS = ['mod', 'emod', 'shr', 'shl', 'divor', 'floor', 'trunc', 'and', 'min', 'max', 'stride', 'plain'];
const quasiArb: fc.Arbitrary<QuasiNest> = fc.record({
  twoD: fc.boolean(),
  inner: fc.integer({ min: 0, max: 3 }),
  bound: fc.constantFrom('n' as const, 'div' as const),
  reads: fc.array(
    fc.record({
      form: fc.constantFrom(...FORMS),
      a: fc.integer({ min: -1, max: 3 }),
      b: fc.integer({ min: 0, max: 2 }),
      c: fc.integer({ min: -2, max: 3 }),
      d: fc.constantFrom('2', '3', '4', 'm'),
    }),
    { minLength: 1, maxLength: 3 },
  ),
});

function quasiIndex(r: QuasiRead, nest: QuasiNest): string {
  const aff = [`${r.a} * i`, nest.twoD && r.b ? `${r.b} * j` : '', nest.inner ? 'q' : '', String(r.c)]
    .filter(Boolean)
    .join(' + ');
  const d = r.d;
  switch (r.form) {
    case 'mod':
      return `(${aff}) % ${d}`;
    case 'emod':
      return `(((${aff}) % ${d}) + ${d}) % ${d}`;
    case 'shr':
      return `(${aff}) >> ${d === 'm' ? 1 : Number(d) - 1}`;
    case 'shl':
      return `(${aff}) << 1`;
    case 'divor':
      return `((${aff}) / ${d}) | 0`;
    case 'floor':
      return `Math.floor((${aff}) / ${d})`;
    case 'trunc':
      return `Math.trunc((${aff}) / ${d})`;
    case 'and':
      return `(${aff}) & 3`;
    case 'min':
      return `Math.min(${aff}, n - 1)`;
    case 'max':
      return `Math.max(${aff}, 0)`;
    case 'stride':
      return `${r.a} * i * m${nest.twoD && r.b ? ` + ${r.b} * j` : ''}${nest.inner ? ' + q' : ''} + ${r.c}`;
    default:
      return aff;
  }
}

function quasiSource(nest: QuasiNest): string {
  const bound = nest.bound === 'n' ? 'n' : 'Math.floor((n - 1) / 2) + 1';
  const reads = nest.reads.map((r) => `x[${quasiIndex(r, nest)}]`).join(' + ');
  const body = nest.inner
    ? [`for (let q = 0; q < ${nest.inner}; q++) {`, `  out[0] += ${reads};`, '}']
    : [`out[0] += ${reads};`];
  const lines = [
    "import type { i32 } from 'parad';",
    '/** @kernel */',
    'export function k(out: Float64Array, x: Float64Array, n: i32, m: i32): void {',
    '  // @parallel',
    `  for (let i = 0; i < ${bound}; i++) {`,
  ];
  if (nest.twoD)
    lines.push('    // @parallel', '    for (let j = 0; j < 3; j++) {', ...body.map((l) => `      ${l}`), '    }');
  else lines.push(...body.map((l) => `    ${l}`));
  lines.push('  }', '}');
  return lines.join('\n');
}

/** Elements read by each iteration at concrete n and m, evaluating the index text. */
function quasiEnumerate(nest: QuasiNest, n: number, m: number): Map<string, Set<number>> {
  const idx = nest.reads.map(
    (r) => new Function('i', 'j', 'q', 'n', 'm', `return ${quasiIndex(r, nest)};`) as (...a: number[]) => number,
  );
  const out = new Map<string, Set<number>>();
  const hi = nest.bound === 'n' ? n : Math.floor((n - 1) / 2) + 1;
  for (let i = 0; i < hi; i++) {
    for (let j = 0; j < (nest.twoD ? 3 : 1); j++) {
      const set = new Set<number>();
      for (let q = 0; q < Math.max(1, nest.inner); q++) {
        for (const f of idx) {
          const e = f(i, j, q, n, m);
          if (Number.isInteger(e)) set.add(e);
        }
      }
      out.set(nest.twoD ? `${i},${j}` : `${i}`, set);
    }
  }
  return out;
}

describe('exclusive-read verdicts on quasi-affine indices agree with brute force', () => {
  test.prop([quasiArb], { numRuns: RUNS, seed: Number(process.env.PARAD_FUZZ_SEED ?? 11) })(
    'random quasi-affine nests',
    async (nest) => {
      const src = quasiSource(nest);
      if (process.env.PARAD_FUZZ_LOG) console.log(`--- case\n${src}`);
      const { report } = await analyze(src, { fileName: 'fuzz.ts', races: false });
      const read = report.kernels[0].loops[0].reads.find((r) => r.name === 'x');
      expect(read, src).toBeDefined();
      const sizes: [number, number][] = [];
      for (let n = 0; n <= 10; n++) for (let m = 0; m <= 4; m++) sizes.push([n, m]);
      const key = (it: Record<string, number>) => (nest.twoD ? `${it.i},${it.j}` : `${it.i}`);
      if (!checkClaims(read!, src, sizes, (n, m) => quasiEnumerate(nest, n, m), key))
        // unknown claims nothing, but must not be for lack of a form: every index here has one
        expect(read!.reason, src).not.toMatch(/no affine index|no polynomial form/);
      if (process.env.PARAD_FUZZ_LOG) console.log(`verdict ${read!.exclusiveRead}: ${read!.reason}`);
    },
    300_000,
  );
});
