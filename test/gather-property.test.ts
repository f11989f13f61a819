/**
 * Property: on random affine loop nests (1-D/2-D, strides, offsets, negative coefficients, inner
 * sequential loops, windows moving with the nest, flattened 2-D indexing) and quasi-affine ones
 * (shifts, quotients, remainders, run-time strides), the gather adjoint
 * (TF-MAD) computes the same gradient as the scatter adjoint, and passes the dot-product test. The inversion of index maps
 * (solving, divisibility and range guards, sums over the variables an index does not determine)
 * is where a gather can go wrong; the scatter is the reference.
 */
import { describe, expect } from 'vitest';
import { test, fc } from '@fast-check/vitest';
import { compile } from '../transformer/index.js';
import { checkAdjoint, prng } from '../testing/index.js';
import { loadGenerated } from './support/load.js';
import { LEN, oneD, twoD } from './support/generators.js';

const RUNS = Number(process.env.PARAD_GATHER_RUNS ?? 25);
const SEED = Number(process.env.PARAD_GATHER_SEED ?? 0);
const header = "import type { i32 } from 'parad';\n";
/**
 * Quasi-affine reads (issue 13) in a 1-D nest over i with a run-time stride m: `x[(i >> s) + c]`,
 * `x[((i / d) | 0) + c]`, `x[Math.floor(i / d) + c]`, `x[i % d + c]`, periodic `x[(i + c) % n]` and
 * `x[((i - c) % n + n) % n]`, `x[(i + n - c) % n]`, clamps `x[Math.min((i >> 1) + c, n - 1)]`, `x[Math.max(i - c, 0)]`, and, with an inner loop over
 * k, `x[i * m + k + c]` (the gather solves i = (j − k − c) / m for the k ≡ j − c (mod m)).
 */
const quasi = fc
  .record({
    reads: fc.array(
      fc.record({
        form: fc.constantFrom('shr', 'divor', 'floor', 'mod', 'stride', 'wrap', 'ewrap', 'nwrap', 'clamp', 'clampLo'),
        d: fc.integer({ min: 2, max: 4 }),
        c: fc.integer({ min: 0, max: 3 }),
      }),
      { minLength: 1, maxLength: 3 },
    ),
    inner: fc.integer({ min: 1, max: 4 }),
  })
  .map(({ reads, inner }) => {
    const idx = (r: { form: string; d: number; c: number }) => {
      switch (r.form) {
        case 'shr':
          return `(i >> ${r.d - 1}) + ${r.c}`;
        case 'divor':
          return `((i / ${r.d}) | 0) + ${r.c}`;
        case 'floor':
          return `Math.floor(i / ${r.d}) + ${r.c}`;
        case 'mod':
          return `i % ${r.d} + ${r.c}`;
        case 'wrap':
          return `(i + ${r.c}) % n`;
        case 'ewrap':
          return `(((i - ${r.c}) % n) + n) % n`;
        case 'nwrap':
          return `(i + n - ${r.c}) % n`;
        case 'clamp':
          return `Math.min((i >> 1) + ${r.c}, n - 1)`;
        case 'clampLo':
          return `Math.max(i - ${r.c}, 0)`;
        default:
          return `i * m + k + ${r.c}`;
      }
    };
    const strided = reads.some((r) => r.form === 'stride');
    const e = reads.map((r) => `x[${idx(r)}]`).join(' * 0.5 + ');
    const body = strided
      ? `    let s = 0;\n    for (let k = 0; k < ${inner}; k++) {\n      s += ${e};\n    }\n    y[i] = s * s;`
      : `    const s = ${e};\n    y[i] = s * s;`;
    return `${header}/** @kernel */\nexport function k(y: Float64Array, x: Float64Array, n: i32, m: i32): void {\n  // @parallel\n  for (let i = 0; i < n; i++) {\n${body}\n  }\n}\n`;
  });

/**
 * 2-D pooling with a run-time stride m and window K: `x[(r*m + ky)*W + c*m + kx]` (each element
 * solves r and c with divisibility by m, over the ky, kx congruent to it).
 */
const pool = fc
  .record({ K: fc.integer({ min: 1, max: 3 }), off: fc.integer({ min: 0, max: 2 }) })
  .map(
    ({ K, off }) =>
      `${header}/** @kernel */\nexport function k(y: Float64Array, x: Float64Array, R: i32, C: i32, W: i32, m: i32): void {\n  // @parallel\n  for (let r = 0; r < R; r++) {\n    // @parallel\n    for (let c = 0; c < C; c++) {\n      let s = 0;\n      for (let ky = 0; ky < ${K}; ky++) {\n        for (let kx = 0; kx < ${K}; kx++) {\n          s += x[(r * m + ky) * W + c * m + kx + ${off}];\n        }\n      }\n      y[r * C + c] = Math.sin(s);\n    }\n  }\n}\n`,
  );

async function sameGradient(src: string, args: Record<string, Float64Array | number>) {
  const gather = await compile(src, { fileName: 'g.ts', format: 'js', strategy: 'gather' });
  const direct = await compile(src, { fileName: 'g.ts', format: 'js', strategy: 'direct' });
  expect(gather.code, gather.diagnostics.map((d) => d.message).join('\n')).toBeDefined();
  const g = loadGenerated(gather.code!);
  const d = loadGenerated(direct.code!);
  const rnd = prng(9);
  const yb = Float64Array.from({ length: (args.y as Float64Array).length }, () => rnd() - 0.5);
  const run = (mod: typeof g) => {
    const y = (args.y as Float64Array).slice();
    const x = (args.x as Float64Array).slice();
    const xb = new Float64Array(x.length);
    const ints = Object.entries(args)
      .filter(([, v]) => typeof v === 'number')
      .map(([, v]) => v);
    (mod.k_b as (...a: unknown[]) => void)(y, yb.slice(), x, xb, ...ints);
    return xb;
  };
  const a = run(g),
    b = run(d);
  for (let i = 0; i < a.length; i++)
    expect(Math.abs(a[i] - b[i]), `xb[${i}]\n${gather.code}`).toBeLessThanOrEqual(1e-12 * (1 + Math.abs(b[i])));
  const dot = checkAdjoint(g, 'k', args, { seed: 4 });
  expect(dot.ok, JSON.stringify(dot)).toBe(true);
}

describe('gather adjoints equal scatter adjoints on random affine nests', () => {
  test.prop([oneD, fc.integer({ min: 1, max: 12 })], { numRuns: RUNS, seed: SEED + 71 })(
    '1-D nests',
    async (src, n) => {
      const rnd = prng(n);
      await sameGradient(src, {
        y: Float64Array.from({ length: 24 }, () => rnd()),
        x: Float64Array.from({ length: LEN }, () => rnd()),
        n,
      });
    },
    3_600_000,
  );
  test.prop([twoD, fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 12 })], {
    numRuns: RUNS,
    seed: SEED + 72,
  })(
    '2-D nests with flattened indexing',
    async (src, R, C, W) => {
      const rnd = prng(R * 100 + C * 10 + W);
      await sameGradient(src, {
        y: Float64Array.from({ length: R * C }, () => rnd()),
        x: Float64Array.from({ length: LEN }, () => rnd()),
        R,
        C,
        W,
      });
    },
    3_600_000,
  );
  test.prop([quasi, fc.integer({ min: 1, max: 14 }), fc.integer({ min: 0, max: 3 })], {
    numRuns: RUNS,
    seed: SEED + 73,
  })(
    'quasi-affine indices (shifts, quotients, remainders, run-time strides)',
    async (src, n, m) => {
      const rnd = prng(n * 10 + m);
      await sameGradient(src, {
        y: Float64Array.from({ length: 24 }, () => rnd()),
        x: Float64Array.from({ length: LEN }, () => rnd()),
        n,
        m,
      });
    },
    3_600_000,
  );
  test.prop([pool, fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 0, max: 3 })], {
    numRuns: RUNS,
    seed: SEED + 74,
  })(
    '2-D pooling with a run-time stride',
    async (src, R, C, m) => {
      const rnd = prng(R * 100 + C * 10 + m);
      await sameGradient(src, {
        y: Float64Array.from({ length: R * C }, () => rnd()),
        x: Float64Array.from({ length: LEN }, () => rnd()),
        R,
        C,
        W: 12,
        m,
      });
    },
    3_600_000,
  );
});
