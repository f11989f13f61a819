/**
 * Property test: random straight-line kernels built from the kernel language's operators pass the
 * finite-difference and dot-product checks, in a parallel loop (per-iteration recomputation) and in
 * a sequential loop with a reassigned accumulator (tape).
 */
import { describe, expect } from 'vitest';
import { test } from '@fast-check/vitest';
import fc from 'fast-check';
import { checkAdjoint, checkTangent, prng } from '../testing/index.js';
import { compileAndLoad } from './support/load.js';

const RUNS = Number(process.env.PARAD_PROP_RUNS ?? (process.env.CI ? 60 : 100));

type Gen = (leaf: fc.Arbitrary<string>) => fc.Arbitrary<string>;

/** Unary forms kept inside each function's smooth domain for inputs of moderate size. */
const UNARY: ((e: string) => string)[] = [
  (e) => `(-${e})`,
  (e) => `Math.sin(${e})`,
  (e) => `Math.cos(${e})`,
  (e) => `Math.tan(0.3 * Math.tanh(${e}))`,
  (e) => `Math.asin(0.8 * Math.tanh(${e}))`,
  (e) => `Math.acos(0.8 * Math.tanh(${e}))`,
  (e) => `Math.atan(${e})`,
  (e) => `Math.sinh(Math.tanh(${e}))`,
  (e) => `Math.cosh(Math.tanh(${e}))`,
  (e) => `Math.tanh(${e})`,
  (e) => `Math.exp(Math.tanh(${e}))`,
  (e) => `Math.expm1(Math.tanh(${e}))`,
  (e) => `Math.log(1.5 + Math.tanh(${e}))`,
  (e) => `Math.log1p(0.5 + Math.tanh(${e}))`,
  (e) => `Math.log2(1.5 + Math.tanh(${e}))`,
  (e) => `Math.log10(1.5 + Math.tanh(${e}))`,
  (e) => `Math.sqrt(1 + ${e} * ${e})`,
  (e) => `Math.cbrt(2 + Math.tanh(${e}))`,
  (e) => `Math.abs(3 + Math.tanh(${e}))`,
  (e) => `(${e} > -100 ? ${e} : 0)`,
];
const BINARY: ((a: string, b: string) => string)[] = [
  (a, b) => `(${a} + ${b})`,
  (a, b) => `(${a} - ${b})`,
  (a, b) => `(${a} * ${b})`,
  (a, b) => `(${a} / (1.5 + Math.tanh(${b})))`,
  (a, b) => `Math.atan2(${a}, 2 + Math.tanh(${b}))`,
  (a, b) => `Math.pow(1.5 + Math.tanh(${a}), ${b})`,
  (a, b) => `Math.hypot(1 + ${a} * ${a}, ${b})`,
  (a, b) => `Math.max(${a}, ${b} + 0.01)`,
  (a, b) => `Math.min(${a}, ${b} + 0.01)`,
];

const expr: Gen = (leaf) =>
  fc.letrec<{ e: string }>((tie) => ({
    e: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      leaf,
      fc.tuple(fc.integer({ min: 0, max: UNARY.length - 1 }), tie('e')).map(([k, e]) => UNARY[k](e)),
      fc.tuple(fc.integer({ min: 0, max: BINARY.length - 1 }), tie('e'), tie('e')).map(([k, a, b]) => BINARY[k](a, b)),
    ),
  })).e;

const header = "import type { f64, i32 } from 'parad';\n";

/** A parallel kernel: `steps` const locals, each an expression of inputs and earlier locals. */
const parallelKernel = fc.integer({ min: 1, max: 4 }).chain((steps) => {
  const lines: fc.Arbitrary<string>[] = [];
  for (let s = 0; s < steps; s++) {
    const leaves = ['x[i]', 'x[i + 1]', 'w[0]', 'w[1]', 'a', '0.5', '(i % 3)', ...Array.from({ length: s }, (_, k) => `t${k}`)];
    lines.push(expr(fc.constantFrom(...leaves)).map((e) => `    const t${s} = ${e};`));
  }
  const outLeaves = ['x[i]', 'a', ...Array.from({ length: steps }, (_, k) => `t${k}`)];
  return fc.tuple(fc.tuple(...lines), expr(fc.constantFrom(...outLeaves))).map(([ls, out]) =>
    `${header}/** @kernel */\nexport function k(y: Float64Array, x: Float64Array, w: Float64Array, a: f64, n: i32): void {\n  // @parallel\n  for (let i = 0; i < n; i++) {\n${ls.join('\n')}\n    y[i] = ${out} + 0.25 * y[i];\n  }\n}\n`);
});

/** A sequential recurrence through a reassigned local, returning a float. */
const sequentialKernel = fc.tuple(
  expr(fc.constantFrom('s', 'x[i]', 'a', 'y[i]')),
  expr(fc.constantFrom('s', 'x[i]', 'y[i]')),
).map(([update, write]) =>
  `${header}/** @kernel */\nexport function k(y: Float64Array, x: Float64Array, a: f64, n: i32): f64 {\n  let s = a;\n  for (let i = 0; i < n; i++) {\n    s = 0.5 * Math.tanh(${update});\n    y[i] = ${write};\n  }\n  return s;\n}\n`);

async function check(src: string, args: Record<string, Float64Array | number>) {
  const mod = await compileAndLoad(src, { fileName: 'random.ts' });
  const t = checkTangent(mod, 'k', args, { seed: 7 });
  expect(t.ok, `tangent: ${JSON.stringify(t)}\n${src}`).toBe(true);
  const a = checkAdjoint(mod, 'k', args, { seed: 7 });
  expect(a.ok, `adjoint: ${JSON.stringify(a)}\n${src}`).toBe(true);
}

/** Random inputs (no structural ties at the kinks of max/min). */
const inputs = (n: number) => {
  const rnd = prng(2024);
  const arr = (len: number) => Float64Array.from({ length: len }, () => 0.2 + rnd());
  return { y: arr(n), x: arr(n + 1), w: Float64Array.of(0.7, -0.4), a: 0.6, n };
};

describe('random kernels pass FD and dot-product checks', () => {
  test.prop([parallelKernel], { numRuns: RUNS, seed: 42 })('parallel straight-line kernels', async (src) => {
    await check(src, inputs(5));
  });
  test.prop([sequentialKernel], { numRuns: RUNS, seed: 43 })('sequential recurrences', async (src) => {
    const { y, x, a, n } = inputs(6);
    await check(src, { y, x, a, n });
  });
});

/**
 * Random programs with control flow: top-level locals, reassignments, sequential loops carrying
 * scalars and arrays (recurrences, in-place updates, branches on data), parallel loops reading
 * outer locals and updating in place. They stress the tape plan: pushes, flags, snapshots,
 * recomputation and stores.
 */
const SIZE = 5;
const smooth = (leaves: string[]) => expr(fc.constantFrom(...leaves)).map((e) => `0.5 * Math.tanh(${e})`);

type Ctx = { scalars: string[]; fresh: () => string };

const seqBody = (ctx: Ctx): fc.Arbitrary<string[]> => {
  const leaves = ['x[i]', 'y[i]', 'y[(i + 1) % n]', 'a', ...ctx.scalars];
  const stmt = fc.oneof(
    smooth(leaves).map((e) => [`y[i] = ${e};`]),
    smooth(leaves).map((e) => [`y[i] += ${e};`]),
    ctx.scalars.length ? fc.tuple(fc.constantFrom(...ctx.scalars), smooth(leaves)).map(([s, e]) => [`${s} = ${e};`]) : smooth(leaves).map((e) => [`y[i] *= 1 + ${e};`]),
    fc.tuple(smooth(leaves), smooth(leaves), fc.double({ min: 0.3, max: 0.9, noNaN: true })).map(([t, f, c]) => [
      `if (x[i] > ${c.toFixed(3)}) {`, `  y[i] = ${t};`, '} else {', `  y[i] = y[i] * ${f};`, '}']),
    smooth(leaves).map((e) => { const t = ctx.fresh(); return [`const ${t} = ${e};`, `y[i] = y[i] * ${t} + ${t};`]; }),
  );
  return fc.array(stmt, { minLength: 1, maxLength: 3 }).map((ss) => ss.flat());
};

const parBody = (ctx: Ctx): fc.Arbitrary<string[]> => {
  const leaves = ['x[i]', 'y[i]', 'x[(i + 2) % n]', 'a', ...ctx.scalars];
  return fc.tuple(smooth(leaves), smooth([...leaves, 'p'])).map(([e1, e2]) => {
    const p = ctx.fresh();
    return [`const ${p} = ${e1};`, `y[i] = ${e2.replaceAll(/\bp\b/g, p)};`];
  });
};

const program = fc.tuple(fc.integer({ min: 1, max: 3 }), fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 2, maxLength: 4 }), fc.boolean())
  .chain(([nScalars, shape, returns]) => {
    let counter = 0;
    const ctx: Ctx = { scalars: Array.from({ length: nScalars }, (_, k) => `s${k}`), fresh: () => `t${counter++}` };
    const parts: fc.Arbitrary<string[]>[] = [
      fc.tuple(...ctx.scalars.map(() => smooth(['a', 'x[0]', 'y[1]']))).map((es) => es.map((e, k) => `let s${k} = ${e};`)),
    ];
    for (const kind of shape) {
      if (kind === 0) parts.push(seqBody(ctx).map((b) => ['for (let i = 0; i < n; i++) {', ...b.map((l) => `  ${l}`), '}']));
      else if (kind === 1) parts.push(parBody(ctx).map((b) => ['// @parallel', 'for (let i = 0; i < n; i++) {', ...b.map((l) => `  ${l}`), '}']));
      else if (kind === 2) parts.push(fc.tuple(fc.constantFrom(...ctx.scalars), smooth(['a', 'x[1]', 'y[2]', ...ctx.scalars])).map(([s, e]) => [`${s} = ${s} * ${e} + ${e};`]));
      else parts.push(fc.tuple(fc.constantFrom(...ctx.scalars), smooth(['y[0]', ...ctx.scalars])).map(([s, e]) => [`if (${s} > 0) {`, `  ${s} = ${e};`, '}']));
    }
    if (returns) parts.push(smooth([...ctx.scalars, 'y[3]']).map((e) => [`return ${e};`]));
    return fc.tuple(...parts).map((ps) => {
      const body = ps.flat().map((l) => `  ${l}`).join('\n');
      return `${header}/** @kernel */\nexport function k(y: Float64Array, x: Float64Array, a: f64, n: i32): ${returns ? 'f64' : 'void'} {\n${body}\n}\n`;
    });
  });

describe('random programs with control flow pass FD and dot-product checks', () => {
  test.prop([program], { numRuns: RUNS, seed: Number(process.env.PARAD_PROP_SEED ?? 44) })('loops, branches, in-place updates, reassigned locals', async (src) => {
    const rnd = prng(77);
    const arr = () => Float64Array.from({ length: SIZE }, () => 0.2 + rnd());
    await check(src, { y: arr(), x: arr(), a: 0.45, n: SIZE });
  });
});

describe('naming', () => {
  test('scalar adjoints keep their contract keys when the local names collide', async () => {
    // the kernel is called `ab`, so the adjoint variable of `a` cannot be called `ab`
    const src = `${header}/** @kernel */\nexport function ab(y: Float64Array, a: f64, n: i32): void {\n  // @parallel\n  for (let i = 0; i < n; i++) {\n    y[i] = a * y[i];\n  }\n}\n`;
    const mod = await compileAndLoad(src, { fileName: 'ab.ts' });
    const y = Float64Array.of(1, 2, 3), yb = Float64Array.of(1, 1, 1);
    expect((mod.ab_b as (...a: unknown[]) => unknown)(y, yb, 2, 3)).toEqual({ ab: 6 });
    const args = { y: Float64Array.of(0.5, 0.7, 0.9), a: 0.4, n: 3 };
    expect(checkAdjoint(mod, 'ab', args).ok).toBe(true);
  });
});
