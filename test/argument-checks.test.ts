/**
 * The argument checks of the generated entry points (docs/kernel-language.md#argument-checks):
 * `K_d`, `K_b`, a layer's `L_d`, `L_b` (and its WebGPU variants) throw a RangeError naming the
 * parameter when a derivative array is shorter than its array or an i32/u32 scalar is not an
 * integer of its type, before touching anything; the primal is unchanged and checks nothing.
 */
import { describe, expect, test } from 'vitest';
import { compile } from '../transformer/index.js';
import { compileAndLoad } from './support/load.js';
import { checkAdjoint } from '../testing/index.js';

const source = `import type { f64, i32, u32 } from 'parad';

/** @kernel */
export function blur(out: Float64Array, inp: Float64Array, gain: f64, n: i32): void {
  // @parallel
  for (let i = 1; i < n - 1; i++) {
    out[i] = gain * (inp[i - 1] + inp[i] + inp[i + 1]);
  }
}

/** @kernel */
export function scale(y: Float32Array, x: Float32Array, n: u32): void {
  // @parallel
  for (let i = 0; i < n; i++) {
    y[i] = 2 * x[i];
  }
}

/** @layer */
export function twice(out: Float64Array, inp: Float64Array, tmp: Float64Array, gain: f64, n: i32): void {
  blur(tmp, inp, gain, n);
  blur(out, tmp, gain, n);
}
`;

/** the same in 32 bits, for the WebGPU target */
const source32 = source.replace(/Float64Array/g, 'Float32Array').replace(/f64/g, 'f32');

const mod = await compileAndLoad(source, { fileName: 'checks.ts' });
type Fn = (...args: unknown[]) => unknown;
const fn = (name: string) => mod[name] as Fn;
const arr = (n: number, v = 0.5) => new Float64Array(n).fill(v);

describe('argument checks of the entry points', () => {
  test('an adjoint array shorter than its array: a RangeError naming both, nothing touched', () => {
    const out = arr(16, 1),
      outb = arr(16, 1),
      inp = arr(16),
      inpb = arr(3, 7);
    expect(() => fn('blur_b')(out, outb, inp, inpb, 0.5, 16)).toThrow(
      new RangeError('blur_b: inpb has length 3, needs at least 16 (the length of inp)'),
    );
    // the check comes first: no array was written
    expect([...out, ...outb, ...inpb].every((v, i) => v === (i < 32 ? 1 : 7))).toBe(true);
    expect(() => fn('blur_b')(out, arr(15), inp, arr(16), 0.5, 16)).toThrow(
      /^blur_b: outb has length 15, needs at least 16 \(the length of out\)$/,
    );
  });

  test('a tangent array shorter than its array: a RangeError', () => {
    expect(() => fn('blur_d')(arr(16), arr(16), arr(16), arr(4), 0.5, 0.1, 16)).toThrow(
      new RangeError('blur_d: inpd has length 4, needs at least 16 (the length of inp)'),
    );
  });

  test('a non-integer i32, a negative or fractional u32: a RangeError naming the parameter', () => {
    expect(() => fn('blur_b')(arr(16), arr(16), arr(16), arr(16), 0.5, 2.5)).toThrow(
      new RangeError('blur_b: n is 2.5, needs an integer (i32)'),
    );
    expect(() => fn('blur_d')(arr(16), arr(16), arr(16), arr(16), 0.5, 0, NaN)).toThrow(
      new RangeError('blur_d: n is NaN, needs an integer (i32)'),
    );
    const f32 = (n: number) => new Float32Array(n);
    expect(() => fn('scale_b')(f32(4), f32(4), f32(4), f32(4), -1)).toThrow(
      new RangeError('scale_b: n is -1, needs an integer >= 0 (u32)'),
    );
    expect(() => fn('scale_d')(f32(4), f32(4), f32(4), f32(4), 1.5)).toThrow(
      new RangeError('scale_d: n is 1.5, needs an integer >= 0 (u32)'),
    );
  });

  test("a layer's derivatives check their arguments too", () => {
    expect(() => fn('twice_b')(arr(8), arr(8), arr(8), arr(2), arr(8), arr(8), 0.5, 8)).toThrow(
      new RangeError('twice_b: inpb has length 2, needs at least 8 (the length of inp)'),
    );
    expect(() => fn('twice_d')(arr(8), arr(8), arr(8), arr(8), arr(8), arr(8), 0.5, 0, 8.25)).toThrow(
      new RangeError('twice_d: n is 8.25, needs an integer (i32)'),
    );
  });

  test('longer partners, right arguments: no error and the derivatives are right; the primal checks nothing', () => {
    // a partner longer than its array is allowed (a view into a bigger buffer)
    expect(() => fn('blur_b')(arr(16), arr(20), arr(16), arr(20), 0.5, 16)).not.toThrow();
    const args = {
      out: new Float64Array(9),
      inp: Float64Array.from({ length: 9 }, (_, i) => 0.1 * i),
      gain: 0.7,
      n: 9,
    };
    const adj = checkAdjoint(mod, 'blur', args);
    expect(adj.ok, adj.message).toBe(true);
    expect(() => fn('blur')(arr(16), arr(16), 0.5, 2.5)).not.toThrow();
    expect(String(mod.blur)).not.toMatch(/RangeError/);
  });

  test('the WebGPU variants of a layer check their arguments in the same words', async () => {
    const r = await compile(source32, { fileName: 'checks.ts', targets: ['ts', 'wgsl'] });
    expect(r.code).toBeDefined();
    const gpu = r.code!.slice(r.code!.indexOf('layers: {'));
    expect(gpu).toContain(
      'if (inpb.length < inp.length) throw new RangeError(`twice_b: inpb has length ${inpb.length}, needs at least ${inp.length} (the length of inp)`);',
    );
    expect(gpu).toContain('if ((n | 0) !== n) throw new RangeError(`twice_d: n is ${n}, needs an integer (i32)`);');
  });
});

describe('argument checks of createKernels (parad/runtime, WebGPU)', () => {
  test('a non-integer i32 scalar is a RangeError naming it, before anything is uploaded', async () => {
    const { createKernels } = await import('../runtime/gpu.js');
    const gpuMod = await compileAndLoad(source32, { fileName: 'checks.ts', targets: ['ts', 'wgsl'] });
    // a device that compiles anything and records uploads: the check must throw before any
    const uploads: unknown[] = [];
    const device = {
      lost: new Promise(() => {}),
      pushErrorScope() {},
      popErrorScope: async () => null,
      createShaderModule: () => ({ getCompilationInfo: async () => ({ messages: [] }) }),
      createComputePipeline: () => ({}),
      createBuffer: (d: { size: number }) => ({ size: d.size, destroy() {} }),
      queue: { writeBuffer: (...a: unknown[]) => void uploads.push(a) },
    } as unknown as GPUDevice;
    const k = await createKernels(device, gpuMod.wgsl as Parameters<typeof createKernels>[1]);
    const f32 = (n: number) => new Float32Array(n);
    await expect(k.blur_b(f32(8), f32(8), f32(8), f32(8), 0.5, 7.5)).rejects.toThrow(
      new RangeError('blur_b: n is 7.5, needs an integer (i32)'),
    );
    await expect(k.scale_b(f32(8), f32(8), f32(8), f32(8), -2)).rejects.toThrow(
      new RangeError('scale_b: n is -2, needs an integer >= 0 (u32)'),
    );
    expect(uploads).toEqual([]);
  });
});
