/**
 * What the layer emitters (layer-tangent.ts, layer-adjoint.ts) share: the statements they build,
 * the arguments of a callee's primal, `_d` and `_b`, and the trip count of a loop.
 */
import type { Stmt, Expr, ForLoop } from '../ir/types.js';
import type { KernelFile } from '../ir/file.js';
import type { Callee, LArg, Layer, LStmt } from '../ir/layer.js';
import { printExpr } from '../ir/print.js';
import { tripCount as tripCountExpr } from '../ir/build.js';
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
] as const;

export const line = (text: string, s?: { loc?: LStmt['loc'] }): Stmt => ({ k: 'line', text, loc: s?.loc });
export const nest = (head: string, body: Stmt[], tail?: string, s?: { loc?: LStmt['loc'] }): Stmt => ({
  k: 'nest',
  head,
  body,
  tail,
  loc: s?.loc,
});

export interface LayerContext {
  layer: Layer;
  callees: Map<string, Callee>;
  names: Names;
  fileName: string;
  /**
   * The WebGPU variant (the `wgsl` export's layer factories): float values of calls live on the
   * device, so they are summed with `add(x, y)` (parad/runtime resolves them after the run).
   */
  gpu?: boolean;
}

/**
 * The context a layer's functions are generated in: names clear of its variables, of every
 * function of the module and of the runtime's; `gpu` for its WebGPU variant.
 */
export function layerContext(layer: Layer, file: KernelFile, fileName: string, gpu = false): LayerContext {
  const taken = new Set<string>(['Math', 'Tape', ...LAYER_RUNTIME, ...layer.vars.keys()]);
  for (const f of [...file.kernels, ...file.layers])
    for (const n of [f.name, `${f.name}_d`, `${f.name}_b`]) taken.add(n);
  return {
    layer,
    callees: file.callees,
    names: new Names(taken),
    fileName: layer.origin ?? fileName,
    ...(gpu ? { gpu } : {}),
  };
}

/** A call's value `v` times the statement's `scale` (on the GPU, `scaled(c, v)`: the value is on the device). */
export const scaleOf = (ctx: LayerContext, scale: Expr | undefined, v: string): string =>
  !scale ? v : ctx.gpu ? `scaled(${printExpr(scale)}, ${v})` : times(scale, v);

/** `scale · v` as the source wrote it: `v / d` for a scale 1 / d, `-v` for -1. */
export function times(scale: Expr, v: string): string {
  if (scale.k === 'binary' && scale.op === '/' && scale.l.k === 'num' && scale.l.value === 1)
    return `${v} / ${printExpr(scale.r, 13)}`;
  if (scale.k === 'num' && scale.value === -1) return `-${v}`;
  return `${printExpr(scale, 12)} * ${v}`;
}

/** `x += y` for a float that may be a call's value (on the GPU, `x = add(x, y)`). */
export const addTo = (ctx: LayerContext, x: string, y: string): string =>
  ctx.gpu ? `${x} = add(${x}, ${y});` : `${x} += ${y};`;

/** A zero partner for an array without one (an inactive array passed to an active parameter). */
const zeros = (ctx: LayerContext, array: string) => `new ${ctx.layer.vars.get(array)!.type}(${array}.length)`;

export function partnerOf(ctx: LayerContext, array: string, mode: 'd' | 'b'): string {
  const v = ctx.layer.vars.get(array)!;
  return v.partner ? ctx.names[mode](array) : zeros(ctx, array);
}

/** Arguments of `callee(…)` (`primal`), `callee_d(…)` or `callee_b(…)` (without the returned float's adjoint). */
export function callArgs(ctx: LayerContext, callee: Callee, args: LArg[], mode: 'primal' | 'd' | 'b'): string[] {
  const out: string[] = [];
  callee.params.forEach((p, i) => {
    const a = args[i];
    const text = a.k === 'value' ? printExpr(a.e) : a.name;
    out.push(text);
    if (mode === 'primal' || !p.active) return;
    if (p.kind === 'array') out.push(partnerOf(ctx, text, mode));
    // K_d: a d partner after each active scalar; K_b returns scalar adjoints instead
    else if (mode === 'd') out.push(a.k === 'scalar' ? ctx.names.d(a.name) : '0');
  });
  return out;
}

/** The number of iterations of a canonical loop, as text evaluated before it runs (ir/build's tripCount). */
export const tripCount = (h: ForLoop): string => printExpr(tripCountExpr(h));

/** The loop variable's value in iteration `k` (1-based) of a canonical loop. */
export function iterationValue(h: ForLoop, k: string): string {
  const times = Math.abs(h.step) === 1 ? '' : ` * ${Math.abs(h.step)}`;
  return `${printExpr(h.init, 11)} ${h.step > 0 ? '+' : '-'} (${k} - 1)${times}`;
}

export type { Expr };
