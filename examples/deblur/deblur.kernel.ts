import type { f32, i32 } from 'parad';

/**
 * Blurs an H×W image with a K×K filter (valid region: out is (H-K+1)×(W-K+1)). The image is data,
 * the filter is what the example recovers: its adjoint wb is the gradient.
 * @kernel
 * @nodiff img
 */
export function blur(out: Float32Array, img: Float32Array, w: Float32Array, H: i32, W: i32, K: i32): void {
  const OH = H - K + 1;
  const OW = W - K + 1;
  // @parallel
  for (let y = 0; y < OH; y++) {
    // @parallel
    for (let x = 0; x < OW; x++) {
      let acc = 0;
      for (let ky = 0; ky < K; ky++) {
        for (let kx = 0; kx < K; kx++) {
          acc += w[ky * K + kx] * img[(y + ky) * W + x + kx];
        }
      }
      out[y * OW + x] = acc;
    }
  }
}

/**
 * The seed of the squared-error loss Σ (out − target)²: d loss / d out = 2 (out − target).
 * @kernel
 * @nodiff seed out target
 */
export function lossSeed(seed: Float32Array, out: Float32Array, target: Float32Array, n: i32): void {
  // @parallel
  for (let i = 0; i < n; i++) {
    seed[i] = 2 * (out[i] - target[i]);
  }
}
