/**
 * The WGSL target of one kernel: for the primal and `K_d`, the compute passes (one per `@parallel`
 * nest) and the host function that dispatches them (see program.ts). Kernels or constructs the
 * backend does not lower get a diagnostic; the TypeScript output is unaffected.
 */
import type { Kernel } from '../../ir/types.js';
import type { FunctionIR } from '../../differentiate/function.js';
import type { DiagnosticSink } from '../../diagnostics.js';
import { CODES } from '../../check/codes.js';
import { adjointName, gpuHostName, tangentName, type Names } from '../../naming.js';
import { wgslProgram, type ProgramOut } from './program.js';
import { WgslUnsupported } from './expr.js';

export interface WgslProgramOut extends ProgramOut {
  /** `primal` or `d` */
  mode: 'primal' | 'd';
  /** the TS function it mirrors (`heat`, `heat_d`), its parameters */
  name: string;
  params: { name: string; type: string }[];
  /** the generated host function's name and its context parameter */
  hostName: string;
  ctx: string;
}

export function wgslKernel(k: Kernel, functions: FunctionIR[], names: Names, sink: DiagnosticSink): WgslProgramOut[] | undefined {
  const ctx = names.gpu();
  const sources: { mode: 'primal' | 'd'; name: string; params: { name: string; type: string }[]; body: FunctionIR['body'] }[] = [
    { mode: 'primal', name: k.name, params: k.params, body: k.body },
  ];
  const tangent = functions.find((f) => f.name === tangentName(k.name));
  if (tangent) sources.push({ mode: 'd', name: tangent.name, params: tangent.params, body: tangent.body });
  try {
    const out = sources.map((s) => ({ ...wgslProgram(s.params, s.body, ctx), mode: s.mode, name: s.name, params: s.params, hostName: gpuHostName(s.name), ctx }));
    if (out[0].sequential) {
      sink.warning(CODES.wgslSequential, `kernel '${k.name}' has no @parallel loop: on WebGPU it runs as a single invocation`, k.loc.start, k.loc.start + 1);
    }
    if (functions.some((f) => f.name === adjointName(k.name))) {
      sink.warning(CODES.wgslNoAdjoint, `${adjointName(k.name)} has no WGSL version yet: the WebGPU module runs ${k.name} and ${tangentName(k.name)}, the adjoint runs in JavaScript`, k.loc.start, k.loc.start + 1);
    }
    return out;
  } catch (e) {
    if (!(e instanceof WgslUnsupported)) throw e;
    sink.error(CODES.wgslUnsupported, `kernel '${k.name}' cannot run on WebGPU: ${e.message}`, k.loc.start, k.loc.start + 1);
    return undefined;
  }
}
