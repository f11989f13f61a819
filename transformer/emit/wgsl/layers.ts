/**
 * The WebGPU variants of layers (target wgsl; docs/layers.md): each layer's primal, `L_d` and `L_b`
 * as generated for JavaScript, lowered for parad/runtime's device arrays (lower/gpu/layers.ts: the
 * floats of calls stay on the device, summed with `add`, scaled with `scaled`). Its kernels' calls record
 * their WGSL passes into one command encoder; copies, fills and the adjoint's saves are buffer
 * copies; the floats that calls return stay on the device (summed with `add`) until the run ends.
 * A layer gets a variant when it is 32-bit, every callee has one, and no float local is passed
 * to a kernel as a value (a device value cannot be a uniform without a read-back); else a warning.
 */
import type { KernelFile } from '../../ir/file.js';
import type { Layer } from '../../ir/layer.js';
import { forEachLStmt } from '../../ir/layer.js';
import type { DiagnosticSink } from '../../diagnostics.js';
import { CODES } from '../../check/codes.js';
import type { GpuLayerOut, KernelOutput } from '../module.js';
import type { Mode } from '../../naming.js';
import type { LayerFunctions } from '../../differentiate/layer-common.js';
import { lowerLayerForGpu } from '../../lower/gpu/layers.js';

/**
 * Sets `gpuLayer` on the outputs of the layers that can run on WebGPU (their functions, by layer
 * name, as differentiated once for both targets); warns about the others.
 */
export function gpuLayers(
  file: KernelFile,
  outputs: KernelOutput[],
  functions: Map<string, LayerFunctions>,
  modes: Mode[],
  sink: DiagnosticSink,
): void {
  const byName = new Map(outputs.map((o) => [o.meta.name, o]));
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
      const out = byName.get(s.callee);
      if (!callee || !out) return;
      if (callee.kind === 'layer') {
        const inner = file.layers.find((l) => l.name === s.callee);
        const p = inner && problem(inner);
        if (p) why = `its callee '${s.callee}' cannot: ${p}`;
        return;
      }
      const programs = out.wgsl ?? [];
      for (const mode of ['primal', ...modes] as const) {
        if (!programs.some((p) => p.mode === mode))
          why = `kernel '${s.callee}' has no WGSL ${mode === 'primal' ? 'version' : `K_${mode}`}`;
      }
    });
    return why;
  };
  for (const layer of file.layers) {
    const why = problem(layer);
    const out = byName.get(layer.name);
    if (out?.meta.kind !== 'layer') continue;
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
    const f = functions.get(layer.name)!;
    out.gpuLayer = {
      primal: lowerLayerForGpu(f.primal),
      ...(f.d ? { d: lowerLayerForGpu(f.d) } : {}),
      ...(f.b ? { b: lowerLayerForGpu(f.b) } : {}),
      uses: [...uses],
    };
  }
}
