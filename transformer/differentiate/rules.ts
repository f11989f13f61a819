/**
 * The derivative rule registry: one entry per operator of the kernel language.
 *
 * Each entry gives the partial derivatives of the result w.r.t. each argument (the local Jacobian).
 * The tangent is Σ ∂r/∂xᵢ · ẋᵢ and the adjoint is its transpose x̄ᵢ += ∂r/∂xᵢ · r̄, both built by
 * differentiate/linearize.ts from this one table, so adding an operator is one entry here.
 * `wgsl` is the operator's lowering for the WGSL backend (JS semantics where the two differ).
 *
 * Conventions at non-smooth points (docs/kernel-language.md): abs'(0) = 0; sign, floor, ceil,
 * round, trunc and % have derivative 0; min picks its first argument on ties (a <= b), max too
 * (a >= b); ∂pow(a,b)/∂b = 0 for a <= 0 and ∂pow(a,b)/∂a = 0 for b = 0; hypot'(0,0) = (0,0);
 * fround has derivative 1. `a ** b` is lowered to Math.pow(a, b) (ir/lower.ts), so it shares this rule
 * and its WGSL lowering.
 */
import type { Expr } from '../ir/types.js';
import { add, sub, mul, div, neg, num, call, cond, bin, ONE } from '../ir/build.js';

export interface Rule {
  arity: number;
  /** Derivative is zero everywhere (where defined): the result is never active. */
  zero?: boolean;
  /** Local partials ∂r/∂xᵢ given argument values `x` and the result value `r`; null = 0. */
  partials?: (x: Expr[], r: Expr) => (Expr | null)[];
  /** The partials read the result value (it is then computed once into a temporary). */
  usesResult?: boolean;
  /** The partials read the argument values (they are then needed by the adjoint). */
  usesArgs?: boolean;
  /** WGSL lowering of the primal operation. */
  wgsl: (x: string[]) => string;
}

const sq = (e: Expr): Expr => mul(e, e);
const M = (fn: string, ...a: Expr[]): Expr => call(`Math.${fn}`, ...a);
const unary = (partial: (x: Expr, r: Expr) => Expr, wgsl: (x: string) => string, uses: { args?: boolean; result?: boolean }): Rule => ({
  arity: 1,
  partials: ([x], r) => [partial(x, r)],
  usesArgs: uses.args,
  usesResult: uses.result,
  wgsl: ([x]) => wgsl(x),
});
const zero = (arity: number, wgsl: (x: string[]) => string): Rule => ({ arity, zero: true, wgsl });

export const RULES = {
  // ---- arithmetic ----
  '+': { arity: 2, partials: () => [ONE, ONE], wgsl: ([a, b]) => `(${a} + ${b})` },
  '-': { arity: 2, partials: () => [ONE, num(-1)], wgsl: ([a, b]) => `(${a} - ${b})` },
  '*': { arity: 2, partials: ([a, b]) => [b, a], usesArgs: true, wgsl: ([a, b]) => `(${a} * ${b})` },
  '/': { arity: 2, partials: ([, b], r) => [div(ONE, b), neg(div(r, b))], usesArgs: true, usesResult: true, wgsl: ([a, b]) => `(${a} / ${b})` },
  'neg': { arity: 1, partials: () => [num(-1)], wgsl: ([a]) => `(-${a})` },
  '%': zero(2, ([a, b]) => `(${a} % ${b})`),

  // ---- Math ----
  'Math.sin': unary((x) => M('cos', x), (x) => `sin(${x})`, { args: true }),
  'Math.cos': unary((x) => neg(M('sin', x)), (x) => `cos(${x})`, { args: true }),
  'Math.tan': unary((_x, r) => add(ONE, sq(r)), (x) => `tan(${x})`, { result: true }),
  'Math.asin': unary((x) => div(ONE, M('sqrt', sub(ONE, sq(x)))), (x) => `asin(${x})`, { args: true }),
  'Math.acos': unary((x) => neg(div(ONE, M('sqrt', sub(ONE, sq(x))))), (x) => `acos(${x})`, { args: true }),
  'Math.atan': unary((x) => div(ONE, add(ONE, sq(x))), (x) => `atan(${x})`, { args: true }),
  'Math.sinh': unary((x) => M('cosh', x), (x) => `sinh(${x})`, { args: true }),
  'Math.cosh': unary((x) => M('sinh', x), (x) => `cosh(${x})`, { args: true }),
  'Math.tanh': unary((_x, r) => sub(ONE, sq(r)), (x) => `tanh(${x})`, { result: true }),
  'Math.exp': unary((_x, r) => r, (x) => `exp(${x})`, { result: true }),
  'Math.expm1': unary((_x, r) => add(r, ONE), (x) => `(exp(${x}) - 1.0)`, { result: true }),
  'Math.log': unary((x) => div(ONE, x), (x) => `log(${x})`, { args: true }),
  'Math.log1p': unary((x) => div(ONE, add(ONE, x)), (x) => `log(1.0 + ${x})`, { args: true }),
  'Math.log2': unary((x) => div(ONE, mul(x, { k: 'num', value: Math.LN2, text: 'Math.LN2' })), (x) => `log2(${x})`, { args: true }),
  'Math.log10': unary((x) => div(ONE, mul(x, { k: 'num', value: Math.LN10, text: 'Math.LN10' })), (x) => `(log(${x}) * 0.4342944819032518)`, { args: true }),
  'Math.sqrt': unary((_x, r) => div(num(0.5), r), (x) => `sqrt(${x})`, { result: true }),
  'Math.cbrt': unary((_x, r) => div(ONE, mul(num(3), sq(r))), (x) => `(sign(${x}) * pow(abs(${x}), 1.0 / 3.0))`, { result: true }),
  'Math.abs': unary((x) => M('sign', x), (x) => `abs(${x})`, { args: true }),
  'Math.fround': unary(() => ONE, (x) => `${x}`, {}),
  'Math.sign': zero(1, ([x]) => `sign(${x})`),
  'Math.floor': zero(1, ([x]) => `floor(${x})`),
  'Math.ceil': zero(1, ([x]) => `ceil(${x})`),
  'Math.round': zero(1, ([x]) => `floor(${x} + 0.5)`),
  'Math.trunc': zero(1, ([x]) => `trunc(${x})`),
  'Math.atan2': {
    arity: 2,
    usesArgs: true,
    // r = atan2(y, x): ∂r/∂y = x / (x² + y²), ∂r/∂x = -y / (x² + y²)
    partials: ([y, x]) => [div(x, add(sq(x), sq(y))), neg(div(y, add(sq(x), sq(y))))],
    // atan2(0, 0) is 0 in JavaScript, undefined in WGSL
    wgsl: ([y, x]) => `select(atan2(${y}, ${x}), 0.0, ${y} == 0.0 && ${x} == 0.0)`,
  },
  'Math.pow': {
    arity: 2,
    usesArgs: true,
    usesResult: true,
    // ∂/∂a = b·a^(b-1) (0 when b = 0), ∂/∂b = r·ln a (0 when a <= 0); for a constant b (`x ** 2`)
    // the builders fold the condition and b - 1
    partials: ([a, b], r) => [
      cond(bin('===', b, num(0)), num(0), mul(b, M('pow', a, sub(b, ONE)))),
      cond(bin('>', a, num(0)), mul(r, M('log', a)), num(0)),
    ],
    // WGSL's pow is exp2(b·log2 a): JavaScript's sign for negative bases with integer exponents, x⁰ = 1
    wgsl: ([a, b]) => `select(select(pow(${a}, ${b}), select(1.0, -1.0, fract(${b} * 0.5) != 0.0) * pow(-(${a}), ${b}), ${a} < 0.0), 1.0, ${b} == 0.0)`,
  },
  'Math.hypot': {
    arity: 2,
    usesArgs: true,
    usesResult: true,
    partials: ([a, b], r) => [cond(bin('===', r, num(0)), num(0), div(a, r)), cond(bin('===', r, num(0)), num(0), div(b, r))],
    wgsl: ([a, b]) => `length(vec2<f32>(${a}, ${b}))`,
  },
  'Math.min': {
    arity: 2,
    usesArgs: true,
    partials: ([a, b]) => [cond(bin('<=', a, b), ONE, num(0)), cond(bin('<=', a, b), num(0), ONE)],
    wgsl: ([a, b]) => `min(${a}, ${b})`,
  },
  'Math.max': {
    arity: 2,
    usesArgs: true,
    partials: ([a, b]) => [cond(bin('>=', a, b), ONE, num(0)), cond(bin('>=', a, b), num(0), ONE)],
    wgsl: ([a, b]) => `max(${a}, ${b})`,
  },
} satisfies Record<string, Rule>;

export type RuleKey = keyof typeof RULES;

/** The Math functions of the kernel language (every one must have a fixture test). */
export const MATH_FUNCTIONS = Object.keys(RULES).filter((k) => k.startsWith('Math.')) as RuleKey[];

export const MATH_CONSTANTS: Record<string, number> = {
  PI: Math.PI, E: Math.E, LN2: Math.LN2, LN10: Math.LN10, LOG2E: Math.LOG2E, LOG10E: Math.LOG10E, SQRT2: Math.SQRT2, SQRT1_2: Math.SQRT1_2,
};

export const isMathFunction = (name: string): boolean => name.startsWith('Math.') && name in RULES;

export function ruleFor(key: string): Rule {
  const r = (RULES as Record<string, Rule>)[key];
  if (!r) throw new Error(`parad internal: no derivative rule for '${key}'`);
  return r;
}
