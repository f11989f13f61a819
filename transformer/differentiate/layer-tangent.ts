/**
 * Tangent of a `@layer` function: the same statements with every call replaced by the callee's
 * `_d`, every array and float local followed by its `d` partner (copied, filled and swapped with it).
 */
import type { Stmt, TypeName } from '../ir/types.js';
import type { LStmt } from '../ir/layer.js';
import type { FunctionIR } from './function.js';
import { num, v } from '../ir/build.js';
import { tangentName } from '../naming.js';
import {
  apply,
  arrayLike,
  assign,
  block,
  call,
  callArgs,
  decl,
  effect,
  fromLine,
  loop,
  newArray,
  scaleOf,
  swap,
  type LayerContext,
} from './layer-common.js';

export function layerTangent(ctx: LayerContext): FunctionIR {
  const { layer, names } = ctx;
  const params: FunctionIR['params'] = [];
  for (const p of layer.params) {
    params.push({ name: p.name, type: p.type });
    if (p.active) params.push({ name: names.d(p.name), type: p.type });
  }
  const float = layer.returns !== 'void';
  return {
    name: tangentName(layer.name),
    params,
    returnType: float ? `[${layer.returns}, ${layer.returns}]` : 'void',
    comment: [
      `Tangent of layer ${layer.name}: the callees' _d in order, a d partner beside each array and float local.`,
      float ? 'Returns [value, tangent of the value].' : "Leaves the primal arrays holding the layer's outputs.",
    ],
    body: stmts(ctx, layer.body),
  };
}

function stmts(ctx: LayerContext, body: LStmt[]): Stmt[] {
  return body.flatMap((s) => TANGENT[s.k](ctx, s as never));
}

type Rule<K extends LStmt['k']> = (ctx: LayerContext, s: Extract<LStmt, { k: K }>) => Stmt[];

const d = (ctx: LayerContext, name: string) => ctx.names.d(name);
const has = (ctx: LayerContext, name: string) => ctx.layer.vars.get(name)!.partner;

const TANGENT: { [K in LStmt['k']]: Rule<K> } = {
  call(ctx, s) {
    const callee = ctx.callees.get(s.callee)!;
    const value = apply(tangentName(s.callee), callArgs(ctx, callee, s.args, 'd'));
    if (!s.result) return [effect(value, s)];
    const { name: x, op, scale } = s.result;
    if (op === '=' && !scale) return [{ k: 'destructure', names: [x, d(ctx, x)], value, loc: s.loc }];
    const [t, td] = [ctx.names.temp('v'), ctx.names.temp('v')];
    return [
      block(
        [
          { k: 'destructure', names: [t, td], value, decl: true, loc: s.loc },
          assign(x, scaleOf(scale, v(t)), s, op),
          assign(d(ctx, x), scaleOf(scale, v(td)), s, op),
        ],
        s,
      ),
    ];
  },
  scratch(ctx, s) {
    // swapped arrays are declared with their plain type (a new array's type is narrower than a parameter's)
    const swapped = ctx.layer.vars.get(s.name)!.swapped ?? false;
    const type = swapped ? s.type : undefined;
    const out = [decl(s.name, newArray(s.type, s.length), s, swapped, type)];
    if (has(ctx, s.name)) out.push(decl(d(ctx, s.name), arrayLike(s.type, s.name), s, swapped, type));
    return out;
  },
  alias(ctx, s) {
    const t = ctx.layer.vars.get(s.name)!.type as TypeName;
    const out = [decl(s.name, v(s.of), s, true, t)];
    if (has(ctx, s.name)) out.push(decl(d(ctx, s.name), v(d(ctx, s.of)), s, true, t));
    return out;
  },
  value: (ctx, s) => [decl(s.name, s.init, s)],
  float: (ctx, s) => [decl(s.name, s.init, s, true), decl(d(ctx, s.name), num(0), s, true)],
  copy(ctx, s) {
    const out = [call({ fn: 'set', dst: s.dst, src: v(s.src) }, s)];
    if (has(ctx, s.dst))
      out.push(
        call(
          has(ctx, s.src)
            ? { fn: 'set', dst: d(ctx, s.dst), src: v(d(ctx, s.src)) }
            : { fn: 'fill', dst: d(ctx, s.dst), value: num(0), length: { k: 'length', array: s.src } },
          s,
        ),
      );
    return out;
  },
  fill(ctx, s) {
    const out = [call({ fn: 'fill', dst: s.dst, value: s.value }, s)];
    if (has(ctx, s.dst)) out.push(call({ fn: 'fill', dst: d(ctx, s.dst), value: num(0) }, s));
    return out;
  },
  swap(ctx, s) {
    const out = [swap(s.a, s.b, s)];
    if (has(ctx, s.a)) out.push(swap(d(ctx, s.a), d(ctx, s.b), s));
    return out;
  },
  loop: (ctx, s) => [fromLine(ctx, s), loop(s.header, stmts(ctx, s.body))],
  return: (ctx, s) => [
    {
      k: 'return',
      ...(s.value ? { value: { k: 'tuple', items: [v(s.value), v(d(ctx, s.value))] } } : {}),
      loc: s.loc,
    },
  ],
  if: (ctx, s) => [{ k: 'if', cond: s.cond, then: stmts(ctx, s.then), else: stmts(ctx, s.else), loc: s.loc }],
};
