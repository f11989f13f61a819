/**
 * Tangent of a `@layer` function: the same statements with every call replaced by the callee's
 * `_d`, every array and float local followed by its `d` partner (copied, filled and swapped with it).
 */
import type { Stmt } from '../ir/types.js';
import type { LStmt } from '../ir/layer.js';
import type { FunctionIR } from './function.js';
import { printExpr, forHeader } from '../ir/print.js';
import { tangentName } from '../naming.js';
import { addTo, callArgs, line, nest, scaleOf, type LayerContext } from './layer-common.js';

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
    const call = `${tangentName(s.callee)}(${callArgs(ctx, callee, s.args, 'd').join(', ')})`;
    if (!s.result) return [line(`${call};`, s)];
    const { name: x, op, scale } = s.result;
    if (op === '=' && !scale) return [line(`[${x}, ${d(ctx, x)}] = ${call};`, s)];
    const [v, vd] = [ctx.names.temp('v'), ctx.names.temp('v')];
    const put = (target: string, value: string) => (op === '=' ? `${target} = ${value};` : addTo(ctx, target, value));
    return [
      nest(
        '',
        [
          line(`const [${v}, ${vd}] = ${call};`, s),
          line(put(x, scaleOf(ctx, scale, v)), s),
          line(put(d(ctx, x), scaleOf(ctx, scale, vd)), s),
        ],
        undefined,
        s,
      ),
    ];
  },
  scratch(ctx, s) {
    // swapped arrays are declared with their plain type (a new array's type is narrower than a parameter's)
    const kw = ctx.layer.vars.get(s.name)!.swapped ? 'let' : 'const';
    const t = kw === 'let' ? `: ${s.type}` : '';
    const out = [line(`${kw} ${s.name}${t} = new ${s.type}(${printExpr(s.length)});`, s)];
    if (has(ctx, s.name)) out.push(line(`${kw} ${d(ctx, s.name)}${t} = new ${s.type}(${s.name}.length);`, s));
    return out;
  },
  alias(ctx, s) {
    const t = ctx.layer.vars.get(s.name)!.type;
    const out = [line(`let ${s.name}: ${t} = ${s.of};`, s)];
    if (has(ctx, s.name)) out.push(line(`let ${d(ctx, s.name)}: ${t} = ${d(ctx, s.of)};`, s));
    return out;
  },
  value: (ctx, s) => [line(`const ${s.name} = ${printExpr(s.init)};`, s)],
  float: (ctx, s) => [line(`let ${s.name} = ${printExpr(s.init)};`, s), line(`let ${d(ctx, s.name)} = 0;`, s)],
  copy(ctx, s) {
    const out = [line(`${s.dst}.set(${s.src});`, s)];
    if (has(ctx, s.dst))
      out.push(
        line(
          has(ctx, s.src) ? `${d(ctx, s.dst)}.set(${d(ctx, s.src)});` : `${d(ctx, s.dst)}.fill(0, 0, ${s.src}.length);`,
          s,
        ),
      );
    return out;
  },
  fill(ctx, s) {
    const out = [line(`${s.dst}.fill(${printExpr(s.value)});`, s)];
    if (has(ctx, s.dst)) out.push(line(`${d(ctx, s.dst)}.fill(0);`, s));
    return out;
  },
  swap(ctx, s) {
    const out = [line(`[${s.a}, ${s.b}] = [${s.b}, ${s.a}];`, s)];
    if (has(ctx, s.a)) out.push(line(`[${d(ctx, s.a)}, ${d(ctx, s.b)}] = [${d(ctx, s.b)}, ${d(ctx, s.a)}];`, s));
    return out;
  },
  loop: (ctx, s) => [
    line(`// from ${ctx.fileName}:${s.loc.line}`, s),
    nest(forHeader(s.header), stmts(ctx, s.body), undefined, s),
  ],
  return: (ctx, s) => [line(s.value ? `return [${s.value}, ${d(ctx, s.value)}];` : 'return;', s)],
  if: (ctx, s) => [{ k: 'if', cond: s.cond, then: stmts(ctx, s.then), else: stmts(ctx, s.else), loc: s.loc }],
};
