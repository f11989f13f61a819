import type { f64, i32 } from 'parad';

/**
 * A 3-tap blur with learnable weights, followed by a smooth nonlinearity.
 * @kernel
 */
export function blur(out: Float64Array, inp: Float64Array, w: Float64Array, gain: f64, n: i32): void {
  // @parallel
  for (let i = 1; i < n - 1; i++) {
    const s = w[0] * inp[i - 1] + w[1] * inp[i] + w[2] * inp[i + 1];
    out[i] = Math.tanh(gain * s);
  }
}

/**
 * Mean squared error between a prediction and a target, returned as a float.
 * @kernel
 * @nodiff target
 */
export function mse(pred: Float64Array, target: Float64Array, n: i32): f64 {
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const d = pred[i] - target[i];
    sum += d * d;
  }
  return sum / n;
}
