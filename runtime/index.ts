/**
 * parad runtime: the only module generated code imports.
 *
 * - Scalar type aliases for kernels: `f32`, `f64` are active (differentiable) floats,
 *   `i32`, `u32` are inactive integers. All are plain `number` at run time.
 * - `Tape`: the typed-array stack the generated adjoints use to save values that the
 *   forward sweep overwrites and the reverse sweep needs again.
 * - `KernelMeta`: the shape of the `__parad` metadata every generated module exports.
 */
export type f32 = number;
export type f64 = number;
export type i32 = number;
export type u32 = number;

/** A growable LIFO stack of float64 values (integers are stored exactly). */
export class Tape {
  private buf: Float64Array;
  private top = 0;
  /** Largest number of values held at once (for tests and benchmarks). */
  peak = 0;

  constructor(initialCapacity = 1024) {
    this.buf = new Float64Array(Math.max(16, initialCapacity));
  }

  private grow(need: number): void {
    let cap = this.buf.length;
    while (cap < need) cap *= 2;
    const next = new Float64Array(cap);
    next.set(this.buf.subarray(0, this.top));
    this.buf = next;
  }

  push(v: number): void {
    if (this.top === this.buf.length) this.grow(this.top + 1);
    this.buf[this.top++] = v;
    if (this.top > this.peak) this.peak = this.top;
  }

  pop(): number {
    if (this.top === 0) throw new Error('parad: tape underflow (generated adjoint is inconsistent)');
    return this.buf[--this.top];
  }

  /** Saves every element of `a` (a snapshot of an array a parallel loop overwrites). */
  pushArray(a: ArrayLike<number>): void {
    const n = a.length;
    if (this.top + n > this.buf.length) this.grow(this.top + n);
    this.buf.set(a, this.top);
    this.top += n;
    if (this.top > this.peak) this.peak = this.top;
  }

  /** Restores the snapshot taken by the matching `pushArray(a)`. */
  popArray(a: Float32Array | Float64Array | Int32Array | Uint32Array): void {
    const n = a.length;
    if (n > this.top) throw new Error('parad: tape underflow (generated adjoint is inconsistent)');
    this.top -= n;
    a.set(this.buf.subarray(this.top, this.top + n));
  }

  get size(): number {
    return this.top;
  }
}

/** Scratch arrays of generated adjoints, per adjoint function (released with its module). */
const scratchPools = new WeakMap<object, Float64Array[]>();

/**
 * The scratch array `slot` of the generated adjoint `owner` (a gather's per-iteration staging, a
 * reduction's private copies), with at least `n` elements, reused across calls instead of
 * allocated per call: it grows on demand and is kept for the next call. `fill`: the value its
 * first `n` elements are set to (0 for private copies); staging is written before it is read, so
 * it is left as the last call left it. An adjoint runs to
 * completion before anything else can call it (generated code never calls adjoints), so a slot is
 * never in use twice at once.
 */
export function scratch(owner: object, slot: number, n: number, fill?: number): Float64Array {
  let pool = scratchPools.get(owner);
  if (!pool) scratchPools.set(owner, (pool = []));
  let a = pool[slot];
  if (!a || a.length < n) {
    pool[slot] = a = new Float64Array(n);
    if (fill) a.fill(fill);
  } else if (fill !== undefined) a.fill(fill, 0, n);
  return a;
}

/** Parameter description in a generated module's `__parad` metadata. */
export interface ParamMeta {
  name: string;
  /** `Float32Array` | `Float64Array` | `Int32Array` | `Uint32Array` | `f32` | `f64` | `i32` | `u32` */
  type: string;
  kind: 'array' | 'scalar';
  /** Active parameters get a `d` partner in `K_d`; active arrays a `b` partner in `K_b`. */
  active: boolean;
}

export interface KernelMeta {
  name: string;
  /** `layer` for a `@layer` function (same calling contract); absent for kernels */
  kind?: 'layer';
  params: ParamMeta[];
  /** `void`, `f32` or `f64` */
  returns: string;
  /** Which derivative modes the module exports for this kernel. */
  modes: ('d' | 'b')[];
  /** Source file and line of the kernel. */
  source: { file: string; line: number };
  /** Parallel nests (by line) whose `exclusive-read(…)` pragma makes these arrays' reads exclusive by assumption. */
  assumptions?: { line: number; arrays: string[] }[];
  /**
   * The kernel replayed with the assumed reads reported: its arguments, then
   * `report(line, iteration, array, element)` (returning `element`), called with iteration `''`
   * when a run of the nest starts. parad/testing's `checkAssumptions` runs it.
   */
  replay?: (...args: never[]) => unknown;
}

/** Shape of the `__parad` export of a generated module. */
export interface ModuleMeta {
  version: 1;
  kernels: Record<string, KernelMeta>;
}

/** One compute pass of a WGSL program: a `@parallel` nest as a shader. */
export interface WgslPass {
  /** WGSL source; entry point `main` */
  code: string;
  /** per WGSL line, the kernel source line it comes from (0 for scaffolding) */
  sourceLines: number[];
  workgroupSize: [number, number, number];
  /** storage buffers: the kernel's arrays by parameter name, and `_ret` for returned floats (binding 0 is the uniforms) */
  bindings: { binding: number; name: string; access: 'read' | 'read_write' }[];
  /** the uniform struct's fields (4 bytes each, in order): scalars the pass reads */
  uniforms: { name: string; type: 'f32' | 'i32' | 'u32' }[];
  /**
   * Bindings holding several arrays (a pass that needs more storage buffers than WebGPU's default
   * limit): binding `name` is the members one after the other; the runtime fills each member's
   * uniforms `offset` (its first element) and `length`, copies the members in before the pass and
   * the `written` ones back after it.
   */
  packs?: { name: string; members: { name: string; offset: string; length: string; written: boolean }[] }[];
}

/**
 * What a host function calls: `dispatch` runs pass `pass` over `extents` iterations (x innermost);
 * the others are the adjoint's device work, on buffers named as the passes' bindings.
 */
export interface GpuDispatch {
  dispatch(pass: number, extents: number[], uniforms: Record<string, number>): void;
  /** a zeroed scratch buffer of `length` f32 elements */
  alloc(name: string, length: number): { readonly length: number };
  /** `name` := a copy of `array` (kept until the call ends); `restore` copies it back */
  save(name: string, array: string): void;
  restore(name: string, array: string): void;
  /** the tape: whole arrays (snapshots), segments of per-iteration slots, host scalars */
  pushArray(array: string): void;
  popArray(array: string): void;
  /** a new segment of `length` slots, bound as `name` for the next dispatch; `popSegment` binds the last one pushed */
  pushSegment(name: string, length: number): void;
  popSegment(name: string): void;
  push(value: number): void;
  pop(): number;
  /** `target[offset + e] += Σ_c partial[c * len + e]` for e < len: a tree reduction in workgroup memory */
  reduce(partial: string, copies: number, len: number, target: string, offset: number): void;
}

/** A generated function (`K`, `K_d` or `K_b`) on WebGPU. */
export interface WgslProgram {
  name: string;
  /** the kernel file (for errors: `k.ts:12`) */
  file: string;
  /** the TS function's parameters, in order */
  params: { name: string; type: string }[];
  passes: WgslPass[];
  /** floats returned (K: 1 for a float kernel, K_d: 2 for [value, valueDot]), through the `_ret` binding */
  returns: number;
  /** K_b: its float scalars on the device (the returned adjoints in the first slots) */
  scalars?: { buffer: string; count: number };
  /** K_b: the keys of its returned object, in slot order */
  results?: string[];
  /** K_d, K_b: each derivative array and the array it belongs to (their lengths must agree) */
  partners?: [string, string][];
  /** runs the function's control flow on the host: (dispatch context, the function's arguments in order; arrays for their length) */
  host: (ctx: GpuDispatch, ...args: never[]) => void;
}

/**
 * The helpers a layer's generated code takes from the runtime, by the names it uses (the
 * transformer's LAYER_RUNTIME lists the same names: a name in one and not the other does not
 * compile): device array types, the save stack, the checkpointing driver, copies, and the
 * arithmetic on the floats calls return (device values on WebGPU). Typed `any`: the generated code
 * calls them with its own argument types.
 */
export interface GpuLayerHelpers {
  Float32Array: any;
  Int32Array: any;
  Uint32Array: any;
  SaveStack: any;
  checkpointLoop: any;
  copyInto: any;
  releaseCopy: any;
  accumulate: any;
  add: any;
  scaled: any;
}

/** What a layer's WebGPU variant takes from parad/runtime: the helpers, and the kernels' and layers' WebGPU calls by name. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type GpuLayerRuntime = GpuLayerHelpers & Record<string, any>;

/** A layer's WebGPU variants: its generated code, made for parad/runtime's device arrays and kernels. */
export interface WgslLayer {
  params: { name: string; type: string }[];
  returns: string;
  /** L_b's returned keys */
  results?: string[];
  primal: (rt: GpuLayerRuntime) => (...args: never[]) => unknown;
  d?: (rt: GpuLayerRuntime) => (...args: never[]) => unknown;
  b?: (rt: GpuLayerRuntime) => (...args: never[]) => unknown;
}

/** The `wgsl` export of a module generated with target wgsl. */
export interface WgslModule {
  version: 1;
  kernels: Record<string, { primal: WgslProgram; d?: WgslProgram; b?: WgslProgram }>;
  /** layers that run on WebGPU (docs/layers.md) */
  layers?: Record<string, WgslLayer>;
}

export * from './checkpoint.js';
