/**
 * Loop trips of generated JavaScript, for cost bounds as exact counts: every `for (…) {` line of
 * the generated code counts one trip per iteration of its body.
 */
import { loadGenerated, type GeneratedModule } from './load.js';
import { argsFor } from './fixture-args.js';
import type { FixtureSpec } from '../../fixtures/specs.js';

const counter = { n: 0 };
(globalThis as Record<string, unknown>).__paradTrips = counter;

/** The generated module with a trip counter at the top of every loop body. */
export function instrumented(code: string): GeneratedModule {
  const counted = code.replace(/^(\s*for \(.*\) \{)$/gm, '$1 __paradTrips.n++;');
  if (counted === code && /\bfor \(/.test(code)) throw new Error('no loop was instrumented');
  return loadGenerated(counted);
}

/** The loop trips `f` runs. */
export function trips(f: () => unknown): number {
  counter.n = 0;
  f();
  return counter.n;
}

/**
 * Trips of K and of K_b on the spec's inputs (fresh for each), K_b with every active array's adjoint
 * all 1 (and 1 for a returned float); `elements`: the adjoint arrays' total length.
 */
export function tripsOf(
  mod: GeneratedModule,
  spec: FixtureSpec,
): { primal: number; adjoint: number; elements: number } {
  const meta = mod.__parad.kernels[spec.kernel];
  const call = (name: string, list: unknown[]) => (mod[name] as (...a: unknown[]) => unknown)(...list);
  const a = argsFor(spec, meta.params);
  const primal = trips(() =>
    call(
      spec.kernel,
      meta.params.map((p) => a[p.name]),
    ),
  );
  const b = argsFor(spec, meta.params);
  const list: unknown[] = [];
  let elements = 0;
  for (const p of meta.params) {
    list.push(b[p.name]);
    if (!p.active || p.kind !== 'array') continue;
    const length = (b[p.name] as Float64Array).length;
    list.push(new Float64Array(length).fill(1));
    elements += length;
  }
  if (meta.returns !== 'void') list.push(1);
  const adjoint = trips(() => call(`${spec.kernel}_b`, list));
  return { primal, adjoint, elements };
}
