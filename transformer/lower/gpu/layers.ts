/**
 * The WebGPU variant of a layer's function (target wgsl; docs/layers.md): the same IR as its
 * JavaScript version, run over parad/runtime's device arrays, except for the floats that calls
 * return. On the GPU a call's value stays on the device until the run ends, so arithmetic on it is
 * a runtime call: `x += v` becomes `x = add(x, v)`, and a scale of it (`c * v`, `v / d`, `-v`, the
 * forms layer-common.ts's `times` builds) becomes `scaled(c, v)`. A value is a call's when it is a
 * call (`K(…)`, `K_d(…)`, `K_b(…)`), a field of the record a call returns (`r.kb`), or a local
 * declared from one (`const [v, vd] = K_d(…)`, `const r = K_b(…)`). Everything else (the adjoints
 * of the returned floats, integers, array bindings) is a host number and stays as it is.
 */
import type { Expr, Stmt } from '../../ir/types.js';
import type { FunctionIR } from '../../differentiate/function.js';
import { num } from '../../ir/build.js';
import { forEachStmt, mapBlocks } from '../../ir/walk.js';

export function lowerLayerForGpu(fn: FunctionIR): FunctionIR {
  const device = deviceLocals(fn.body);
  const isDevice = (e: Expr): boolean =>
    e.k === 'apply' ||
    (e.k === 'member' && isDevice(e.e)) ||
    (e.k === 'var' && device.has(e.name)) ||
    (e.k === 'runtime' && (e.call.fn === 'add' || e.call.fn === 'scaled'));
  const scaled = (c: Expr, v: Expr): Expr => ({ k: 'runtime', call: { fn: 'scaled', c, v } });
  /** a value of the layer's float arithmetic: `c * v`, `v / d`, `-v` of a device value `v` → `scaled(c, v)` */
  const value = (e: Expr): Expr => {
    if (e.k === 'binary' && e.op === '*' && isDevice(e.r)) return scaled(e.l, e.r);
    if (e.k === 'binary' && e.op === '/' && isDevice(e.l))
      return scaled({ k: 'binary', op: '/', l: num(1), r: e.r }, e.l);
    if (e.k === 'unary' && e.op === '-' && isDevice(e.e)) return scaled(num(-1), e.e);
    return e;
  };
  const lower = (body: Stmt[]): Stmt[] =>
    body.map((s): Stmt => {
      if (s.k !== 'assign' || s.target.k !== 'var') return mapBlocks(s, lower);
      const v = value(s.value);
      if (s.op === '+=' && isDevice(v))
        return { ...s, op: '=', value: { k: 'runtime', call: { fn: 'add', a: s.target, b: v } } };
      return v === s.value ? s : { ...s, value: v };
    });
  return { ...fn, body: lower(fn.body) };
}

/** The locals declared from a call's value (a pair a tangent returns, the record an adjoint returns). */
function deviceLocals(body: Stmt[]): Set<string> {
  const out = new Set<string>();
  forEachStmt(body, (s) => {
    if (s.k === 'destructure' && s.decl && s.value.k === 'apply') for (const n of s.names) out.add(n);
    if (s.k === 'decl' && s.init.k === 'apply') out.add(s.name);
  });
  return out;
}
