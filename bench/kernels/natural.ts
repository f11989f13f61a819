import type { i32 } from 'parad';

// Natural formulations: each kernel written the way a user would write it (sizes, strides and
// windows passed in at run time, indices with `%`, `>>`, `/`), not the way the analysis likes best.
// `npm run bench` (bench/natural.mjs) times each one's adjoint against its primal and, where TF.js
// has the op, against `tf.grads`. Layout: channels last (H×W×C, TF.js's NHWC with batch 1), so the
// arrays are TF.js's tensors as they are.

/**
 * 2-D convolution, valid padding, with the output sizes and the stride passed in:
 * out[oy][ox][f] = bias[f] + Σ inp[oy·stride + ky][ox·stride + kx][c] · w[ky][kx][c][f].
 * @kernel
 */
export function conv2dStrided(out: Float64Array, inp: Float64Array, w: Float64Array, bias: Float64Array, H: i32, W: i32, C: i32, F: i32, K: i32, OH: i32, OW: i32, stride: i32): void {
  // @parallel
  for (let oy = 0; oy < OH; oy++) {
    // @parallel
    for (let ox = 0; ox < OW; ox++) {
      // @parallel
      for (let f = 0; f < F; f++) {
        let acc = bias[f];
        for (let ky = 0; ky < K; ky++) {
          for (let kx = 0; kx < K; kx++) {
            for (let c = 0; c < C; c++) {
              acc += inp[((oy * stride + ky) * W + ox * stride + kx) * C + c] * w[((ky * K + kx) * C + c) * F + f];
            }
          }
        }
        out[(oy * OW + ox) * F + f] = acc;
      }
    }
  }
}

/** 3×3 average pooling, stride 2, valid padding, sizes passed in. @kernel */
export function avgPool3s2(out: Float64Array, inp: Float64Array, H: i32, W: i32, C: i32, OH: i32, OW: i32): void {
  // @parallel
  for (let oy = 0; oy < OH; oy++) {
    // @parallel
    for (let ox = 0; ox < OW; ox++) {
      // @parallel
      for (let c = 0; c < C; c++) {
        let s = 0;
        for (let ky = 0; ky < 3; ky++) {
          for (let kx = 0; kx < 3; kx++) {
            s += inp[((2 * oy + ky) * W + 2 * ox + kx) * C + c];
          }
        }
        out[(oy * OW + ox) * C + c] = s / 9;
      }
    }
  }
}

/** 3×3 max pooling, stride 2, valid padding, sizes passed in. @kernel */
export function maxPool3s2(out: Float64Array, inp: Float64Array, H: i32, W: i32, C: i32, OH: i32, OW: i32): void {
  // @parallel
  for (let oy = 0; oy < OH; oy++) {
    // @parallel
    for (let ox = 0; ox < OW; ox++) {
      // @parallel
      for (let c = 0; c < C; c++) {
        let m = inp[((2 * oy) * W + 2 * ox) * C + c];
        for (let ky = 0; ky < 3; ky++) {
          for (let kx = 0; kx < 3; kx++) {
            m = Math.max(m, inp[((2 * oy + ky) * W + 2 * ox + kx) * C + c]);
          }
        }
        out[(oy * OW + ox) * C + c] = m;
      }
    }
  }
}

/** Nearest-neighbour upsampling by 2 in each direction, written with shifts: out is 2H×2W×C. @kernel */
export function upsample2x(out: Float64Array, inp: Float64Array, H: i32, W: i32, C: i32): void {
  // @parallel
  for (let y = 0; y < 2 * H; y++) {
    // @parallel
    for (let x = 0; x < 2 * W; x++) {
      // @parallel
      for (let c = 0; c < C; c++) {
        out[(y * 2 * W + x) * C + c] = inp[((y >> 1) * W + (x >> 1)) * C + c];
      }
    }
  }
}

/** Periodic 3-point stencil with learnable weights: the neighbours wrap around with `%`. @kernel */
export function periodic3(out: Float64Array, u: Float64Array, w: Float64Array, n: i32): void {
  // @parallel
  for (let i = 0; i < n; i++) {
    out[i] = w[0] * u[(i + n - 1) % n] + w[1] * u[i] + w[2] * u[(i + 1) % n];
  }
}

/**
 * Pixel shuffle (TF.js's depthToSpace, NHWC): an H×W×(r·r·C) image becomes rH×rW×C,
 * out[y][x][c] = inp[y / r][x / r][((y % r)·r + x % r)·C + c] (a permutation).
 * @kernel
 */
export function pixelShuffle(out: Float64Array, inp: Float64Array, H: i32, W: i32, C: i32, r: i32): void {
  // @parallel
  for (let y = 0; y < H * r; y++) {
    // @parallel
    for (let x = 0; x < W * r; x++) {
      // @parallel
      for (let c = 0; c < C; c++) {
        const iy = (y / r) | 0;
        const ix = (x / r) | 0;
        out[(y * W * r + x) * C + c] = inp[(iy * W + ix) * r * r * C + ((y % r) * r + (x % r)) * C + c];
      }
    }
  }
}

/**
 * Bilinear resize of an H×W×C image to OH×OW×C (TF.js's resizeBilinear: no corner alignment,
 * no half-pixel centres): source coordinate = output coordinate · H/OH.
 * @kernel
 */
export function resizeBilinear(out: Float64Array, inp: Float64Array, H: i32, W: i32, C: i32, OH: i32, OW: i32): void {
  // @parallel
  for (let oy = 0; oy < OH; oy++) {
    // @parallel
    for (let ox = 0; ox < OW; ox++) {
      // @parallel
      for (let c = 0; c < C; c++) {
        const sy = (oy * H) / OH;
        const sx = (ox * W) / OW;
        const y0 = Math.floor(sy);
        const x0 = Math.floor(sx);
        const y1 = Math.min(y0 + 1, H - 1);
        const x1 = Math.min(x0 + 1, W - 1);
        const dy = sy - y0;
        const dx = sx - x0;
        const top = inp[(y0 * W + x0) * C + c] * (1 - dx) + inp[(y0 * W + x1) * C + c] * dx;
        const bottom = inp[(y1 * W + x0) * C + c] * (1 - dx) + inp[(y1 * W + x1) * C + c] * dx;
        out[(oy * OW + ox) * C + c] = top * (1 - dy) + bottom * dy;
      }
    }
  }
}

/**
 * Transposed convolution (TF.js's conv2dTranspose, valid padding), written parallel over the
 * output: each output pixel gathers the input pixels iy with iy·stride + ky = oy.
 * out[oy][ox][f] = Σ inp[iy][ix][c] · w[ky][kx][f][c], OH = (H − 1)·stride + K.
 * @kernel
 */
export function convTranspose(out: Float64Array, inp: Float64Array, w: Float64Array, H: i32, W: i32, C: i32, F: i32, K: i32, stride: i32, OH: i32, OW: i32): void {
  // @parallel
  for (let oy = 0; oy < OH; oy++) {
    // @parallel
    for (let ox = 0; ox < OW; ox++) {
      // @parallel
      for (let f = 0; f < F; f++) {
        let acc = 0;
        for (let ky = 0; ky < K; ky++) {
          for (let kx = 0; kx < K; kx++) {
            const ty = oy - ky;
            const tx = ox - kx;
            if (ty >= 0 && tx >= 0 && ty % stride === 0 && tx % stride === 0 && ty / stride < H && tx / stride < W) {
              const iy = ty / stride;
              const ix = tx / stride;
              for (let c = 0; c < C; c++) {
                acc += inp[(iy * W + ix) * C + c] * w[((ky * K + kx) * F + f) * C + c];
              }
            }
          }
        }
        out[(oy * OW + ox) * F + f] = acc;
      }
    }
  }
}
