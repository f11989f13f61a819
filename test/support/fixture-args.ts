import type { FixtureSpec } from '../../fixtures/specs.js';

/** Deterministic inputs for a spec: float arrays in f64 (also for f32 kernels), in [0.2, 1.2). */
export function argsFor(
  spec: FixtureSpec,
  params: { name: string; kind: string; type: string }[],
): Record<string, Float64Array | Int32Array | Uint32Array | number> {
  let seed = 1234567;
  const rnd = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  const args: Record<string, Float64Array | Int32Array | Uint32Array | number> = {};
  for (const p of params) {
    const size = spec.sizes[p.name];
    if (p.kind === 'array') {
      if (p.type === 'Int32Array' || p.type === 'Uint32Array') {
        const ints = spec.ints?.[p.name];
        if (!ints) throw new Error(`spec ${spec.kernel}: index array '${p.name}' needs explicit ints`);
        args[p.name] = p.type === 'Int32Array' ? Int32Array.from(ints) : Uint32Array.from(ints);
      } else {
        if (size === undefined) throw new Error(`spec ${spec.kernel}: no size for '${p.name}'`);
        args[p.name] = Float64Array.from({ length: size }, () => 0.2 + rnd());
      }
    } else if (p.type === 'f32' || p.type === 'f64') {
      args[p.name] = spec.floats?.[p.name] ?? 0.3 + 0.5 * rnd();
    } else {
      if (size === undefined) throw new Error(`spec ${spec.kernel}: no value for integer '${p.name}'`);
      args[p.name] = size;
    }
  }
  return args;
}
