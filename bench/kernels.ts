import type { f64, i32 } from 'parad';

/** 5-point stencil on a flattened H×W grid. @kernel */
export function stencil2d(out: Float64Array, u: Float64Array, c: f64, H: i32, W: i32): void {
  // @parallel
  for (let y = 1; y < H - 1; y++) {
    // @parallel
    for (let x = 1; x < W - 1; x++) {
      const k = y * W + x;
      out[k] = u[k] + c * (u[k - 1] + u[k + 1] + u[k - W] + u[k + W] - 4 * u[k]);
    }
  }
}

/** Multi-channel conv2d, NCHW, valid padding. @kernel */
export function conv2d(out: Float64Array, inp: Float64Array, w: Float64Array, bias: Float64Array, C: i32, H: i32, W: i32, F: i32, K: i32): void {
  const OH = H - K + 1;
  const OW = W - K + 1;
  // @parallel
  for (let f = 0; f < F; f++) {
    // @parallel
    for (let oy = 0; oy < OH; oy++) {
      // @parallel
      for (let ox = 0; ox < OW; ox++) {
        let acc = bias[f];
        for (let c = 0; c < C; c++) {
          for (let ky = 0; ky < K; ky++) {
            for (let kx = 0; kx < K; kx++) {
              acc += w[((f * C + c) * K + ky) * K + kx] * inp[(c * H + oy + ky) * W + ox + kx];
            }
          }
        }
        out[(f * OH + oy) * OW + ox] = acc;
      }
    }
  }
}

/** Dense layer y = tanh(W x + b). @kernel */
export function dense(y: Float64Array, W: Float64Array, x: Float64Array, b: Float64Array, nOut: i32, nIn: i32): void {
  // @parallel
  for (let o = 0; o < nOut; o++) {
    let acc = b[o];
    for (let i = 0; i < nIn; i++) {
      acc += W[o * nIn + i] * x[i];
    }
    y[o] = Math.tanh(acc);
  }
}
