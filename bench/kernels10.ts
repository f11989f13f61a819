// A 10-kernel file for the analysis benchmark (npm run bench): kernels of the fixtures in one file,
// covering every verdict (yes, no, depends, unknown) and flattened 2-D/3-D indexing.
import type { f64, i32 } from 'parad';

/** 3-point stencil with learnable weights. @kernel */
export function stencil3(out: Float64Array, u: Float64Array, w: Float64Array, n: i32): void {
  // @parallel
  for (let i = 1; i < n - 1; i++) {
    out[i] = w[0] * u[i - 1] + w[1] * u[i] + w[2] * u[i + 1];
  }
}

/** Explicit diffusion step with a nonlinear flux. @kernel */
export function diffuse(out: Float64Array, u: Float64Array, kappa: f64, n: i32): void {
  // @parallel
  for (let i = 1; i < n - 1; i++) {
    const left = Math.tanh(u[i] - u[i - 1]);
    const right = Math.tanh(u[i + 1] - u[i]);
    out[i] = u[i] + kappa * (right - left);
  }
}

/** 5-point Laplacian smoothing on a flattened H×W grid. @kernel */
export function laplace5(out: Float64Array, u: Float64Array, c: f64, H: i32, W: i32): void {
  // @parallel
  for (let y = 1; y < H - 1; y++) {
    // @parallel
    for (let x = 1; x < W - 1; x++) {
      const k = y * W + x;
      out[k] = u[k] + c * (u[k - 1] + u[k + 1] + u[k - W] + u[k + W] - 4 * u[k]);
    }
  }
}

/** 3×3 filter with learnable weights (a 2-D stencil written with inner loops). @kernel */
export function filter3x3(out: Float64Array, u: Float64Array, w: Float64Array, H: i32, W: i32): void {
  // @parallel
  for (let y = 1; y < H - 1; y++) {
    // @parallel
    for (let x = 1; x < W - 1; x++) {
      let acc = 0;
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          acc += w[(dy + 1) * 3 + dx + 1] * u[(y + dy) * W + x + dx];
        }
      }
      out[y * W + x] = acc;
    }
  }
}

/**
 * Multi-channel 2-D convolution on flattened NCHW arrays (valid padding, stride 1):
 * out[f][oy][ox] = bias[f] + Σ_c Σ_ky Σ_kx w[f][c][ky][kx] · inp[c][oy+ky][ox+kx].
 * @kernel
 */
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

/** 2×2 max pooling of a flattened H×W image (H, W even). @kernel */
export function maxPool2d(out: Float64Array, x: Float64Array, H: i32, W: i32): void {
  const OW = W / 2;
  // @parallel
  for (let oy = 0; oy < H / 2; oy++) {
    // @parallel
    for (let ox = 0; ox < OW; ox++) {
      const top = Math.max(x[2 * oy * W + 2 * ox], x[2 * oy * W + 2 * ox + 1]);
      const bottom = Math.max(x[(2 * oy + 1) * W + 2 * ox], x[(2 * oy + 1) * W + 2 * ox + 1]);
      out[oy * OW + ox] = Math.max(top, bottom);
    }
  }
}

/** Dense layer y = tanh(W x + b), W row-major nOut×nIn. @kernel */
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

/** Row-wise softmax of a rows×cols matrix. @kernel */
export function softmaxRows(out: Float64Array, x: Float64Array, rows: i32, cols: i32): void {
  // @parallel
  for (let r = 0; r < rows; r++) {
    let m = x[r * cols];
    for (let j = 1; j < cols; j++) {
      m = Math.max(m, x[r * cols + j]);
    }
    let s = 0;
    for (let j = 0; j < cols; j++) {
      const e = Math.exp(x[r * cols + j] - m);
      out[r * cols + j] = e;
      s += e;
    }
    for (let j = 0; j < cols; j++) {
      out[r * cols + j] /= s;
    }
  }
}

/** A reversed index: each iteration reads the mirrored element. @kernel */
export function mirror(b: Float64Array, c: Float64Array, n: i32): void {
  // @parallel
  for (let i = 0; i < n; i++) {
    b[i] = c[n - 1 - i] * c[i];
  }
}

/** Reference loop 3: a window of reads; exclusive only when size == 0. @kernel */
export function windowSum(b: Float64Array, c: Float64Array, size: i32, n: i32): void {
  // @parallel
  for (let i = size; i < n - size; i++) {
    b[i] = 0;
    for (let j = i - size; j <= i + size; j++) {
      b[i] = b[i] + c[j];
    }
  }
}
