/**
 * The IR: a small structured language shared by the primal (lowered from TS), the generated
 * tangent and adjoint functions, and the emitters. Expressions are pure; statements are structured
 * (no goto). Generated-only statement kinds (tape traffic, raw comments) live here too, so the
 * emitters print primal and derivative code with one printer.
 */
import type { MathFunction } from './ops.js';

export type ScalarType = 'f32' | 'f64' | 'i32' | 'u32';
export type ArrayType = 'Float32Array' | 'Float64Array' | 'Int32Array' | 'Uint32Array';

export type BinaryOp =
  | '+'
  | '-'
  | '*'
  | '/'
  | '%'
  | '<'
  | '<='
  | '>'
  | '>='
  | '==='
  | '!=='
  | '=='
  | '!='
  | '&&'
  | '||'
  | '>>'
  | '<<'
  | '>>>'
  | '|'
  | '&'
  | '^';
export type UnaryOp = '-' | '+' | '!' | '~';

/** Source position (1-based line) for `// from file:LINE` comments. */
export interface Loc {
  line: number;
  start: number;
  end: number;
}

export type Expr =
  | { k: 'num'; value: number; text: string }
  | { k: 'var'; name: string }
  | { k: 'index'; array: string; index: Expr }
  | { k: 'length'; array: string }
  | { k: 'unary'; op: UnaryOp; e: Expr }
  | { k: 'binary'; op: BinaryOp; l: Expr; r: Expr }
  | { k: 'cond'; c: Expr; t: Expr; f: Expr }
  /** `fn` is an operator of ir/ops.ts (and so a key of the rule registry), e.g. `Math.sin`. */
  | { k: 'call'; fn: MathFunction; args: Expr[] }
  /** Generated only: `tape.pop()`. */
  | { k: 'pop'; tape: string }
  /** Generated only: `[a, b]` (the tangent's returned pair). */
  | { k: 'tuple'; items: Expr[] }
  /** Generated only: `{ key: value, … }` (an adjoint's returned scalar adjoints). */
  | { k: 'record'; fields: { key: string; value: Expr }[] }
  /** Generated only: an allocation or a call of the runtime (`parad`), typed: see RuntimeCall. */
  | { k: 'runtime'; call: RuntimeCall }
  /** Generated only: a string literal (a runtime call's array name) */
  | { k: 'str'; value: string };

/**
 * What generated code allocates or asks the runtime for: the adjoint's tape (`new Tape()`), an
 * array (`new Float64Array(length)`), or a scratch array of the runtime's pool, reused across calls
 * (`scratch(owner, slot, length, fill?)`, imported as `as`: runtime/index.ts's `scratch`).
 */
export type RuntimeCall =
  | { fn: 'Tape' }
  | { fn: 'array'; type: ArrayType; length: Expr }
  | { fn: 'scratch'; as: string; owner: string; slot: number; length: Expr; fill?: number }
  /**
   * a replay's report of a read to parad/testing's `reader` (emit/replay.ts): the nest at `line`, the
   * iteration by its loop variables, the element of `array` read; no iteration and no array at the
   * start of a run of the nest
   */
  | { fn: 'report'; reader: string; line: number; iteration: Expr[]; array: string; element: Expr }
  /** a WebGPU host function's request to parad/runtime's dispatch context `ctx` (`GpuDispatch`: runtime/kernels.ts) */
  | { fn: 'gpu'; ctx: string; method: GpuMethod; args: Expr[] };

/**
 * The methods of parad/runtime's `GpuDispatch` a generated WebGPU host function calls: a pass's
 * dispatch, device buffers (scratch, snapshots, tape slots and regions), the host's scalar tape,
 * and the tree reduction of private copies.
 */
export type GpuMethod =
  | 'dispatch'
  | 'alloc'
  | 'save'
  | 'restore'
  | 'pushArray'
  | 'popArray'
  | 'push'
  | 'pop'
  | 'pushSegment'
  | 'popSegment'
  | 'reduce';

export type LValue = { k: 'var'; name: string } | { k: 'index'; array: string; index: Expr };

export type AssignOp = '=' | '+=' | '-=' | '*=' | '/=';

export interface ForLoop {
  k: 'for';
  v: string;
  init: Expr;
  cmp: '<' | '<=' | '>' | '>=';
  bound: Expr;
  /** Constant, non-zero; positive with `<`/`<=`, negative with `>`/`>=`. */
  step: number;
  body: Stmt[];
  parallel: boolean;
  /** The text after `@parallel` in the pragma, if any (strategies, workgroup size; later issues). */
  pragma?: string;
  loc?: Loc;
  /** Generated only: iterate the same index set in reverse order. */
  reversed?: boolean;
  /**
   * Generated only (WGSL adjoints): the nest runs as this many invocations (the name of a host
   * local), each taking the iterations whose flat number is its own modulo that count, in turn.
   */
  gridStride?: string;
}

export type Stmt =
  | { k: 'decl'; name: string; mutable: boolean; type?: ScalarType; init: Expr; loc?: Loc }
  /** `atomic`: generated only, an update other iterations of the parallel loop may make too (atomic on the GPU) */
  | { k: 'assign'; target: LValue; op: AssignOp; value: Expr; loc?: Loc; atomic?: boolean }
  | { k: 'if'; cond: Expr; then: Stmt[]; else: Stmt[]; loc?: Loc }
  | ForLoop
  | { k: 'return'; value?: Expr; loc?: Loc }
  // ---- generated only ----
  | { k: 'push'; tape: string; value: Expr }
  | { k: 'pushArray'; tape: string; array: string }
  | { k: 'popArray'; tape: string; array: string }
  /** `const name = array.slice()` / `array.set(name)` to keep outputs across the reverse sweep. */
  | { k: 'saveArray'; name: string; array: string }
  | { k: 'restoreArray'; name: string; array: string }
  | { k: 'comment'; text: string }
  /** An expression evaluated for its effect (a replay's report call). */
  | { k: 'effect'; e: Expr }
  | { k: 'block'; body: Stmt[] }
  /** Generated only: one line of code as it is (layer functions) */
  | { k: 'line'; text: string; loc?: Loc }
  /** Generated only: `head {`, the body, `}tail` (a layer function's loops and callbacks) */
  | { k: 'nest'; head: string; body: Stmt[]; tail?: string; loc?: Loc }
  /**
   * Generated only (WGSL adjoints): `target[e] += Σ_c partial[c * len + e]` over `copies` private
   * copies (`target` a scalar when `len` is absent): a tree reduction in workgroup memory on the GPU.
   */
  | { k: 'reduce'; partial: string; copies: Expr; len?: Expr; target: string }
  /**
   * Generated only, between differentiation and scheduling: the adjoint of the parallel nest whose
   * outermost loop is `loop` (the kernel's, the key of the analysis' report), as one pass with
   * direct updates. The schedule phase (schedule/) replaces it by the statements of the strategies
   * it chooses per target; no emitter ever sees it.
   */
  | { k: 'nestAdjoint'; loop: ForLoop; nest: ForLoop[]; pass: ForLoop }
  /**
   * Generated only (JavaScript lowering, lower/outline.ts): a call of a generated module-local
   * function with these variables (and arrays) as its arguments.
   */
  | { k: 'invoke'; fn: string; args: string[] };

export type ParamKind = 'array' | 'scalar';

export interface Param {
  name: string;
  type: ScalarType | ArrayType;
  kind: ParamKind;
  /** float-typed (array or scalar) */
  float: boolean;
  /** float and not @nodiff */
  active: boolean;
}

export interface Kernel {
  name: string;
  params: Param[];
  returns: 'void' | 'f32' | 'f64';
  body: Stmt[];
  /** The kernel's source text exactly as written (re-emitted as the primal). */
  sourceText: string;
  /** JSDoc text (for the header comment). */
  doc: string;
  loc: Loc;
  /** the file of a kernel another file's layer imports (emitted module-local in that file's module) */
  origin?: string;
}

export const isFloatScalar = (t: string): boolean => t === 'f32' || t === 'f64';
export const isFloatArray = (t: string): boolean => t === 'Float32Array' || t === 'Float64Array';
