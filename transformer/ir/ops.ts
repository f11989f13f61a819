/**
 * The differentiable operators of the kernel language: the arithmetic operators (`neg` is unary
 * minus) and the Math functions, each with its arity and whether it is piecewise constant
 * (derivative 0 wherever it is defined: `%`, sign, floor, ceil, round, trunc).
 *
 * This table is the alphabet of the IR's calls (`Expr` `call.fn` is a `MathFunction`) and the key
 * set of the derivative rule registry (differentiate/rules.ts, typed `{ [Op in OpName]: Rule<Op> }`),
 * so an operator added here without a rule, or a rule whose arity differs, does not compile.
 * It lives in `ir` because lowering (which calls it accepts) and activity analysis (which calls
 * carry derivatives) read it below the differentiation phase.
 */

export interface OpInfo {
  readonly arity: 1 | 2;
  /** Derivative zero everywhere it is defined: the result is never active. */
  readonly constant?: true;
}

export const OPS = {
  '+': { arity: 2 },
  '-': { arity: 2 },
  '*': { arity: 2 },
  '/': { arity: 2 },
  neg: { arity: 1 },
  '%': { arity: 2, constant: true },
  'Math.sin': { arity: 1 },
  'Math.cos': { arity: 1 },
  'Math.tan': { arity: 1 },
  'Math.asin': { arity: 1 },
  'Math.acos': { arity: 1 },
  'Math.atan': { arity: 1 },
  'Math.sinh': { arity: 1 },
  'Math.cosh': { arity: 1 },
  'Math.tanh': { arity: 1 },
  'Math.exp': { arity: 1 },
  'Math.expm1': { arity: 1 },
  'Math.log': { arity: 1 },
  'Math.log1p': { arity: 1 },
  'Math.log2': { arity: 1 },
  'Math.log10': { arity: 1 },
  'Math.sqrt': { arity: 1 },
  'Math.cbrt': { arity: 1 },
  'Math.abs': { arity: 1 },
  'Math.fround': { arity: 1 },
  'Math.sign': { arity: 1, constant: true },
  'Math.floor': { arity: 1, constant: true },
  'Math.ceil': { arity: 1, constant: true },
  'Math.round': { arity: 1, constant: true },
  'Math.trunc': { arity: 1, constant: true },
  'Math.atan2': { arity: 2 },
  'Math.pow': { arity: 2 },
  'Math.hypot': { arity: 2 },
  'Math.min': { arity: 2 },
  'Math.max': { arity: 2 },
} as const satisfies Record<string, OpInfo>;

export type OpName = keyof typeof OPS;
/** The Math functions of the kernel language (`Math.sin`, …): what an IR `call` may call. */
export type MathFunction = Extract<OpName, `Math.${string}`>;
export type Arity<Op extends OpName> = (typeof OPS)[Op]['arity'];
/** The piecewise-constant operators. */
export type ConstantOp = { [Op in OpName]: (typeof OPS)[Op] extends { constant: true } ? Op : never }[OpName];

export const isOp = (name: string): name is OpName => Object.hasOwn(OPS, name);
export const isMathFunction = (name: string): name is MathFunction => name.startsWith('Math.') && isOp(name);
export const isConstantOp = (op: OpName): boolean => (OPS[op] as OpInfo).constant === true;

/** The Math functions of the kernel language (every one must have a fixture test). */
export const MATH_FUNCTIONS = Object.keys(OPS).filter(isMathFunction);

export const MATH_CONSTANTS: Record<string, number> = {
  PI: Math.PI,
  E: Math.E,
  LN2: Math.LN2,
  LN10: Math.LN10,
  LOG2E: Math.LOG2E,
  LOG10E: Math.LOG10E,
  SQRT2: Math.SQRT2,
  SQRT1_2: Math.SQRT1_2,
};
