/**
 * parad/testing against hand-written modules (test/helpers/handwritten.ts): the checks pass on
 * correct derivatives, fail on each kind of wrong one and say where, never touch the caller's
 * arguments, `makeArgs` builds inputs from the metadata, and `checkAssumptions` checks exclusive-read
 * pragmas on data.
 */
import { describe, expect, test } from 'vitest';
import { test as prop } from '@fast-check/vitest';
import fc from 'fast-check';
import {
  checkAdjoint,
  checkAssumptions,
  checkDefaults,
  checkTangent,
  makeArgs,
  type Args,
  type CheckResult,
  type DerivativeModule,
} from '../testing/index.js';
import { GRU, LAYER_NORM } from './helpers/f32-models.js';
import { compileAndLoad } from './support/load.js';
import '../testing/vitest.js';
import { broken, dot, gather, matvec, matvecWithAdjointError, mse, saxpy, square } from './helpers/handwritten.js';

const n = 6;
const vec = (...v: number[]) => Float64Array.from(v);
const saxpyArgs = () => ({ y: vec(0.5, 0.7, 0.2, 1.1, 0.9, 0.3), x: vec(0.4, 0.8, 1.2, 0.6, 0.3, 1.0), a: 0.7, n });
const dotArgs = () => ({ x: vec(0.5, 0.7, 0.2, 1.1, 0.9, 0.3), y: vec(0.4, 0.8, 1.2, 0.6, 0.3, 1.0), n });
const squareArgs = () => ({ x: vec(0.5, 0.7, 0.2, 1.1, 0.9, 0.3), n });
const gatherArgs = () => ({
  y: new Float64Array(4),
  x: vec(0.5, 0.7, 0.2),
  idx: Int32Array.of(2, 0, 0, 1),
  w: 1.3,
  n: 4,
});
const mseArgs = () => ({ pred: Float32Array.of(0.5, 0.75, 0.25), target: Float32Array.of(0.25, 1, 0.5), n: 3 });

/** Asserts a failed check with its location; the message names the kernel and the location. */
function expectFailure(r: CheckResult, where: string | RegExp): void {
  expect(r.ok, r.message).toBe(false);
  expect(r.relError).toBeGreaterThan(r.tolerance);
  if (typeof where === 'string') expect(r.where).toBe(where);
  else expect(r.where).toMatch(where);
  expect(r.message).toContain(`check of ${r.kernel} failed at ${r.where}`);
}

describe('correct modules pass', () => {
  const cases = [
    ['saxpy (read-write array, active scalar)', saxpy, 'saxpy', saxpyArgs],
    ['dot (float return)', dot, 'dot', dotArgs],
    ['square (in place)', square, 'square', squareArgs],
    ['gather (index array, overwritten output)', gather, 'gather', gatherArgs],
    ['mse (f32 arrays, @nodiff target, float return)', mse, 'mse', mseArgs],
  ] as const;
  test.each(cases)('%s', (_name, mod, kernel, args) => {
    const t = checkTangent(mod, kernel, args());
    expect(t.ok, t.message).toBe(true);
    expect(t.relError).toBeLessThan(1e-7);
    const a = checkAdjoint(mod, kernel, args());
    expect(a.ok, a.message).toBe(true);
    expect(a.relError).toBeLessThan(1e-12);
  });

  test('result objects describe the check', () => {
    const r = checkTangent(dot, 'dot', dotArgs(), { seed: 5, trials: 3 });
    expect(r).toMatchObject({ ok: true, check: 'tangent', kernel: 'dot', tolerance: 1e-6, seed: 5, trials: 3 });
    expect(r.maxError).toBeGreaterThanOrEqual(0);
    expect(r.where).toBe('return');
    expect(r.message).toMatch(/^tangent check of dot passed: relative error .* ≤ 1e-6/);
    expect(checkAdjoint(dot, 'dot', dotArgs())).toMatchObject({
      ok: true,
      check: 'adjoint',
      tolerance: 1e-10,
      trials: 2,
    });
  });

  test('the same seed gives the same result, another seed other directions', () => {
    const r1 = checkAdjoint(saxpy, 'saxpy', saxpyArgs(), { seed: 3 });
    const r2 = checkAdjoint(saxpy, 'saxpy', saxpyArgs(), { seed: 3 });
    expect(r2).toEqual(r1);
    const t1 = checkTangent(saxpy, 'saxpy', saxpyArgs(), { seed: 3 });
    const t2 = checkTangent(saxpy, 'saxpy', saxpyArgs(), { seed: 4 });
    expect(t2.maxError).not.toBe(t1.maxError);
  });

  test("the caller's arguments are never changed", () => {
    for (const [mod, kernel, make] of [
      [saxpy, 'saxpy', saxpyArgs],
      [square, 'square', squareArgs],
      [gather, 'gather', gatherArgs],
    ] as const) {
      const args: Args = make();
      const before = structuredClone(args);
      checkTangent(mod, kernel, args);
      checkAdjoint(mod, kernel, args);
      expect(args).toEqual(before);
    }
  });
});

describe('wrong tangents fail, with their location', () => {
  test('a missing term shows in the output state', () => {
    expectFailure(checkTangent(broken.saxpyTangentMissesScalar, 'saxpy', saxpyArgs()), /^y\[\d\]$/);
  });
  test('a wrong derivative of the returned value', () => {
    const r = checkTangent(broken.dotTangentWrongReturn, 'dot', dotArgs());
    expectFailure(r, 'return');
    expect(r.detail).toMatch(/^tangent .*, finite differences /);
  });
  test('reading a value after overwriting it', () => {
    expectFailure(checkTangent(broken.squareTangentReadsNewValue, 'square', squareArgs()), /^x\[\d\]$/);
  });
  test('a tangent that does not run the primal breaks the contract', () => {
    const r = checkTangent(broken.gatherTangentSkipsPrimal, 'gather', gatherArgs());
    expectFailure(r, 'y[0] after gather_d');
    expect(r.relError).toBe(Infinity);
    expect(r.message).toContain('contract violation');
  });
  test('a tangent returning a number instead of [value, valueDot]', () => {
    const r = checkTangent(broken.dotTangentReturnsNumber, 'dot', dotArgs());
    expectFailure(r, 'return');
    expect(r.detail).toContain('dot_d must return [value, valueDot]');
  });
});

describe('wrong adjoints fail the dot-product test, with their location', () => {
  test('wrong adjoint of an input array', () => {
    expectFailure(checkAdjoint(broken.saxpyAdjointWrongX, 'saxpy', saxpyArgs()), 'adjoint of x');
  });
  test('resetting the adjoint of an array the kernel reads', () => {
    expectFailure(checkAdjoint(broken.saxpyAdjointResetsY, 'saxpy', saxpyArgs()), 'adjoint of y');
  });
  test('wrong adjoint of a scalar', () => {
    expectFailure(checkAdjoint(broken.saxpyAdjointWrongScalar, 'saxpy', saxpyArgs()), 'adjoint of a');
  });
  test('missing adjoint of a scalar', () => {
    const r = checkAdjoint(broken.saxpyAdjointNoScalar, 'saxpy', saxpyArgs());
    expectFailure(r, 'adjoint of a');
    expect(r.detail).toContain('saxpy_b must return { ab: number, … }');
  });
  test('ignoring the seed of the returned value', () => {
    expectFailure(checkAdjoint(broken.dotAdjointIgnoresSeed, 'dot', dotArgs()), /^adjoint of [xy]$/);
  });
  test('an adjoint that does not leave the outputs in the primal arrays', () => {
    expectFailure(checkAdjoint(broken.squareAdjointRestoresInputs, 'square', squareArgs()), /^x\[\d\] after square_b$/);
  });
  test('the adjoint check also checks the primal state K_d leaves', () => {
    expectFailure(checkAdjoint(broken.gatherTangentSkipsPrimal, 'gather', gatherArgs()), 'y[0] after gather_d');
  });
  test('a wrong tangent fails the dot-product test too', () => {
    expectFailure(checkAdjoint(broken.saxpyTangentMissesScalar, 'saxpy', saxpyArgs()), 'adjoint of a');
  });

  prop.prop(
    [
      fc
        .integer({ min: 1, max: 5 })
        .chain((m) =>
          fc
            .integer({ min: 1, max: 5 })
            .chain((k) =>
              fc.tuple(
                fc.constant(m),
                fc.constant(k),
                fc.integer({ min: 0, max: m - 1 }),
                fc.integer({ min: 0, max: k - 1 }),
                fc.double({ min: 1e-3, max: 1, noNaN: true }),
              ),
            ),
        ),
    ],
    { numRuns: 50, seed: 17 },
  )('one wrong entry of A^T in a matrix-vector product is found', ([m, k, row, col, delta]) => {
    const sizes = { y: m, A: m * k, x: k, m, n: k };
    expect(checkAdjoint(matvec, 'matvec', { sizes }).ok).toBe(true);
    expectFailure(checkAdjoint(matvecWithAdjointError(row, col, delta), 'matvec', { sizes }), 'adjoint of x');
  });
});

describe('makeArgs and argument recipes', () => {
  test('arrays of the given lengths and types, floats in range, integers from sizes', () => {
    const args = makeArgs(gather, 'gather', {
      sizes: { y: 4, x: 3, idx: 4, n: 4 },
      indexRange: 3,
      range: [2, 3],
      seed: 9,
    });
    expect(Object.keys(args)).toEqual(['y', 'x', 'idx', 'w', 'n']);
    expect(args.y).toBeInstanceOf(Float64Array);
    expect(args.idx).toBeInstanceOf(Int32Array);
    expect((args.y as Float64Array).length).toBe(4);
    expect((args.x as Float64Array).length).toBe(3);
    for (const v of [...(args.y as Float64Array), ...(args.x as Float64Array), args.w as number]) {
      expect(v).toBeGreaterThanOrEqual(2);
      expect(v).toBeLessThan(3);
    }
    for (const i of args.idx as Int32Array) expect([0, 1, 2]).toContain(i);
    expect(args.n).toBe(4);
    expect(
      makeArgs(gather, 'gather', { sizes: { y: 4, x: 3, idx: 4, n: 4 }, indexRange: 3, range: [2, 3], seed: 9 }),
    ).toEqual(args);
  });

  test('explicit values, Float32Array parameters keep their type', () => {
    const args = makeArgs(mse, 'mse', { sizes: { pred: 2, n: 2 }, values: { target: [1, 2] } });
    expect(args.pred).toBeInstanceOf(Float32Array);
    expect(args.target).toEqual(Float32Array.of(1, 2));
    const g = makeArgs(gather, 'gather', { sizes: { y: 2, x: 3, n: 2 }, values: { idx: [2, 1], w: 0.5 } });
    expect(g.idx).toEqual(Int32Array.of(2, 1));
    expect(g.w).toBe(0.5);
  });

  test('the checks accept a recipe instead of arguments', () => {
    const recipe = { sizes: { y: 5, x: 5, n: 5 }, seed: 2 };
    expect(checkTangent(saxpy, 'saxpy', recipe).ok).toBe(true);
    expect(checkAdjoint(saxpy, 'saxpy', recipe).ok).toBe(true);
    expectFailure(checkAdjoint(broken.saxpyAdjointWrongX, 'saxpy', recipe), 'adjoint of x');
  });

  test('clear errors for what it cannot make', () => {
    expect(() => makeArgs(gather, 'gather', { sizes: { y: 4, x: 3, idx: 4, n: 4 } })).toThrow(
      /index array 'idx' of gather needs explicit values .* or indexRange/,
    );
    expect(() => makeArgs(saxpy, 'saxpy', { sizes: { y: 4, x: 4 } })).toThrow(
      /integer parameter 'n' of saxpy needs a value: give it in sizes/,
    );
    expect(() => makeArgs(saxpy, 'saxpy', { sizes: { y: 4, n: 4 } })).toThrow(/array 'x' of saxpy needs a length/);
    expect(() => makeArgs(saxpy, 'saxpy', { sizes: { y: 4, x: 4, n: 4, z: 1 } })).toThrow(
      /sizes names 'z', which is not a parameter of saxpy \(parameters: y, x, a, n\)/,
    );
  });
});

describe('clear errors for misuse', () => {
  test('not a parad module, unknown kernel, missing export', () => {
    expect(() => checkTangent({} as never, 'saxpy', saxpyArgs())).toThrow(/no `__parad` export/);
    expect(() => checkTangent(saxpy, 'axpy', saxpyArgs())).toThrow(/no kernel 'axpy' \(kernels: saxpy\)/);
    const { saxpy_b: _, ...tangentOnly } = saxpy;
    expect(() => checkAdjoint(tangentOnly, 'saxpy', saxpyArgs())).toThrow(/does not export saxpy_b/);
    const dOnly = {
      ...tangentOnly,
      __parad: { version: 1 as const, kernels: { saxpy: { ...saxpy.__parad.kernels.saxpy, modes: ['d' as const] } } },
    };
    expect(() => checkAdjoint(dOnly, 'saxpy', saxpyArgs())).toThrow(
      /does not export saxpy_b \(it was generated with modes: d\)/,
    );
  });

  test('missing, unknown and mistyped arguments', () => {
    const { a: _, ...noA } = saxpyArgs();
    expect(() => checkTangent(saxpy, 'saxpy', noA)).toThrow(/missing argument 'a' of saxpy \(f64\)/);
    expect(() => checkTangent(saxpy, 'saxpy', { ...saxpyArgs(), b: 1 })).toThrow(/the arguments object names 'b'/);
    expect(() => checkTangent(saxpy, 'saxpy', { ...saxpyArgs(), x: 1 })).toThrow(
      /argument 'x' of saxpy must be a Float32Array or Float64Array/,
    );
    expect(() => checkTangent(saxpy, 'saxpy', { ...saxpyArgs(), n: 2.5 })).toThrow(
      /argument 'n' of saxpy must be an integer/,
    );
    expect(() => checkTangent(gather, 'gather', { ...gatherArgs(), idx: vec(0, 1, 2, 0) })).toThrow(
      /argument 'idx' of gather must be a Int32Array/,
    );
  });
});

describe('vitest matchers', () => {
  test('pass on correct modules', () => {
    expect({ mod: saxpy, kernel: 'saxpy', args: saxpyArgs() }).toPassTangentTest();
    expect({ mod: saxpy, kernel: 'saxpy', args: { sizes: { y: 4, x: 4, n: 4 } } }).toPassAdjointTest({ trials: 3 });
    expect({ mod: broken.saxpyAdjointWrongX, kernel: 'saxpy', args: saxpyArgs() }).not.toPassAdjointTest();
  });

  test('failure messages say where and how large the error is', () => {
    expect(() =>
      expect({ mod: broken.saxpyAdjointWrongX, kernel: 'saxpy', args: saxpyArgs() }).toPassAdjointTest(),
    ).toThrow(
      /adjoint check of saxpy failed at adjoint of x: <K_d·ẋ, ȳ> = .*, <ẋ, K_b·ȳ> = .* \(relative error .* > 1e-10; seed 1\)/,
    );
    expect(() =>
      expect({ mod: broken.dotTangentWrongReturn, kernel: 'dot', args: dotArgs() }).toPassTangentTest({ seed: 4 }),
    ).toThrow(
      /tangent check of dot failed at return: tangent .*, finite differences .* \(relative error .* > 1e-6; seed 4\)/,
    );
    expect(() => expect({ mod: saxpy, kernel: 'saxpy', args: saxpyArgs() }).not.toPassTangentTest()).toThrow(
      /expected the tangent check of saxpy to fail, but it passed/,
    );
  });

  test('reject what is not { mod, kernel, args }', () => {
    expect(() => expect(saxpy).toPassTangentTest()).toThrow(/toPassTangentTest: expected \{ mod, kernel, args \}/);
  });
});

describe('checkAssumptions: exclusive-read pragmas on concrete data', () => {
  const source = `import type { i32 } from 'parad';
/** @kernel */
export function permute(y: Float64Array, x: Float64Array, perm: Int32Array, n: i32, T: i32): void {
  for (let t = 0; t < T; t++) {
    // @parallel exclusive-read(perm)
    for (let i = 0; i < n; i++) {
      y[i] = 0.5 * x[perm[i]] + y[i];
    }
  }
}
/** @kernel */
export function plain(y: Float64Array, x: Float64Array, n: i32): void {
  // @parallel
  for (let i = 0; i < n; i++) y[i] = 2 * x[i];
}
`;
  const args = (perm: number[]) => ({
    y: vec(0.1, 0.2, 0.3, 0.4),
    x: vec(0.5, 0.6, 0.7, 0.8),
    perm: Int32Array.from(perm),
    n: 4,
    T: 3,
  });

  test('a permutation holds, run after run of the nest (time steps read the same elements again)', async () => {
    const mod = await compileAndLoad(source, { fileName: 'permute.ts' });
    expect(mod.__parad.kernels.permute.assumptions).toEqual([{ line: 6, arrays: ['x'] }]);
    const r = checkAssumptions(mod, 'permute', args([2, 0, 3, 1]));
    expect(r.ok, r.message).toBe(true);
    expect(r.violations).toEqual([]);
    expect(r.message).toContain('x at line 6');
    const a = checkAdjoint(mod, 'permute', args([2, 0, 3, 1]));
    expect(a.ok, a.message).toBe(true);
  });

  test('a repeated index is a violation, with the iterations and the element; checkAdjoint fails on it', async () => {
    const mod = await compileAndLoad(source, { fileName: 'permute.ts' });
    const given = args([2, 0, 2, 1]);
    const before = given.y.slice();
    const r = checkAssumptions(mod, 'permute', given);
    expect(r.ok).toBe(false);
    expect(r.violations).toEqual([{ line: 6, array: 'x', element: 2, iterations: ['0', '2'] }]);
    expect(r.message).toContain('iterations 0 and 2 of the nest at line 6 both read x[2]');
    expect(given.y, "the caller's arrays are not touched").toEqual(before);
    const a = checkAdjoint(mod, 'permute', given);
    expectFailure(a, 'exclusive-read at line 6');
    expect(a.detail).toContain('would race');
  });

  test('a kernel without assumptions passes trivially and has no replay', async () => {
    const mod = await compileAndLoad(source, { fileName: 'permute.ts' });
    expect(mod.__parad.kernels.plain.replay).toBeUndefined();
    const r = checkAssumptions(mod, 'plain', { y: vec(0, 0), x: vec(1, 2), n: 2 });
    expect(r.ok).toBe(true);
    expect(r.message).toContain('(nothing)');
  });
});

describe('32-bit kernels and layers', async () => {
  const layerNorm = await compileAndLoad(LAYER_NORM, { fileName: 'layer-norm.ts' });
  const gru = await compileAndLoad(GRU, { fileName: 'gru.ts' });
  const H = 6,
    X = 4;
  const cases = [
    ['layer norm (f32 kernel)', layerNorm, 'layerNorm', { sizes: { y: 8, x: 8, g: 8, b: 8, n: 8 } }],
    [
      'GRU cell (f32 layer with Float32Array scratch)',
      gru,
      'gru',
      {
        sizes: {
          hNew: H,
          x: X,
          h: H,
          Wz: H * X,
          Uz: H * H,
          bz: H,
          Wr: H * X,
          Ur: H * H,
          br: H,
          Wh: H * X,
          Uh: H * H,
          bh: H,
          H,
          X,
        },
      },
    ],
  ] as const;
  const seeds = [1, 2, 3, 4];

  test.each(cases)(
    '%s: in f64 (the default) arguments and what the module allocates are promoted: f64 accuracy',
    (_name, mod, kernel, args) => {
      for (const seed of seeds) {
        const t = checkTangent(mod, kernel, args, { seed });
        expect(t.ok, t.message).toBe(true);
        expect(t.relError).toBeLessThan(1e-8);
        const a = checkAdjoint(mod, kernel, args, { seed });
        expect(a.ok, a.message).toBe(true);
        expect(a.relError).toBeLessThan(1e-12);
      }
      expect(globalThis.Float32Array, 'the global is restored').not.toBe(Float64Array);
      expect(new Float32Array(1).BYTES_PER_ELEMENT).toBe(4);
    },
  );

  test.each(cases)(
    '%s: in f32 ({ f64: false }) the float32 step and tolerances apply and pass',
    (_name, mod, kernel, args) => {
      const d = checkDefaults('f32');
      for (const seed of seeds) {
        const t = checkTangent(mod, kernel, args, { seed, f64: false });
        expect(t.ok, t.message).toBe(true);
        expect(t.tolerance).toBe(d.tangent);
        const a = checkAdjoint(mod, kernel, args, { seed, f64: false });
        expect(a.ok, a.message).toBe(true);
        expect(a.tolerance).toBe(d.adjoint);
        // well inside the tolerance: the float32 error is rounding, not a loose derivative
        expect(t.relError).toBeLessThan(d.tangent / 10);
        expect(a.relError).toBeLessThan(d.adjoint / 10);
      }
    },
  );

  test('the float32 defaults follow from the unit roundoff u = 2^-23; float64 keeps its own', () => {
    const u = 2 ** -23;
    expect(checkDefaults('f32')).toEqual({ h: Math.cbrt(u), tangent: 64 * u ** (2 / 3), adjoint: 1024 * u });
    expect(checkDefaults('f32').h).toBeCloseTo(4.9e-3, 4);
    expect(checkDefaults('f32').tangent).toBeCloseTo(1.55e-3, 4);
    expect(checkDefaults('f32').adjoint).toBeCloseTo(1.22e-4, 6);
    expect(checkDefaults('f64')).toEqual({ h: 1e-6, tangent: 1e-6, adjoint: 1e-10 });
    // a 64-bit kernel checked with f64: false keeps the float64 defaults
    expect(checkTangent(saxpy, 'saxpy', saxpyArgs(), { f64: false }).tolerance).toBe(1e-6);
  });

  test('in f32 a 1% error of the tangent or of one adjoint still fails', () => {
    const args = cases[0][3];
    const scaled = (name: string, f: (r: unknown, a: unknown[]) => void): DerivativeModule => ({
      ...layerNorm,
      [name]: (...a: unknown[]) => {
        const r = (layerNorm[name] as (...x: unknown[]) => unknown)(...a);
        f(r, a);
        return r;
      },
    });
    // layerNorm_d(y, yd, x, xd, g, gd, b, bd, n): yd scaled by 1.01
    const badTangent = scaled('layerNorm_d', (_r, a) => {
      (a[1] as Float32Array).forEach((v, i, arr) => {
        arr[i] = v * 1.01;
      });
    });
    expectFailure(checkTangent(badTangent, 'layerNorm', args, { f64: false }), /^y\[\d+\]$/);
    // layerNorm_b(y, yb, x, xb, g, gb, b, bb, n): gb scaled by 1.01
    const badAdjoint = scaled('layerNorm_b', (_r, a) => {
      (a[5] as Float32Array).forEach((v, i, arr) => {
        arr[i] = v * 1.01;
      });
    });
    expectFailure(checkAdjoint(badAdjoint, 'layerNorm', args, { f64: false }), 'adjoint of g');
  });

  test('the global Float32Array is restored when the module throws', () => {
    const throwing: DerivativeModule = {
      ...layerNorm,
      layerNorm: () => {
        throw new Error('boom');
      },
    };
    expect(() => checkTangent(throwing, 'layerNorm', cases[0][3])).toThrow('boom');
    expect(new Float32Array(1).BYTES_PER_ELEMENT).toBe(4);
  });
});
