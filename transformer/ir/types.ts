/**
 * The IR: a small structured language shared by the primal (lowered from TS), the generated
 * tangent and adjoint functions, and the emitters. Expressions are pure; statements are structured
 * (no goto). Generated-only statement kinds (tape traffic, raw comments) live here too, so the
 * emitters print primal and derivative code with one printer.
 */
import type { MathFunction } from './ops.js';
import type { GpuDispatch } from '../../runtime/index.js';

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
  | { k: 'str'; value: string }
  /** Generated only: a call of a kernel, a layer or a generated function (`K_d`, `K_b`) by its name. */
  | { k: 'apply'; fn: string; args: Expr[] }
  /** Generated only: `e.key` (a field of the record a `K_b` returns, an array's `byteLength`). */
  | { k: 'member'; e: Expr; key: string }
  /** Generated only (TypeScript): `e as type` (`e as type | undefined` when `orUndefined`). */
  | { k: 'cast'; e: Expr; type: TypeName; orUndefined?: boolean };

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
  | { fn: 'gpu'; ctx: string; method: GpuMethod; args: Expr[] }
  | LayerRuntimeCall;

/**
 * The methods of parad/runtime's `GpuDispatch` a generated WebGPU host function calls (a pass's
 * dispatch, device buffers: scratch, snapshots, tape slots and regions; the host's scalar tape;
 * the tree reduction of private copies): the runtime's interface itself, so that the two cannot
 * drift apart.
 */
export type GpuMethod = keyof GpuDispatch;

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
  /** The options of its `// @parallel` pragma, if any (the front end parses them: parse/pragma.ts). */
  pragma?: ParallelPragma;
  loc?: Loc;
  /** Generated only: iterate the same index set in reverse order. */
  reversed?: boolean;
  /**
   * Generated only (WGSL adjoints): the nest runs as this many invocations (the name of a host
   * local), each taking the iterations whose flat number is its own modulo that count, in turn.
   */
  gridStride?: string;
}

/** How the adjoint of a parallel nest updates what its iterations read (docs/tf-mad.md). */
export type AdjointStrategy = 'direct' | 'gather' | 'reduction' | 'atomic' | 'versioned';

/** `// @parallel exclusive-read(a, b) adjoint=gather workgroup=8x8` (check/pragmas.ts reports bad options). */
export interface ParallelPragma {
  /** the arrays whose reads it states exclusive */
  exclusive: string[];
  /** the adjoint strategy it asks for */
  strategy?: AdjointStrategy;
  /** the workgroup size, outermost loop first as written */
  workgroup?: number[];
}

export type Stmt =
  | { k: 'decl'; name: string; mutable: boolean; type?: TypeName; init: Expr; loc?: Loc }
  /** Generated only: `let name!: type;` (a layer's variable, assigned before it is read) */
  | { k: 'declare'; name: string; type: TypeName }
  /** Generated only: `[a, b] = value;` (`const [a, b] = value;` when `decl`): a pair a call returns, a swap */
  | { k: 'destructure'; names: string[]; value: Expr; decl?: boolean; loc?: Loc }
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
  | { k: 'comment'; text: string; loc?: Loc }
  /** An expression evaluated for its effect (a replay's report call, a layer's calls). */
  | { k: 'effect'; e: Expr; loc?: Loc }
  | { k: 'block'; body: Stmt[]; loc?: Loc }
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

/**
 * The types generated code annotates (TypeScript output; `--format js` strips them): scalars,
 * arrays, `number`, a checkpointed loop's slots (`unknown[][]`) and its driver
 * (`ReturnType<typeof checkpointLoop>`).
 */
export type TypeName = ScalarType | ArrayType | 'number' | 'slots' | 'checkpoint';

/** A function the generated code passes to the runtime: its parameters and body. */
export interface Closure {
  params: { name: string; type?: TypeName }[];
  body: Stmt[];
}

/**
 * What the code of `@layer` functions asks of the runtime (`parad`, and `parad/runtime`'s device
 * arrays in the WebGPU variant; docs/layers.md): the save stack, copies and fills of arrays, the
 * checkpoint driver with its callbacks, and the float values of calls (`add`, `scaled`: numbers in
 * JavaScript, device values on WebGPU, lower/gpu/layers.ts).
 */
export type LayerRuntimeCall =
  /** `new SaveStack()` */
  | { fn: 'SaveStack' }
  /** `stack.save(array)`: a copy of the array, pushed */
  | { fn: 'stackSave'; stack: string; array: string }
  /** `stack.push(value)` (a float, an array binding, a checkpointed run) */
  | { fn: 'stackPush'; stack: string; value: Expr }
  /** `stack.pop()` */
  | { fn: 'stackPop'; stack: string }
  /** `stack.release(copy)`: a popped copy back to the pool */
  | { fn: 'stackRelease'; stack: string; copy: string }
  /** `dst.set(src)` */
  | { fn: 'set'; dst: string; src: Expr }
  /** `dst.fill(value)`, or `dst.fill(value, 0, length)` */
  | { fn: 'fill'; dst: string; value: Expr; length?: Expr }
  /** `copyInto(into, src)`: a copy of `src`, in `into` when it fits */
  | { fn: 'copyInto'; into: Expr; src: string }
  /** `releaseCopy(copy)` */
  | { fn: 'releaseCopy'; copy: Expr }
  /** `accumulate(dst, src, length)`: `dst[i] += src[i]` for i < length */
  | { fn: 'accumulate'; dst: string; src: string; length: Expr }
  /** `add(a, b)`: the sum of two floats of calls (device values on WebGPU) */
  | { fn: 'add'; a: Expr; b: Expr }
  /** `scaled(c, v)`: `c · v` for a float of a call */
  | { fn: 'scaled'; c: Expr; v: Expr }
  /** `(slots[slot] ??= [])`: a checkpoint slot's array, created when missing */
  | { fn: 'slot'; slots: string; slot: string }
  /**
   * `checkpointLoop({ layer, line, slots }, steps, bytes, { save, restore, forward, reverse, free }, costs?)`:
   * the driver of a `// @checkpoint` loop over its callbacks
   */
  | {
      fn: 'checkpointLoop';
      site: { layer: string; line: number; slots?: number };
      steps: Expr;
      bytes: Expr;
      ops: { save: Closure; restore: Closure; forward: Closure; reverse: Closure; free: Closure };
      costs?: string;
    }
  /** `loop.forward()` / `loop.reverse()`: a checkpointed loop's sweep */
  | { fn: 'checkpointSweep'; loop: Expr; sweep: 'forward' | 'reverse' }
  /** `Array.from({ length }, (_, k) => { … })` (a checkpointed loop's step costs) */
  | { fn: 'arrayFrom'; length: Expr; map: Closure };

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
