/**
 * What the layer emitters (layer-tangent.ts, layer-adjoint.ts) share: builders of the IR they
 * produce (calls by name, the layer runtime's calls, loops with their `// from` comment), the
 * arguments of a callee's primal, `_d` and `_b`, and the iteration values of a loop. They build one
 * IR per function; the WebGPU variant is a lowering of it (lower/gpu/layers.ts).
 */
import type { GpuLayerHelpers } from '../../runtime/index.js';
import type { FunctionIR } from './function.js';
import type { Stmt, Expr, ForLoop, Loc, RuntimeCall, TypeName, ArrayType, AssignOp } from '../ir/types.js';
import type { KernelFile } from '../ir/file.js';
import type { Callee, LArg, Layer } from '../ir/layer.js';
import { bin, num, tripCount as tripCountExpr, v } from '../ir/build.js';
import { Names } from '../naming.js';

/** Names the generated layer code takes from parad (JavaScript) or from parad/runtime (WebGPU). */
export const LAYER_RUNTIME = [
  'SaveStack',
  'checkpointLoop',
  'copyInto',
  'releaseCopy',
  'accumulate',
  'add',
  'scaled',
  'Float32Array',
  'Int32Array',
  'Uint32Array',
] as const satisfies readonly (keyof GpuLayerHelpers)[];
// and every helper of the runtime is among them
const everyHelper: Exclude<keyof GpuLayerHelpers, (typeof LAYER_RUNTIME)[number]> extends never ? true : never = true;
void everyHelper;

export interface LayerContext {
  layer: Layer;
  callees: Map<string, Callee>;
  names: Names;
  fileName: string;
}

/** The context a layer's functions are generated in: names clear of its variables, of every function of the module and of the runtime's. */
export function layerContext(layer: Layer, file: KernelFile, fileName: string): LayerContext {
  const taken = new Set<string>(['Math', 'Tape', ...LAYER_RUNTIME, ...layer.vars.keys()]);
  for (const f of [...file.kernels, ...file.layers])
    for (const n of [f.name, `${f.name}_d`, `${f.name}_b`]) taken.add(n);
  return { layer, callees: file.callees, names: new Names(taken), fileName: layer.origin ?? fileName };
}

/**
 * A layer's functions, generated once: its primal as IR (the TypeScript output prints the source
 * instead; the WebGPU variant lowers it), `L_d` and `L_b` when their modes are asked for.
 */
export interface LayerFunctions {
  primal: FunctionIR;
  d?: FunctionIR;
  b?: FunctionIR;
}

// ---- IR builders (each statement located at the layer statement it comes from) ----

type At = { loc?: Loc } | undefined;

export const runtime = (call: RuntimeCall): Expr => ({ k: 'runtime', call });
export const apply = (fn: string, args: Expr[]): Expr => ({ k: 'apply', fn, args });
export const cast = (e: Expr, type: TypeName, orUndefined?: boolean): Expr => ({
  k: 'cast',
  e,
  type,
  ...(orUndefined ? { orUndefined } : {}),
});
export const pop = (stack: string, type: TypeName): Expr => cast(runtime({ fn: 'stackPop', stack }), type);
export const effect = (e: Expr, s?: At): Stmt => ({ k: 'effect', e, loc: s?.loc });
export const call = (c: RuntimeCall, s?: At): Stmt => effect(runtime(c), s);
export const decl = (name: string, init: Expr, s?: At, mutable = false, type?: TypeName): Stmt => ({
  k: 'decl',
  name,
  mutable,
  ...(type ? { type } : {}),
  init,
  loc: s?.loc,
});
export const assign = (name: string, value: Expr, s?: At, op: AssignOp = '='): Stmt => ({
  k: 'assign',
  target: { k: 'var', name },
  op,
  value,
  loc: s?.loc,
});
/** `[a, b] = [b, a]` */
export const swap = (a: string, b: string, s?: At): Stmt => ({
  k: 'destructure',
  names: [a, b],
  value: { k: 'tuple', items: [v(b), v(a)] },
  loc: s?.loc,
});
export const comment = (text: string, s?: At): Stmt => ({ k: 'comment', text, loc: s?.loc });
export const block = (body: Stmt[], s?: At): Stmt => ({ k: 'block', body, loc: s?.loc });
/** `new type(length)` */
export const newArray = (type: string, length: Expr): Expr => runtime({ fn: 'array', type: type as ArrayType, length });
/** `new type(of.length)` */
export const arrayLike = (type: string, of: string): Expr => newArray(type, { k: 'length', array: of });

/** A sequential loop of the layer with this body (`reversed`: its iterations backwards); its comment is apart (fromLine). */
export const loop = (header: ForLoop, body: Stmt[], reversed = false): Stmt => ({
  ...header,
  body,
  loc: undefined,
  ...(reversed ? { reversed } : {}),
});
/** `// from file:LINE…` above a loop of the layer */
export const fromLine = (ctx: LayerContext, s: { loc: Loc }, tail = ''): Stmt =>
  comment(`from ${ctx.fileName}:${s.loc.line}${tail}`, s);

/** `scale · v` as the source wrote it: `v / d` for a scale 1 / d, `-v` for -1. */
export function times(scale: Expr, value: Expr): Expr {
  if (scale.k === 'binary' && scale.op === '/' && scale.l.k === 'num' && scale.l.value === 1)
    return bin('/', value, scale.r);
  if (scale.k === 'num' && scale.value === -1) return { k: 'unary', op: '-', e: value };
  return bin('*', scale, value);
}

/** A call's value times the statement's `scale`, if any. */
export const scaleOf = (scale: Expr | undefined, value: Expr): Expr => (scale ? times(scale, value) : value);

/** A zero partner for an array without one (an inactive array passed to an active parameter). */
const zeros = (ctx: LayerContext, array: string): Expr => arrayLike(ctx.layer.vars.get(array)!.type, array);

export function partnerOf(ctx: LayerContext, array: string, mode: 'd' | 'b'): Expr {
  const x = ctx.layer.vars.get(array)!;
  return x.partner ? v(ctx.names[mode](array)) : zeros(ctx, array);
}

/** Arguments of `callee(…)` (`primal`), `callee_d(…)` or `callee_b(…)` (without the returned float's adjoint). */
export function callArgs(ctx: LayerContext, callee: Callee, args: LArg[], mode: 'primal' | 'd' | 'b'): Expr[] {
  const out: Expr[] = [];
  callee.params.forEach((p, i) => {
    const a = args[i];
    out.push(a.k === 'value' ? a.e : v(a.name));
    if (mode === 'primal' || !p.active) return;
    if (p.kind === 'array' && a.k === 'array') out.push(partnerOf(ctx, a.name, mode));
    // K_d: a d partner after each active scalar; K_b returns scalar adjoints instead
    else if (p.kind !== 'array' && mode === 'd') out.push(a.k === 'scalar' ? v(ctx.names.d(a.name)) : num(0));
  });
  return out;
}

/** The number of iterations of a canonical loop, evaluated before it runs (ir/build's tripCount). */
export const tripCount = (h: ForLoop): Expr => tripCountExpr(h);

/** The loop variable's value in iteration `k` (1-based; `base` 0: 0-based) of a canonical loop. */
export function iterationValue(h: ForLoop, k: Expr, base: 0 | 1 = 1): Expr {
  const steps = base === 1 ? bin('-', k, num(1)) : k;
  return bin(h.step > 0 ? '+' : '-', h.init, Math.abs(h.step) === 1 ? steps : bin('*', steps, num(Math.abs(h.step))));
}
