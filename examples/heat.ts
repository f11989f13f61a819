// A @layer: T explicit steps of the 1-D heat equation, then a weighted energy. `parad transpile`
// writes heat_d and heat_b; the adjoint reverses the time loop with the optimal checkpointing
// schedule for 10 stored states (setCheckpointing from 'parad' changes that at run time).
import type { f64, i32 } from 'parad';

/** One step (insulated ends): next = u + κ Δu. @kernel */
export function heatStep(next: Float64Array, u: Float64Array, kappa: f64, n: i32): void {
  // @parallel
  for (let i = 0; i < n; i++) {
    const l = i > 0 ? u[i - 1] : u[i];
    const r = i < n - 1 ? u[i + 1] : u[i];
    next[i] = u[i] + kappa * (l - 2 * u[i] + r);
  }
}

/** Σ w_i u_i². @kernel */
export function energy(u: Float64Array, w: Float64Array, n: i32): f64 {
  let s = 0;
  for (let i = 0; i < n; i++) s += w[i] * u[i] * u[i];
  return s;
}

/**
 * The energy after T steps, as a function of the initial state u and the diffusivity κ.
 * @layer
 * @nodiff w
 */
export function heat(u: Float64Array, w: Float64Array, kappa: f64, n: i32, T: i32): f64 {
  const tmp = new Float64Array(n);
  let a: Float64Array = u;
  let b: Float64Array = tmp;
  // @checkpoint slots=10
  for (let t = 0; t < T; t++) {
    heatStep(b, a, kappa, n);
    [a, b] = [b, a];
  }
  u.set(a);
  return energy(u, w, n);
}
