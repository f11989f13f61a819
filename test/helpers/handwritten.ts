/**
 * Hand-written derivative modules that obey the contract of generated ones (K, K_d, K_b and
 * `__parad`), for testing parad/testing without the transformer: correct ones, and broken variants
 * made by replacing one function of a correct module.
 */
import type { KernelMeta, ModuleMeta, ParamMeta } from '../../runtime/index.js';
import type { DerivativeModule } from '../../testing/index.js';

const FLOAT_TYPES = ['Float32Array', 'Float64Array', 'f32', 'f64'];

/** Metadata from a signature: `kernelMeta('saxpy', 'y: Float64Array, x: Float64Array, a: f64, n: i32')`. */
export function kernelMeta(name: string, signature: string, returns = 'void', nodiff: string[] = []): KernelMeta {
  const params: ParamMeta[] = signature.split(',').map((part) => {
    const [pname, type] = part.split(':').map((s) => s.trim());
    return {
      name: pname,
      type,
      kind: type.endsWith('Array') ? 'array' : 'scalar',
      active: FLOAT_TYPES.includes(type) && !nodiff.includes(pname),
    };
  });
  return { name, params, returns, modes: ['d', 'b'], source: { file: 'handwritten.ts', line: 1 } };
}

const moduleMeta = (...kernels: KernelMeta[]): ModuleMeta => ({
  version: 1,
  kernels: Object.fromEntries(kernels.map((k) => [k.name, k])),
});

type F = Float64Array;

/** y[i] += a * x[i]: y is read and written (its adjoint passes through), x and a are inputs. */
export const saxpy = {
  saxpy(y: F, x: F, a: number, n: number): void {
    for (let i = 0; i < n; i++) y[i] += a * x[i];
  },
  saxpy_d(y: F, yd: F, x: F, xd: F, a: number, ad: number, n: number): void {
    for (let i = 0; i < n; i++) {
      yd[i] += ad * x[i] + a * xd[i];
      y[i] += a * x[i];
    }
  },
  saxpy_b(y: F, yb: F, x: F, xb: F, a: number, n: number): { ab: number } {
    let ab = 0;
    for (let i = 0; i < n; i++) y[i] += a * x[i];
    for (let i = n - 1; i >= 0; i--) {
      ab += x[i] * yb[i];
      xb[i] += a * yb[i];
    }
    return { ab };
  },
  __parad: moduleMeta(kernelMeta('saxpy', 'y: Float64Array, x: Float64Array, a: f64, n: i32')),
} satisfies DerivativeModule;

/** Returns sum x[i] * y[i] (a float return, no active scalar). */
export const dot = {
  dot(x: F, y: F, n: number): number {
    let s = 0;
    for (let i = 0; i < n; i++) s += x[i] * y[i];
    return s;
  },
  dot_d(x: F, xd: F, y: F, yd: F, n: number): [number, number] {
    let s = 0,
      sd = 0;
    for (let i = 0; i < n; i++) {
      sd += xd[i] * y[i] + x[i] * yd[i];
      s += x[i] * y[i];
    }
    return [s, sd];
  },
  dot_b(x: F, xb: F, y: F, yb: F, n: number, sb: number): void {
    for (let i = 0; i < n; i++) {
      xb[i] += y[i] * sb;
      yb[i] += x[i] * sb;
    }
  },
  __parad: moduleMeta(kernelMeta('dot', 'x: Float64Array, y: Float64Array, n: i32', 'f64')),
} satisfies DerivativeModule;

/** x[i] = x[i] * x[i] in place: the adjoint needs the overwritten inputs (saved, then restored). */
export const square = {
  square(x: F, n: number): void {
    for (let i = 0; i < n; i++) x[i] = x[i] * x[i];
  },
  square_d(x: F, xd: F, n: number): void {
    for (let i = 0; i < n; i++) {
      xd[i] = 2 * x[i] * xd[i];
      x[i] = x[i] * x[i];
    }
  },
  square_b(x: F, xb: F, n: number): void {
    const saved = x.slice();
    for (let i = 0; i < n; i++) x[i] = x[i] * x[i];
    for (let i = 0; i < n; i++) xb[i] = 2 * saved[i] * xb[i];
  },
  __parad: moduleMeta(kernelMeta('square', 'x: Float64Array, n: i32')),
} satisfies DerivativeModule;

/** y[i] = w * x[idx[i]]: an inactive index array, y overwritten (its adjoint is reset). */
export const gather = {
  gather(y: F, x: F, idx: Int32Array, w: number, n: number): void {
    for (let i = 0; i < n; i++) y[i] = w * x[idx[i]];
  },
  gather_d(y: F, yd: F, x: F, xd: F, idx: Int32Array, w: number, wd: number, n: number): void {
    for (let i = 0; i < n; i++) {
      yd[i] = wd * x[idx[i]] + w * xd[idx[i]];
      y[i] = w * x[idx[i]];
    }
  },
  gather_b(y: F, yb: F, x: F, xb: F, idx: Int32Array, w: number, n: number): { wb: number } {
    let wb = 0;
    for (let i = 0; i < n; i++) y[i] = w * x[idx[i]];
    for (let i = 0; i < n; i++) {
      wb += x[idx[i]] * yb[i];
      xb[idx[i]] += w * yb[i];
      yb[i] = 0;
    }
    return { wb };
  },
  __parad: moduleMeta(kernelMeta('gather', 'y: Float64Array, x: Float64Array, idx: Int32Array, w: f64, n: i32')),
} satisfies DerivativeModule;

/** Mean squared error with an inactive (`@nodiff`) target and a float32 prediction. */
export const mse = {
  mse(pred: Float32Array, target: Float32Array, n: number): number {
    let s = 0;
    for (let i = 0; i < n; i++) s += (pred[i] - target[i]) ** 2;
    return s / n;
  },
  mse_d(pred: Float32Array, predd: Float32Array, target: Float32Array, n: number): [number, number] {
    let s = 0,
      sd = 0;
    for (let i = 0; i < n; i++) {
      sd += 2 * (pred[i] - target[i]) * predd[i];
      s += (pred[i] - target[i]) ** 2;
    }
    return [s / n, sd / n];
  },
  mse_b(pred: Float32Array, predb: Float32Array, target: Float32Array, n: number, mseb: number): void {
    for (let i = 0; i < n; i++) predb[i] += (2 * (pred[i] - target[i]) * mseb) / n;
  },
  __parad: moduleMeta(kernelMeta('mse', 'pred: Float32Array, target: Float32Array, n: i32', 'f32', ['target'])),
} satisfies DerivativeModule;

/** y = A x for an m×n row-major A; `matvecWithAdjointError` returns a copy whose adjoint is off by `delta` in one entry. */
export const matvec = {
  matvec(y: F, A: F, x: F, m: number, n: number): void {
    for (let i = 0; i < m; i++) {
      let s = 0;
      for (let j = 0; j < n; j++) s += A[i * n + j] * x[j];
      y[i] = s;
    }
  },
  matvec_d(y: F, yd: F, A: F, Ad: F, x: F, xd: F, m: number, n: number): void {
    for (let i = 0; i < m; i++) {
      let s = 0,
        sd = 0;
      for (let j = 0; j < n; j++) {
        sd += Ad[i * n + j] * x[j] + A[i * n + j] * xd[j];
        s += A[i * n + j] * x[j];
      }
      y[i] = s;
      yd[i] = sd;
    }
  },
  matvec_b(y: F, yb: F, A: F, Ab: F, x: F, xb: F, m: number, n: number): void {
    matvec.matvec(y, A, x, m, n);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        Ab[i * n + j] += x[j] * yb[i];
        xb[j] += A[i * n + j] * yb[i];
      }
      yb[i] = 0;
    }
  },
  __parad: moduleMeta(kernelMeta('matvec', 'y: Float64Array, A: Float64Array, x: Float64Array, m: i32, n: i32')),
} satisfies DerivativeModule;

export function matvecWithAdjointError(row: number, col: number, delta: number): DerivativeModule {
  return {
    ...matvec,
    matvec_b(y: F, yb: F, A: F, Ab: F, x: F, xb: F, m: number, n: number): void {
      const seed = yb[row];
      matvec.matvec_b(y, yb, A, Ab, x, xb, m, n);
      xb[col] += delta * seed;
    },
  };
}

// ---- broken variants: each replaces one function of a correct module -------------------------

export const broken = {
  /** The tangent forgets the `a` term. */
  saxpyTangentMissesScalar: {
    ...saxpy,
    saxpy_d(y: F, yd: F, x: F, xd: F, a: number, _ad: number, n: number): void {
      for (let i = 0; i < n; i++) {
        yd[i] += a * xd[i];
        y[i] += a * x[i];
      }
    },
  },
  /** The adjoint of x is scaled twice. */
  saxpyAdjointWrongX: {
    ...saxpy,
    saxpy_b(y: F, yb: F, x: F, xb: F, a: number, n: number): { ab: number } {
      const r = saxpy.saxpy_b(y, yb, x, xb, a, n);
      for (let i = 0; i < n; i++) xb[i] += a * yb[i];
      return r;
    },
  },
  /** The adjoint treats y as overwritten (resets yb) although saxpy reads it. */
  saxpyAdjointResetsY: {
    ...saxpy,
    saxpy_b(y: F, yb: F, x: F, xb: F, a: number, n: number): { ab: number } {
      const r = saxpy.saxpy_b(y, yb, x, xb, a, n);
      yb.fill(0);
      return r;
    },
  },
  /** The adjoint returns no `ab`. */
  saxpyAdjointNoScalar: {
    ...saxpy,
    saxpy_b(y: F, yb: F, x: F, xb: F, a: number, n: number): void {
      saxpy.saxpy_b(y, yb, x, xb, a, n);
    },
  },
  /** The adjoint returns a wrong `ab`. */
  saxpyAdjointWrongScalar: {
    ...saxpy,
    saxpy_b(y: F, yb: F, x: F, xb: F, a: number, n: number): { ab: number } {
      const { ab } = saxpy.saxpy_b(y, yb, x, xb, a, n);
      return { ab: 1.01 * ab };
    },
  },
  /** The tangent of the returned value misses the y term. */
  dotTangentWrongReturn: {
    ...dot,
    dot_d(x: F, xd: F, y: F, _yd: F, n: number): [number, number] {
      let s = 0,
        sd = 0;
      for (let i = 0; i < n; i++) {
        sd += xd[i] * y[i];
        s += x[i] * y[i];
      }
      return [s, sd];
    },
  },
  /** The tangent returns only the derivative, not [value, valueDot]. */
  dotTangentReturnsNumber: {
    ...dot,
    dot_d: (x: F, xd: F, y: F, yd: F, n: number): number => dot.dot_d(x, xd, y, yd, n)[1],
  },
  /** The adjoint ignores the seed of the returned value. */
  dotAdjointIgnoresSeed: {
    ...dot,
    dot_b: (x: F, xb: F, y: F, yb: F, n: number): void => dot.dot_b(x, xb, y, yb, n, 1),
  },
  /** The tangent overwrites x before using its old value. */
  squareTangentReadsNewValue: {
    ...square,
    square_d(x: F, xd: F, n: number): void {
      for (let i = 0; i < n; i++) {
        x[i] = x[i] * x[i];
        xd[i] = 2 * x[i] * xd[i];
      }
    },
  },
  /** The adjoint restores the inputs instead of leaving the outputs in x. */
  squareAdjointRestoresInputs: {
    ...square,
    square_b(x: F, xb: F, n: number): void {
      const saved = x.slice();
      square.square_b(x, xb, n);
      x.set(saved);
    },
  },
  /** The tangent does not run the primal. */
  gatherTangentSkipsPrimal: {
    ...gather,
    gather_d(_y: F, yd: F, x: F, xd: F, idx: Int32Array, w: number, wd: number, n: number): void {
      for (let i = 0; i < n; i++) yd[i] = wd * x[idx[i]] + w * xd[idx[i]];
    },
  },
} satisfies Record<string, DerivativeModule>;
