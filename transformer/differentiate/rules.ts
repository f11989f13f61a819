/**
 * The derivative rule registry: one entry per operator of the kernel language (ir/ops.ts), typed
 * `{ [Op in OpName]: Rule<Op> }` so that the type checker is the coverage test.
 *
 * Each entry gives the partial derivatives of the result w.r.t. each argument (the local Jacobian).
 * The tangent is Σ ∂r/∂xᵢ · ẋᵢ and the adjoint is its transpose x̄ᵢ += ∂r/∂xᵢ · r̄, both built by
 * differentiate/linearize.ts from this one table, so adding an operator is one line in ir/ops.ts
 * (its arity, whether it is piecewise constant) and one entry here. `wgsl` is the operator's lowering for the WGSL backend (JS semantics where the two differ).
 *
 * Conventions at non-smooth points (docs/kernel-language.md): abs'(0) = 0; sign, floor, ceil,
 * round, trunc and % have derivative 0; min picks its first argument on ties (a <= b), max too
 * (a >= b); ∂pow(a,b)/∂b = 0 for a <= 0 and ∂pow(a,b)/∂a = 0 for b = 0; hypot'(0,0) = (0,0);
 * fround has derivative 1. `a ** b` is lowered to Math.pow(a, b) (parse/lower.ts), so it shares this rule
 * and its WGSL lowering.
 */
import type { Expr } from '../ir/types.js';
import type { Arity, ConstantOp, MathFunction, OpInfo, OpName } from '../ir/ops.js';
import { OPS } from '../ir/ops.js';
import { add, sub, mul, div, neg, num, call, cond, bin, ONE } from '../ir/build.js';

/** `n` values, one per argument of an operator of arity `n`. */
export type Args<N extends 1 | 2, T> = N extends 1 ? [T] : [T, T];

/** The rule of a differentiable operator of arity `N`. */
export interface SmoothRule<N extends 1 | 2> {
  /** Local partials ∂r/∂xᵢ given argument values `x` and the result value `r`; null = 0. */
  partials: (x: Args<N, Expr>, r: Expr) => Args<N, Expr | null>;
  /** The partials read the result value (it is then computed once into a temporary). */
  usesResult?: boolean;
  /** The partials read the argument values (they are then needed by the adjoint). */
  usesArgs?: boolean;
  /** WGSL lowering of the primal operation. */
  wgsl: (x: Args<N, string>) => string;
}

/** The rule of a piecewise-constant operator (ir/ops.ts): no partials, its result is never active. */
export interface ConstantRule<N extends 1 | 2> {
  /** WGSL lowering of the primal operation. */
  wgsl: (x: Args<N, string>) => string;
}

/** The rule of `Op`: its shape (arity, partials or none) follows the operator table. */
export type Rule<Op extends OpName> = Op extends ConstantOp ? ConstantRule<Arity<Op>> : SmoothRule<Arity<Op>>;

/** A rule seen without its operator (arity and constancy as values), as the linearizer and the WGSL printer apply it. */
export interface AnyRule {
  arity: 1 | 2;
  /** Derivative is zero everywhere (where defined): the result is never active. */
  zero: boolean;
  partials?: (x: Expr[], r: Expr) => (Expr | null)[];
  usesResult?: boolean;
  usesArgs?: boolean;
  wgsl: (x: string[]) => string;
}

const sq = (e: Expr): Expr => mul(e, e);
type Suffix<F> = F extends `Math.${infer Name}` ? Name : never;
const M = (fn: Suffix<MathFunction>, ...a: Expr[]): Expr => call(`Math.${fn}`, ...a);
const unary = (
  partial: (x: Expr, r: Expr) => Expr,
  wgsl: (x: string) => string,
  uses: { args?: boolean; result?: boolean },
): SmoothRule<1> => ({
  partials: ([x], r) => [partial(x, r)],
  usesArgs: uses.args,
  usesResult: uses.result,
  wgsl: ([x]) => wgsl(x),
});

/**
 * The registry, one entry per operator of ir/ops.ts: the mapped type makes a missing operator, an
 * extra one, partials on a constant operator or a wrong arity a compile error.
 */
export const RULES: { [Op in OpName]: Rule<Op> } = {
  // ---- arithmetic ----
  '+': { partials: () => [ONE, ONE], wgsl: ([a, b]) => `(${a} + ${b})` },
  '-': { partials: () => [ONE, num(-1)], wgsl: ([a, b]) => `(${a} - ${b})` },
  '*': { partials: ([a, b]) => [b, a], usesArgs: true, wgsl: ([a, b]) => `(${a} * ${b})` },
  '/': {
    partials: ([, b], r) => [div(ONE, b), neg(div(r, b))],
    usesArgs: true,
    usesResult: true,
    wgsl: ([a, b]) => `(${a} / ${b})`,
  },
  neg: { partials: () => [num(-1)], wgsl: ([a]) => `(-${a})` },
  '%': { wgsl: ([a, b]) => `(${a} % ${b})` },

  // ---- Math ----
  'Math.sin': unary(
    (x) => M('cos', x),
    (x) => `sin(${x})`,
    { args: true },
  ),
  'Math.cos': unary(
    (x) => neg(M('sin', x)),
    (x) => `cos(${x})`,
    { args: true },
  ),
  'Math.tan': unary(
    (_x, r) => add(ONE, sq(r)),
    (x) => `tan(${x})`,
    { result: true },
  ),
  'Math.asin': unary(
    (x) => div(ONE, M('sqrt', sub(ONE, sq(x)))),
    (x) => `asin(${x})`,
    { args: true },
  ),
  'Math.acos': unary(
    (x) => neg(div(ONE, M('sqrt', sub(ONE, sq(x))))),
    (x) => `acos(${x})`,
    { args: true },
  ),
  'Math.atan': unary(
    (x) => div(ONE, add(ONE, sq(x))),
    (x) => `atan(${x})`,
    { args: true },
  ),
  'Math.sinh': unary(
    (x) => M('cosh', x),
    (x) => `sinh(${x})`,
    { args: true },
  ),
  'Math.cosh': unary(
    (x) => M('sinh', x),
    (x) => `cosh(${x})`,
    { args: true },
  ),
  'Math.tanh': unary(
    (_x, r) => sub(ONE, sq(r)),
    // WGSL's tanh may be sinh/cosh (its accuracy is theirs): Inf/Inf = NaN past |x| ≈ 89; in f32,
    // tanh of |x| >= 10 is ±1 exactly, so the clamp changes no result
    (x) => `tanh(clamp(${x}, -10.0, 10.0))`,
    { result: true },
  ),
  'Math.exp': unary(
    (_x, r) => r,
    (x) => `exp(${x})`,
    { result: true },
  ),
  'Math.expm1': unary(
    (_x, r) => add(r, ONE),
    (x) => `(exp(${x}) - 1.0)`,
    { result: true },
  ),
  'Math.log': unary(
    (x) => div(ONE, x),
    (x) => `log(${x})`,
    { args: true },
  ),
  'Math.log1p': unary(
    (x) => div(ONE, add(ONE, x)),
    (x) => `log(1.0 + ${x})`,
    { args: true },
  ),
  'Math.log2': unary(
    (x) => div(ONE, mul(x, { k: 'num', value: Math.LN2, text: 'Math.LN2' })),
    (x) => `log2(${x})`,
    { args: true },
  ),
  'Math.log10': unary(
    (x) => div(ONE, mul(x, { k: 'num', value: Math.LN10, text: 'Math.LN10' })),
    (x) => `(log(${x}) * 0.4342944819032518)`,
    { args: true },
  ),
  'Math.sqrt': unary(
    (_x, r) => div(num(0.5), r),
    (x) => `sqrt(${x})`,
    { result: true },
  ),
  'Math.cbrt': unary(
    (_x, r) => div(ONE, mul(num(3), sq(r))),
    (x) => `(sign(${x}) * pow(abs(${x}), 1.0 / 3.0))`,
    { result: true },
  ),
  'Math.abs': unary(
    (x) => M('sign', x),
    (x) => `abs(${x})`,
    { args: true },
  ),
  'Math.fround': unary(
    () => ONE,
    (x) => `${x}`,
    {},
  ),
  'Math.sign': { wgsl: ([x]) => `sign(${x})` },
  'Math.floor': { wgsl: ([x]) => `floor(${x})` },
  'Math.ceil': { wgsl: ([x]) => `ceil(${x})` },
  'Math.round': { wgsl: ([x]) => `floor(${x} + 0.5)` },
  'Math.trunc': { wgsl: ([x]) => `trunc(${x})` },
  'Math.atan2': {
    usesArgs: true,
    // r = atan2(y, x): ∂r/∂y = x / (x² + y²), ∂r/∂x = -y / (x² + y²)
    partials: ([y, x]) => [div(x, add(sq(x), sq(y))), neg(div(y, add(sq(x), sq(y))))],
    // atan2(0, 0) is 0 in JavaScript, undefined in WGSL
    wgsl: ([y, x]) => `select(atan2(${y}, ${x}), 0.0, ${y} == 0.0 && ${x} == 0.0)`,
  },
  'Math.pow': {
    usesArgs: true,
    usesResult: true,
    // ∂/∂a = b·a^(b-1) (0 when b = 0), ∂/∂b = r·ln a (0 when a <= 0); for a constant b (`x ** 2`)
    // the builders fold the condition and b - 1
    partials: ([a, b], r) => [
      cond(bin('===', b, num(0)), num(0), mul(b, M('pow', a, sub(b, ONE)))),
      cond(bin('>', a, num(0)), mul(r, M('log', a)), num(0)),
    ],
    // WGSL's pow is exp2(b·log2 a): JavaScript's sign for negative bases with integer exponents, x⁰ = 1;
    // pow of |a| only (a constant base: Tint evaluates both arms, and pow of a negative is an error there)
    wgsl: ([a, b]) =>
      `select(select(1.0, select(1.0, -1.0, fract(${b} * 0.5) != 0.0), ${a} < 0.0) * pow(abs(${a}), ${b}), 1.0, ${b} == 0.0)`,
  },
  'Math.hypot': {
    usesArgs: true,
    usesResult: true,
    partials: ([a, b], r) => [
      cond(bin('===', r, num(0)), num(0), div(a, r)),
      cond(bin('===', r, num(0)), num(0), div(b, r)),
    ],
    wgsl: ([a, b]) => `length(vec2<f32>(${a}, ${b}))`,
  },
  'Math.min': {
    usesArgs: true,
    partials: ([a, b]) => [cond(bin('<=', a, b), ONE, num(0)), cond(bin('<=', a, b), num(0), ONE)],
    wgsl: ([a, b]) => `min(${a}, ${b})`,
  },
  'Math.max': {
    usesArgs: true,
    partials: ([a, b]) => [cond(bin('>=', a, b), ONE, num(0)), cond(bin('>=', a, b), num(0), ONE)],
    wgsl: ([a, b]) => `max(${a}, ${b})`,
  },
};

// the registry with arity and constancy as values (a rule's tuples are arrays of its operator's
// arity: the registry's type checks it)
const VIEWS = Object.fromEntries(
  (Object.keys(OPS) as OpName[]).map((op) => {
    const info: OpInfo = OPS[op];
    return [op, { ...(RULES[op] as Omit<AnyRule, 'arity' | 'zero'>), arity: info.arity, zero: info.constant === true }];
  }),
) as Record<OpName, AnyRule>;

/** The rule of `op`, with its arity and constancy from the operator table. */
export const ruleFor = (op: OpName): AnyRule => VIEWS[op];

export { MATH_FUNCTIONS, MATH_CONSTANTS, isMathFunction } from '../ir/ops.js';
