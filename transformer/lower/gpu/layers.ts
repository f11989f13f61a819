/**
 * The WebGPU variants of layers (target wgsl; docs/layers.md): each layer's primal, `L_d` and `L_b`
 * as generated for JavaScript, lowered for parad/runtime's device arrays. Its kernels' calls record
 * their WGSL passes into one command encoder; copies, fills and the adjoint's saves are buffer
 * copies; the floats that calls return stay on the device until the run ends: `x += v` becomes
 * `x = add(x, v)`, and a scale of it (`c * v`, `v / d`, `-v`, the forms layer-common.ts's `times`
 * builds) becomes `scaled(c, v)`. A value is a call's when it is a call (`K(…)`, `K_d(…)`,
 * `K_b(…)`), a field of the record a call returns (`r.kb`), or a local declared from one
 * (`const [v, vd] = K_d(…)`, `const r = K_b(…)`). Everything else (the adjoints of the returned
 * floats, integers, array bindings) is a host number and stays as it is.
 *
 * A layer gets a variant when it is 32-bit, every callee has one, and no float local is passed to
 * a kernel as a value (a device value cannot be a uniform without a read-back); else a warning.
 */
import type { Expr, Stmt } from '../../ir/types.js';
import type { FunctionIR } from '../../differentiate/function.js';
import { num } from '../../ir/build.js';
import { forEachStmt, mapBlocks } from '../../ir/walk.js';
import type { KernelFile } from '../../ir/file.js';
import type { Layer } from '../../ir/layer.js';
import { forEachLStmt } from '../../ir/layer.js';
import type { DiagnosticSink } from '../../diagnostics.js';
import { CODES } from '../../check/codes.js';
import type { Mode } from '../../naming.js';
import type { LayerFunctions } from '../../differentiate/layer-common.js';

/** A layer's WebGPU variant: its functions lowered, and what they call. */
export interface GpuLayer {
  primal: FunctionIR;
  d?: FunctionIR;
  b?: FunctionIR;
  /** the kernels and layers the code calls (their WebGPU versions, by function name) */
  uses: string[];
}

/**
 * The WebGPU variants of the layers that can run on WebGPU, by layer name (their functions as
 * differentiated once for both targets, lowered); a warning for each of the others. `kernels`: the
 * programs each kernel of the module has on WebGPU (`primal`, `d`, `b`), by kernel name.
 */
export function gpuLayers(
  file: KernelFile,
  kernels: Map<string, Set<'primal' | 'd' | 'b'>>,
  functions: Map<string, LayerFunctions>,
  modes: Mode[],
  sink: DiagnosticSink,
): Map<string, GpuLayer> {
  const variants = new Map<string, GpuLayer>();
  const problems = new Map<string, string>();
  // callees first: a layer's problem may be its callee's (layers are acyclic)
  const problem = (layer: Layer): string | undefined => {
    if (problems.has(layer.name)) return problems.get(layer.name) || undefined;
    problems.set(layer.name, '');
    const why = check(layer);
    problems.set(layer.name, why ?? '');
    return why;
  };
  const check = (layer: Layer): string | undefined => {
    for (const v of layer.vars.values())
      if (v.type === 'Float64Array' || v.type === 'f64') return `'${v.name}' is 64-bit (WebGPU runs 32-bit floats)`;
    if (layer.returns === 'f64') return 'it returns f64';
    let why: string | undefined;
    forEachLStmt(layer.body, (s) => {
      if (why || s.k !== 'call') return;
      for (const a of s.args) {
        if (a.k === 'scalar' && layer.vars.get(a.name)?.kind === 'float')
          why = `it passes the float local '${a.name}' to '${s.callee}' (on the GPU a call's value stays on the device)`;
      }
      const callee = file.callees.get(s.callee);
      if (!callee) return;
      if (callee.kind === 'layer') {
        const inner = file.layers.find((l) => l.name === s.callee);
        const p = inner && problem(inner);
        if (p) why = `its callee '${s.callee}' cannot: ${p}`;
        return;
      }
      const programs = kernels.get(s.callee);
      if (!programs) return;
      for (const mode of ['primal', ...modes] as const) {
        if (!programs.has(mode))
          why = `kernel '${s.callee}' has no WGSL ${mode === 'primal' ? 'version' : `K_${mode}`}`;
      }
    });
    return why;
  };
  for (const layer of file.layers) {
    const why = problem(layer);
    const f = functions.get(layer.name);
    if (!f) continue;
    if (why) {
      if (!layer.origin)
        sink.warning(
          CODES.wgslLayer,
          `layer '${layer.name}' runs in JavaScript only: ${why}`,
          layer.loc.start,
          layer.loc.start + 1,
        );
      continue;
    }
    const uses = new Set<string>();
    forEachLStmt(layer.body, (s) => {
      if (s.k === 'call') for (const m of ['', '_d', '_b']) uses.add(`${s.callee}${m}`);
    });
    variants.set(layer.name, {
      primal: lowerLayerForGpu(f.primal),
      ...(f.d ? { d: lowerLayerForGpu(f.d) } : {}),
      ...(f.b ? { b: lowerLayerForGpu(f.b) } : {}),
      uses: [...uses],
    });
  }
  return variants;
}

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
