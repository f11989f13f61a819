/**
 * parad/testing: numeric checks of generated derivative modules (docs/testing.md).
 *
 * - `checkTangent(mod, 'K', args)`: K_d against central finite differences of K along random
 *   directions, on the whole output state (every active array) and the returned float.
 * - `checkAdjoint(mod, 'K', args)`: the dot-product test <K_d·ẋ, ȳ> = <ẋ, K_b·ȳ> in the
 *   state-transformer view (adjoints of the arrays at exit on entry of K_b, at entry on return),
 *   in total and per active input, and that K_d and K_b leave the primal arrays exactly as K does.
 * - `checkAssumptions(mod, 'K', args)`: the `// @parallel exclusive-read(…)` pragmas hold on these
 *   arguments (no element of an assumed array is read by two iterations of the nest); `checkAdjoint`
 *   checks them too, since the parallel adjoint of such a nest writes without synchronization.
 * - `makeArgs(mod, 'K', { sizes })`: random inputs built from the kernel's signature.
 *
 * `args` is an object keyed by parameter name, or a `makeArgs` recipe (`{ sizes: {...} }`). The
 * checks never change the caller's arrays, use a seeded PRNG, and return a `CheckResult`.
 */
import type { KernelMeta } from '../runtime/index.js';
import {
  cloneArgs,
  fail,
  isActiveArray,
  isActiveScalar,
  isRecipe,
  kernelMeta,
  makeArgs,
  prng,
  validateArgs,
  type Args,
  type ArgsInput,
  type DerivativeModule,
  type FloatArray,
} from './args.js';

export {
  makeArgs,
  prng,
  type ArgValue,
  type Args,
  type ArgsInput,
  type DerivativeModule,
  type FloatArray,
  type IndexArray,
  type MakeArgsOptions,
} from './args.js';

/** Two iterations of a nest with `exclusive-read(…)` that read the same element of an assumed array. */
export interface AssumptionViolation {
  /** the nest's line in the kernel file */
  line: number;
  array: string;
  element: number;
  /** the two iterations, as their loop variables' values joined by ',' */
  iterations: [string, string];
}

export interface AssumptionResult {
  ok: boolean;
  kernel: string;
  /** what the kernel assumes: per nest (line), the arrays whose reads are exclusive by pragma */
  assumptions: { line: number; arrays: string[] }[];
  violations: AssumptionViolation[];
  message: string;
}

const describeViolation = (kernel: string, v: AssumptionViolation) =>
  `iterations ${v.iterations[0]} and ${v.iterations[1]} of the nest at line ${v.line} both read ${v.array}[${v.element}], but ${kernel} declares its reads of ${v.array} exclusive (exclusive-read pragma): its parallel adjoint would race`;

export interface CheckOptions {
  /** PRNG seed for the random directions and adjoint seeds (default 1). */
  seed?: number;
  /** Number of random directions tried (default 2). */
  trials?: number;
  /** Largest relative error accepted (default 1e-6 for the tangent check, 1e-10 for the adjoint check). */
  tolerance?: number;
  /** Finite-difference step, relative to the largest active input (at least 1): x ± h·max(1, |x|∞)·ẋ (default 1e-6; in float32, ∛u ≈ 4.9e-3). */
  h?: number;
  /**
   * Run in double precision (default true): Float32Array arguments are copied into Float64Arrays,
   * and every Float32Array the module allocates while it runs (a layer's scratch, a partner) is a
   * Float64Array. `false` runs a 32-bit kernel in float32, with the step and tolerances of its
   * precision (docs/testing.md).
   */
  f64?: boolean;
}

/** Unit roundoff of float32 (2^-23) and float64 (2^-52). */
const UNIT_ROUNDOFF = { f32: 2 ** -23, f64: 2 ** -52 } as const;

/**
 * The defaults for a precision. float64: h = 1e-6, tolerances 1e-6 (tangent) and 1e-10 (adjoint).
 * float32 (u = 2^-23): the central-difference step that balances truncation (h²) against rounding
 * (u/h), h = ∛u ≈ 4.9e-3; the tangent tolerance 2^6·u^(2/3) ≈ 1.6e-3 (64 times that balanced error);
 * the adjoint tolerance 2^10·u ≈ 1.2e-4 (rounding of the float32 partners over a dot product).
 */
export function checkDefaults(precision: 'f32' | 'f64'): { h: number; tangent: number; adjoint: number } {
  if (precision === 'f64') return { h: 1e-6, tangent: 1e-6, adjoint: 1e-10 };
  const u = UNIT_ROUNDOFF.f32;
  return { h: Math.cbrt(u), tangent: 2 ** 6 * u ** (2 / 3), adjoint: 2 ** 10 * u };
}

/**
 * Runs `f` with the global Float32Array replaced by Float64Array, so that what a module allocates
 * while it runs (`new Float32Array(n)` in a layer, its partners) is 64-bit like the promoted
 * arguments. The checks call modules synchronously: nothing else runs in between.
 */
function promoting<T>(on: boolean, f: () => T): T {
  if (!on) return f();
  const g = globalThis as { Float32Array: unknown };
  const saved = g.Float32Array;
  g.Float32Array = Float64Array;
  try {
    return f();
  } finally {
    g.Float32Array = saved;
  }
}

export interface CheckResult {
  ok: boolean;
  check: 'tangent' | 'adjoint';
  kernel: string;
  /** Largest relative error seen (the value compared with `tolerance`; Infinity for a broken contract). */
  relError: number;
  /** Largest absolute error seen. */
  maxError: number;
  tolerance: number;
  /**
   * Where `relError` was seen: an output element (`y[3]`), `return`, the adjoint of one input
   * (`adjoint of x`), `dot product` (all inputs at once), or a contract violation (`y[2] after K_b`).
   */
  where: string;
  /** The numbers behind `where`. */
  detail: string;
  /** One-line summary, as shown by the vitest matchers. */
  message: string;
  seed: number;
  trials: number;
}

type Fn = (...args: unknown[]) => unknown;

/** A broken contract found during a trial (wrong primal state, wrong return shape). */
class ContractViolation extends Error {
  constructor(
    readonly where: string,
    readonly detail: string,
  ) {
    super(`${where}: ${detail}`);
  }
}

const sameValue = (a: number, b: number) => Object.is(a, b) || Math.abs(a - b) <= 1e-12 * (1 + Math.abs(a));

/** Calls K, K_d and K_b of one kernel with arguments keyed by name, checking what they return. */
class Harness {
  readonly meta: KernelMeta;
  private readonly primalFn: Fn;

  /** `promote`: the module runs with its Float32Array allocations promoted (see `promoting`). */
  constructor(
    private readonly mod: DerivativeModule,
    readonly kernel: string,
    private readonly promote = false,
  ) {
    this.meta = kernelMeta(mod, kernel);
    this.primalFn = this.fn(kernel);
  }

  /** The export `name` (the primal, or the derivative of `mode`). */
  private fn(name: string, mode?: 'd' | 'b'): Fn {
    const f = this.mod[name];
    if (typeof f === 'function') return (...args: unknown[]) => promoting(this.promote, () => (f as Fn)(...args));
    const hint =
      mode && !this.meta.modes.includes(mode) ? ` (it was generated with modes: ${this.meta.modes.join(',')})` : '';
    return fail(`the module does not export ${name}${hint}`);
  }

  get returnsFloat(): boolean {
    return this.meta.returns !== 'void';
  }

  /** Runs K in place; returns its value (undefined for a void kernel). */
  primal(args: Args): number | undefined {
    const r = this.primalFn(...this.meta.params.map((p) => args[p.name]));
    return this.returnsFloat ? (r as number) : undefined;
  }

  /** Runs K_d in place (`dirs` holds the tangents); returns the tangent of the returned value. */
  tangent(args: Args, dirs: Args, expectedValue: number | undefined): number | undefined {
    const list: unknown[] = [];
    for (const p of this.meta.params) {
      list.push(args[p.name]);
      if (p.active) list.push(dirs[p.name]);
    }
    const name = `${this.kernel}_d`;
    const r = this.fn(name, 'd')(...list);
    if (!this.returnsFloat) return undefined;
    if (!Array.isArray(r) || r.length !== 2 || typeof r[0] !== 'number' || typeof r[1] !== 'number') {
      throw new ContractViolation('return', `${name} must return [value, valueDot], got ${describe(r)}`);
    }
    if (!sameValue(expectedValue!, r[0]))
      throw new ContractViolation(
        'return',
        `${name} returned the value ${r[0]}, ${this.kernel} returns ${expectedValue}`,
      );
    return r[1];
  }

  /** Runs K_b in place (`bars` holds the array adjoints); returns the adjoints of the active scalars by name. */
  adjoint(args: Args, bars: Args, returnBar: number): Map<string, number> {
    const list: unknown[] = [];
    for (const p of this.meta.params) {
      list.push(args[p.name]);
      if (isActiveArray(p)) list.push(bars[p.name]);
    }
    if (this.returnsFloat) list.push(returnBar);
    const name = `${this.kernel}_b`;
    const r = this.fn(name, 'b')(...list) as Record<string, unknown> | undefined;
    const out = new Map<string, number>();
    for (const p of this.meta.params.filter(isActiveScalar)) {
      const v = r?.[`${p.name}b`];
      if (typeof v !== 'number')
        throw new ContractViolation(
          `adjoint of ${p.name}`,
          `${name} must return { ${p.name}b: number, … }, got ${describe(r)}`,
        );
      out.set(p.name, v);
    }
    return out;
  }

  /** Runs the kernel's replay (if it assumes exclusive reads) on `args`: every element two iterations of one nest read. */
  assumptionViolations(args: Args, limit = Infinity): AssumptionViolation[] {
    const replay = this.meta.replay as Fn | undefined;
    if (!replay) return [];
    const out: AssumptionViolation[] = [];
    // `array[element]` → the first iteration that read it in this run of the nest
    const seen = new Map<string, string>();
    const report = (line: number, iteration: string, array: string, element: number): number => {
      if (iteration === '') {
        // a new run of a nest (e.g. the next time step): reads only conflict within one run
        seen.clear();
        return element;
      }
      const key = `${array}[${element}]`;
      const first = seen.get(key);
      if (first === undefined) seen.set(key, iteration);
      else if (
        first !== iteration &&
        out.length < limit &&
        !out.some((v) => v.line === line && v.array === array && v.element === element)
      ) {
        out.push({ line, array, element, iterations: [first, iteration] });
      }
      return element;
    };
    promoting(this.promote, () => replay(...this.meta.params.map((p) => args[p.name]), report));
    return out;
  }

  /** Throws if `actual`'s arrays differ from `expected`'s (the state K leaves). */
  samePrimalState(expected: Args, actual: Args, by: string): void {
    for (const p of this.meta.params) {
      if (p.kind !== 'array') continue;
      const e = expected[p.name] as FloatArray,
        a = actual[p.name] as FloatArray;
      for (let i = 0; i < e.length; i++) {
        if (!sameValue(e[i], a[i]))
          throw new ContractViolation(
            `${p.name}[${i}] after ${by}`,
            `${by} leaves ${a[i]}, ${this.kernel} leaves ${e[i]} (both must leave ${this.kernel}'s outputs in the primal arrays)`,
          );
      }
    }
  }
}

function describe(v: unknown): string {
  if (v === undefined) return 'undefined';
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

/** Tracks the worst error over all comparisons of a check. */
class Worst {
  relError = 0;
  maxError = 0;
  where = '';
  detail = '';

  constructor(private readonly tolerance: number) {}

  /**
   * `scale` is what the absolute error is relative to (0 when both sides are exactly 0). A
   * `summary` comparison (one that mixes several locations) never replaces a failing one that
   * names a single location, so that `where` stays as specific as possible.
   */
  add(where: string, absError: number, scale: number, detail: () => string, summary = false): void {
    const abs = Number.isNaN(absError) ? Infinity : absError;
    const rel = abs === 0 ? 0 : scale > 0 ? abs / scale : Infinity;
    this.maxError = Math.max(this.maxError, abs);
    if (summary && this.relError > this.tolerance) return;
    if (rel > this.relError || !this.where) Object.assign(this, { relError: rel, where, detail: detail() });
  }
}

interface Setup {
  harness: Harness;
  /** A private copy of the arguments (promoted to f64 unless opts.f64 is false). */
  args: Args;
  f64: boolean;
  /** The precision the module runs in: f32 when f64 is false and a parameter is Float32Array or f32. */
  precision: 'f32' | 'f64';
  rnd: () => number;
  seed: number;
  trials: number;
}

function setup(mod: DerivativeModule, kernel: string, input: ArgsInput, opts: CheckOptions): Setup {
  const f64 = opts.f64 ?? true;
  const harness = new Harness(mod, kernel, f64);
  const given = isRecipe(input) ? makeArgs(mod, kernel, input) : input;
  validateArgs(harness.meta, given);
  const precision =
    !f64 && harness.meta.params.some((p) => p.type === 'Float32Array' || p.type === 'f32') ? 'f32' : 'f64';
  const seed = opts.seed ?? 1;
  const trials = opts.trials ?? 2;
  if (!(Number.isInteger(trials) && trials >= 1)) fail(`trials must be a positive integer, got ${trials}`);
  return { harness, args: cloneArgs(given, f64), f64, precision, rnd: prng(seed), seed, trials };
}

/** An array like `like` (same type, so f32 runs keep f32 partners) with values from `value`. */
const arrayLike = (like: FloatArray, value: () => number): FloatArray => {
  const out = new (like.constructor as new (n: number) => FloatArray)(like.length);
  for (let i = 0; i < out.length; i++) out[i] = value();
  return out;
};
const centered = (rnd: () => number) => () => rnd() - 0.5;

/** Random tangent directions in [-0.5, 0.5) for every active parameter. */
function randomDirections(s: Setup): Args {
  const dirs: Args = {};
  for (const p of s.harness.meta.params) {
    if (!p.active) continue;
    const v = s.args[p.name];
    dirs[p.name] = typeof v === 'number' ? s.rnd() - 0.5 : arrayLike(v as FloatArray, centered(s.rnd));
  }
  return dirs;
}

function finish(s: Setup, check: CheckResult['check'], tolerance: number, w: Worst | ContractViolation): CheckResult {
  const r =
    w instanceof ContractViolation
      ? { relError: Infinity, maxError: Infinity, where: w.where, detail: w.detail }
      : {
          relError: w.relError,
          maxError: w.maxError,
          where: w.where || 'nowhere (no active outputs)',
          detail: w.detail,
        };
  const ok = r.relError <= tolerance;
  const kernel = s.harness.kernel;
  const err = `relative error ${r.relError.toExponential(2)}`,
    tol = tolerance.toExponential();
  const message = ok
    ? `${check} check of ${kernel} passed: ${err} ≤ ${tol} (largest at ${r.where})`
    : `${check} check of ${kernel} failed at ${r.where}: ${r.detail} (${w instanceof ContractViolation ? 'contract violation' : `${err} > ${tol}`}; seed ${s.seed})`;
  return { ok, check, kernel, ...r, tolerance, message, seed: s.seed, trials: s.trials };
}

/** Runs `trial` `s.trials` times; a contract violation ends the check. */
function runTrials(s: Setup, check: CheckResult['check'], tolerance: number, trial: (w: Worst) => void): CheckResult {
  const worst = new Worst(tolerance);
  try {
    // the parallel adjoint is only right where the nest's assumed exclusive reads hold
    const [violation] = check === 'adjoint' ? s.harness.assumptionViolations(cloneArgs(s.args, false), 1) : [];
    if (violation)
      throw new ContractViolation(
        `exclusive-read at line ${violation.line}`,
        describeViolation(s.harness.kernel, violation),
      );
    for (let t = 0; t < s.trials; t++) trial(worst);
  } catch (e) {
    if (e instanceof ContractViolation) return finish(s, check, tolerance, e);
    throw e;
  }
  return finish(s, check, tolerance, worst);
}

/**
 * K_d against central finite differences of K: for random directions ẋ of all active inputs,
 * (K(x + ε·ẋ) − K(x − ε·ẋ)) / 2ε is compared with K_d's tangent on every element of every active
 * array and on the returned float. Errors are relative to the largest derivative (at least 1e-3).
 * Also checks that K_d leaves K's outputs in the primal arrays and returns K's value.
 */
export function checkTangent(
  mod: DerivativeModule,
  kernel: string,
  args: ArgsInput,
  opts: CheckOptions = {},
): CheckResult {
  const s = setup(mod, kernel, args, opts);
  const { harness } = s;
  const params = harness.meta.params;
  const active = params.filter((p) => p.active);
  let largestInput = 1;
  for (const p of active) {
    const v = s.args[p.name];
    for (const x of typeof v === 'number' ? [v] : v) largestInput = Math.max(largestInput, Math.abs(x));
  }
  const defaults = checkDefaults(s.precision);
  const eps = (opts.h ?? defaults.h) * largestInput;

  return runTrials(s, 'tangent', opts.tolerance ?? defaults.tangent, (worst) => {
    const dirs = randomDirections(s);
    const plus = cloneArgs(s.args, false),
      minus = cloneArgs(s.args, false);
    for (const p of active) {
      const d = dirs[p.name];
      if (typeof d === 'number') {
        plus[p.name] = (plus[p.name] as number) + eps * d;
        minus[p.name] = (minus[p.name] as number) - eps * d;
      } else {
        const a = plus[p.name] as FloatArray,
          b = minus[p.name] as FloatArray;
        for (let i = 0; i < d.length; i++) {
          a[i] += eps * d[i];
          b[i] -= eps * d[i];
        }
        // a float32 array stores x ± εẋ rounded: the direction is the step actually taken
        if (a instanceof Float32Array) for (let i = 0; i < d.length; i++) d[i] = (a[i] - b[i]) / (2 * eps);
      }
    }

    const ref = cloneArgs(s.args, false);
    const value = harness.primal(ref);
    const state = cloneArgs(s.args, false),
      tangents = cloneArgs(dirs, false);
    const valueDot = harness.tangent(state, tangents, value);
    harness.samePrimalState(ref, state, `${kernel}_d`);

    const vPlus = harness.primal(plus),
      vMinus = harness.primal(minus);

    const pairs: { where: string; fd: number; t: number }[] = [];
    for (const p of params.filter(isActiveArray)) {
      const a = plus[p.name] as FloatArray,
        b = minus[p.name] as FloatArray,
        t = tangents[p.name] as FloatArray;
      for (let i = 0; i < a.length; i++)
        pairs.push({ where: `${p.name}[${i}]`, fd: (a[i] - b[i]) / (2 * eps), t: t[i] });
    }
    if (harness.returnsFloat) pairs.push({ where: 'return', fd: (vPlus! - vMinus!) / (2 * eps), t: valueDot! });
    let scale = 1e-3;
    for (const { fd, t } of pairs) scale = Math.max(scale, Math.abs(fd), Number.isFinite(t) ? Math.abs(t) : 0);
    for (const { where, fd, t } of pairs)
      worst.add(where, Math.abs(fd - t), scale, () => `tangent ${t}, finite differences ${fd}`);
  });
}

/**
 * The dot-product test of K_b against K_d: with random directions ẋ for the active inputs and
 * random adjoints ȳ for every active array (and the returned float),
 * Σ_arrays <ẋ_out, ȳ> + valueDot·ȳ_return = Σ_arrays <ẋ_in, x̄> + Σ_scalars ẋ_s·s̄,
 * where ẋ_out is K_d's tangent state and x̄, s̄ what K_b leaves and returns. Tested per active
 * input (which localizes a wrong adjoint: `where` is `adjoint of x`) and for all inputs at once.
 * Also checks that K_d and K_b leave K's outputs in the primal arrays.
 */
export function checkAdjoint(
  mod: DerivativeModule,
  kernel: string,
  args: ArgsInput,
  opts: CheckOptions = {},
): CheckResult {
  const s = setup(mod, kernel, args, opts);
  const { harness } = s;
  const params = harness.meta.params;
  const arrays = params.filter(isActiveArray);

  return runTrials(s, 'adjoint', opts.tolerance ?? checkDefaults(s.precision).adjoint, (worst) => {
    const dirs = randomDirections(s);
    const bars: Args = {};
    for (const p of arrays) bars[p.name] = arrayLike(s.args[p.name] as FloatArray, centered(s.rnd));
    const returnBar = harness.returnsFloat ? s.rnd() - 0.5 : 0;

    const ref = cloneArgs(s.args, false);
    const value = harness.primal(ref);

    // <K_d·ẋ, ȳ>, for the directions `d`
    const tangentSide = (d: Args): { sum: number; mag: number } => {
      const state = cloneArgs(s.args, false),
        tangents = cloneArgs(d, false);
      const valueDot = harness.tangent(state, tangents, value);
      harness.samePrimalState(ref, state, `${kernel}_d`);
      let sum = 0,
        mag = 0;
      for (const p of arrays) {
        const t = tangents[p.name] as FloatArray,
          y = bars[p.name] as FloatArray;
        for (let i = 0; i < t.length; i++) {
          sum += t[i] * y[i];
          mag += Math.abs(t[i] * y[i]);
        }
      }
      if (harness.returnsFloat) {
        sum += valueDot! * returnBar;
        mag += Math.abs(valueDot! * returnBar);
      }
      return { sum, mag };
    };

    const state = cloneArgs(s.args, false),
      adjoints = cloneArgs(bars, false);
    const scalarBars = harness.adjoint(state, adjoints, returnBar);
    harness.samePrimalState(ref, state, `${kernel}_b`);

    // <ẋ_p, x̄_p> for one active input p
    const adjointSide = (name: string): { sum: number; mag: number } => {
      const d = dirs[name];
      if (typeof d === 'number') {
        const g = scalarBars.get(name)!;
        return { sum: d * g, mag: Math.abs(d * g) };
      }
      const a = adjoints[name] as FloatArray;
      let sum = 0,
        mag = 0;
      for (let i = 0; i < d.length; i++) {
        sum += d[i] * a[i];
        mag += Math.abs(d[i] * a[i]);
      }
      return { sum, mag };
    };

    const compare = (
      where: string,
      lhs: { sum: number; mag: number },
      rhs: { sum: number; mag: number },
      summary = false,
    ) => {
      const scale = Math.max(Math.abs(lhs.sum), Math.abs(rhs.sum), 1e-3 * (lhs.mag + rhs.mag));
      worst.add(
        where,
        Math.abs(lhs.sum - rhs.sum),
        scale,
        () => `<K_d·ẋ, ȳ> = ${lhs.sum}, <ẋ, K_b·ȳ> = ${rhs.sum}`,
        summary,
      );
    };

    const total = { lhs: { sum: 0, mag: 0 }, rhs: { sum: 0, mag: 0 } };
    for (const p of params.filter((q) => q.active)) {
      const only: Args = {};
      for (const q of params.filter((r) => r.active)) {
        const d = dirs[q.name];
        only[q.name] = q.name === p.name ? d : typeof d === 'number' ? 0 : arrayLike(d as FloatArray, () => 0);
      }
      const lhs = tangentSide(only),
        rhs = adjointSide(p.name);
      compare(`adjoint of ${p.name}`, lhs, rhs);
      total.rhs.sum += rhs.sum;
      total.rhs.mag += rhs.mag;
    }
    if (params.some((p) => p.active)) {
      total.lhs = tangentSide(dirs);
      compare('dot product', total.lhs, total.rhs, true);
    }
  });
}

/**
 * Do the kernel's `// @parallel exclusive-read(…)` pragmas hold for these arguments? Runs the kernel
 * (on a copy of the arguments) with every read of an assumed array reported, and lists each element
 * two iterations of one run of the nest read. A kernel without such pragmas passes trivially.
 */
export function checkAssumptions(mod: DerivativeModule, kernel: string, args: ArgsInput): AssumptionResult {
  const harness = new Harness(mod, kernel, true);
  const given = isRecipe(args) ? makeArgs(mod, kernel, args) : args;
  validateArgs(harness.meta, given);
  const assumptions = harness.meta.assumptions ?? [];
  const violations = harness.assumptionViolations(cloneArgs(given, false));
  const what = assumptions.map((a) => `${a.arrays.join(', ')} at line ${a.line}`).join('; ') || 'nothing';
  const message = violations.length
    ? `${violations.length} read${violations.length === 1 ? '' : 's'} of ${kernel} break${violations.length === 1 ? 's' : ''} its exclusive-read assumptions; first: ${describeViolation(kernel, violations[0])}`
    : `the exclusive-read assumptions of ${kernel} (${what}) hold for these arguments`;
  return { ok: violations.length === 0, kernel, assumptions, violations, message };
}
