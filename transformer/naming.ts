/**
 * Every generated identifier is chosen here, so the calling contract (Tapenade's `_d`/`_b`
 * suffixes, `d`/`b` partners) lives in one place and never collides with a user's names.
 */
/** A derivative mode, by the suffix it gives names: tangent (`_d`) or adjoint (`_b`). */
export type Mode = 'd' | 'b';

export const tangentName = (kernel: string): string => `${kernel}_d`;
export const adjointName = (kernel: string): string => `${kernel}_b`;
export const META_EXPORT = '__parad';
/** The generated module's WebGPU export (target wgsl). */
export const WGSL_EXPORT = 'wgsl';
/** The host function dispatching a function's WGSL passes. */
export const gpuHostName = (fn: string): string => `${fn}_gpu`;
/** The kernel replayed with its assumed reads reported (module-local, reached through the metadata). */
export const replayName = (kernel: string): string => `${kernel}_reads`;

/**
 * The calling contract of `K_d` and `K_b` (and a layer's `L_d`, `L_b`): a partner right after each
 * active parameter of the primal. The array partners among a derivative's parameters `params`, as
 * `[array, partner]` (`['x', 'xb']`); `primal` is the primal's parameters.
 */
export function arrayPartners(
  primal: readonly { name: string; kind: string; active: boolean }[],
  params: readonly { name: string }[],
): [string, string][] {
  const out: [string, string][] = [];
  for (const p of primal) {
    if (p.kind !== 'array' || !p.active) continue;
    const i = params.findIndex((q) => q.name === p.name);
    const partner = params[i + 1];
    if (i >= 0 && partner && !primal.some((q) => q.name === partner.name)) out.push([p.name, partner.name]);
  }
  return out;
}

export class Names {
  private readonly used: Set<string>;
  private readonly memo = new Map<string, string>();
  private counters = new Map<string, number>();

  constructor(userNames: Iterable<string>) {
    this.used = new Set(userNames);
  }

  private fresh(base: string): string {
    let name = base;
    let i = 0;
    while (this.used.has(name)) name = `${base}${++i}`;
    this.used.add(name);
    return name;
  }

  private derived(key: string, base: string): string {
    let n = this.memo.get(key);
    if (!n) {
      n = this.fresh(base);
      this.memo.set(key, n);
    }
    return n;
  }

  /** Tangent partner of a variable or array: `x` → `xd`. */
  d(name: string): string {
    return this.derived(`d:${name}`, `${name}d`);
  }

  private adjoints = new Set<string>();

  /** Adjoint partner: `x` → `xb`. */
  b(name: string): string {
    const n = this.derived(`b:${name}`, `${name}b`);
    this.adjoints.add(n);
    return n;
  }

  /** Is `name` an adjoint partner created by `b()`? */
  isAdjoint(name: string): boolean {
    return this.adjoints.has(name);
  }

  /** The adjoint of the returned value (last parameter of `K_b`). */
  returnAdjoint(kernel: string): string {
    return this.derived('ret:b', `${kernel}b`);
  }

  /** The tangent of the returned value. */
  returnTangent(kernel: string): string {
    return this.derived('ret:d', `${kernel}d`);
  }

  /** The runtime's `scratch` (reused scratch arrays), imported under this name. */
  scratch(): string {
    return this.derived('runtime:scratch', 'scratch');
  }

  /** The tape object of an adjoint. */
  tape(): string {
    return this.derived('tape', 'tape');
  }

  /** A copy of an array's final values, restored after the reverse sweep. */
  saved(array: string): string {
    return this.derived(`saved:${array}`, `${array}_out`);
  }

  /** Per-iteration copy of an iteration's value `x` for a gather pass: `_x_g`. */
  staged(x: string): string {
    return this.fresh(`_${x}_g`);
  }

  /** Private partial sums of an adjoint for a reduction: `_xb_p`. */
  partials(adjoint: string): string {
    return this.fresh(`_${adjoint}_p`);
  }

  /** The dispatch context parameter of a WGSL host function. */
  gpu(): string {
    return this.derived('gpu', 'gpu');
  }

  /** A WGSL adjoint's storage buffer of the float scalars that live on the device (its scalar adjoints). */
  deviceScalars(): string {
    return this.derived('gpu:scalars', '_sc');
  }

  /** A WGSL pass's storage buffer of tape slots (what each iteration pushes, popped by its reverse). */
  tapeSlots(): string {
    return this.derived('gpu:tape', '_tp');
  }

  /** A WGSL pass's storage buffer of per-iteration tape regions (what an iteration pushes and pops itself). */
  tapeRegions(): string {
    return this.derived('gpu:regions', '_tr');
  }

  /** The callback a replay reports reads to. */
  reportRead(): string {
    return this.derived('read', 'read');
  }

  /** A local holding an element a nest reads and never writes (`_w0` for `w[0]`). */
  invariant(array: string, index: number): string {
    return this.fresh(`_${array}${index}`);
  }

  /** A local summing the updates of one adjoint element across a nest (`_wb0` for `wb[0]`). */
  accumulator(adjoint: string, index: number): string {
    return this.fresh(`_${adjoint}${index}`);
  }

  /**
   * What the forward sweep records about a parallel reduction of `s` for its adjoint: `_s_won`,
   * `_s_at0` (the arg-max/arg-min iteration), `_s_zeros`, `_s_nz` (zero factors, product of the
   * others), `_s_init` (the value before the loop).
   */
  reduction(s: string, what: string): string {
    return this.fresh(`_${s}_${what}`);
  }

  /** A fresh temporary: `_t1`, `_t2`, … (`prefix` distinguishes kinds: t value, s seed). */
  temp(prefix = 't'): string {
    const n = (this.counters.get(prefix) ?? 0) + 1;
    this.counters.set(prefix, n);
    return this.fresh(`_${prefix}${n}`);
  }
}

/** The module-local function holding part `k` of the generated function `fn` (lower/outline.ts). */
export const outlinedName = (fn: string, k: number): string => `_${fn}_${k}`;

/** The state array of a function's outlined parts: `_st`, unless `taken` holds it. */
export function stateArray(taken: Set<string>): string {
  let name = '_st';
  for (let i = 1; taken.has(name); i++) name = `_st${i}`;
  return name;
}
