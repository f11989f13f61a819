/**
 * 32-bit kernels and layers for the parad/testing checks in f32 (test/testing.test.ts): a layer
 * norm kernel and a GRU cell layer whose scratch arrays are `new Float32Array(H)`. Compiled by the
 * tests (they are source text, not modules of the suite).
 */
export const LAYER_NORM = `import type { f32, i32 } from 'parad';
/** y = g · (x − mean) / sqrt(var + 1e-5) + b @kernel */
export function layerNorm(y: Float32Array, x: Float32Array, g: Float32Array, b: Float32Array, n: i32): void {
  let mean: f32 = 0;
  for (let i = 0; i < n; i++) {
    mean += x[i];
  }
  mean = mean / n;
  let v: f32 = 0;
  for (let i = 0; i < n; i++) {
    const d = x[i] - mean;
    v += d * d;
  }
  const inv = 1 / Math.sqrt(v / n + 1e-5);
  // @parallel
  for (let i = 0; i < n; i++) {
    y[i] = (x[i] - mean) * inv * g[i] + b[i];
  }
}
`;

export const GRU = `import type { i32 } from 'parad';
/** out = W·x (W is nOut × nIn, row-major) @kernel */
export function matvec(out: Float32Array, W: Float32Array, x: Float32Array, nOut: i32, nIn: i32): void {
  // @parallel
  for (let i = 0; i < nOut; i++) {
    let s = 0;
    for (let j = 0; j < nIn; j++) {
      s += W[i * nIn + j] * x[j];
    }
    out[i] = s;
  }
}

/** g = σ(a + c + bias) @kernel */
export function gate(g: Float32Array, a: Float32Array, c: Float32Array, bias: Float32Array, n: i32): void {
  // @parallel
  for (let i = 0; i < n; i++) {
    g[i] = 1 / (1 + Math.exp(-(a[i] + c[i] + bias[i])));
  }
}

/** hc = tanh(a + r·c + bias) @kernel */
export function candidate(hc: Float32Array, a: Float32Array, r: Float32Array, c: Float32Array, bias: Float32Array, n: i32): void {
  // @parallel
  for (let i = 0; i < n; i++) {
    hc[i] = Math.tanh(a[i] + r[i] * c[i] + bias[i]);
  }
}

/** hNew = (1 − z)·h + z·hc @kernel */
export function mix(hNew: Float32Array, z: Float32Array, h: Float32Array, hc: Float32Array, n: i32): void {
  // @parallel
  for (let i = 0; i < n; i++) {
    hNew[i] = (1 - z[i]) * h[i] + z[i] * hc[i];
  }
}

/** One GRU step: hNew from the input x and the state h. @layer */
export function gru(hNew: Float32Array, x: Float32Array, h: Float32Array, Wz: Float32Array, Uz: Float32Array, bz: Float32Array, Wr: Float32Array, Ur: Float32Array, br: Float32Array, Wh: Float32Array, Uh: Float32Array, bh: Float32Array, H: i32, X: i32): void {
  const a = new Float32Array(H);
  const c = new Float32Array(H);
  const z = new Float32Array(H);
  const r = new Float32Array(H);
  const hc = new Float32Array(H);
  matvec(a, Wz, x, H, X);
  matvec(c, Uz, h, H, H);
  gate(z, a, c, bz, H);
  matvec(a, Wr, x, H, X);
  matvec(c, Ur, h, H, H);
  gate(r, a, c, br, H);
  matvec(a, Wh, x, H, X);
  matvec(c, Uh, h, H, H);
  candidate(hc, a, r, c, bh, H);
  mix(hNew, z, h, hc, H);
}
`;
