/**
 * The WebGPU lowering of one kernel: for the primal, `K_d` and `K_b`, the compute passes (one per
 * `@parallel` nest, plus the adjoint's gather passes and single-invocation passes) as IR, and the
 * host function that dispatches them (see program.ts); emit/wgsl prints them. This phase decides
 * what runs on the GPU: a kernel or derivative it cannot lower gets a diagnostic located at the
 * statement (or the kernel) and stays in JavaScript; the TypeScript output is unaffected.
 */
import type { Kernel } from '../../ir/types.js';
import type { FunctionIR } from '../../differentiate/function.js';
import type { DiagnosticSink } from '../../diagnostics.js';
import { CODES } from '../../check/codes.js';
import { adjointName, gpuHostName, tangentName, type Names } from '../../naming.js';
import {
  STORAGE_BUFFER_LIMIT,
  storageBuffersNeeded,
  wgslProgram,
  type LoweredPass,
  type LoweredProgram,
} from './program.js';
import { GpuProblems, type GpuProblem } from './unsupported.js';
import { forEachStmt } from '../../ir/walk.js';
import { kernelReductionsOf } from '../../ir/reduction.js';
import { extremumRecords, extremumTangents } from './extremum.js';
import { productTangents } from './product.js';
import { deviceRecords } from './records.js';

/** What a kernel's program is besides its passes and host function. */
export interface GpuProgramInfo {
  /** `primal`, `d` or `b` */
  mode: 'primal' | 'd' | 'b';
  /** the TS function it mirrors (`heat`, `heat_d`, `heat_b`), its parameters */
  name: string;
  params: { name: string; type: string }[];
  /** the generated host function's name and its context parameter */
  hostName: string;
  ctx: string;
  /** the adjoint's returned object: keys in device-scalar slot order (`kappab` in slot 0, …) */
  results?: string[];
  /** the storage buffer holding the device scalars */
  deviceScalarBuffer?: string;
  /** derivative arrays and the arrays they belong to (`[ud, u]`): the runtime checks their lengths agree */
  partners?: [string, string][];
}

/** A kernel's program (K, K_d or K_b) on WebGPU, its passes lowered and not yet printed. */
export interface GpuProgram extends LoweredProgram, GpuProgramInfo {}

/**
 * `gpuAdjoint`: `K_b` with its nests scheduled for the GPU (schedule/ with `gpu`). If the backend
 * cannot lower it, `K` and `K_d` still run on WebGPU and the adjoint stays in JavaScript (warning).
 */
export function lowerKernel(
  k: Kernel,
  functions: FunctionIR[],
  gpuAdjoint: FunctionIR | undefined,
  names: Names,
  sink: DiagnosticSink,
): GpuProgram[] | undefined {
  const ctx = names.gpu();
  // a diagnostic's span: the statement the problem is about (generated code carries the kernel
  // statement's location), else the kernel's first character
  const at = (p: GpuProblem): [number, number] =>
    p.loc && p.loc.end > p.loc.start ? [p.loc.start, p.loc.end] : [k.loc.start, k.loc.start + 1];
  const sources: {
    mode: 'primal' | 'd';
    name: string;
    params: { name: string; type: string }[];
    body: FunctionIR['body'];
  }[] = [{ mode: 'primal', name: k.name, params: k.params, body: k.body }];
  // each derivative array with the array it belongs to
  const partners = (of: (n: string) => string): [string, string][] =>
    k.params.filter((p) => p.active && p.kind === 'array').map((p) => [of(p.name), p.name]);
  const tangent = functions.find((f) => f.name === tangentName(k.name));
  // a *=, max or min reduction of a parallel loop: K reduces on the GPU; the derivatives need the
  // tangent of the product (product.ts: zero counts and sums in the same pass) or the arg-extremum
  // (extremum.ts: the winning iteration found in a second pass); the adjoint of a product needs
  // nothing more (its coefficients are reductions already, differentiate/adjoint.ts)
  const reductions = [...kernelReductionsOf(k).values()].flat();
  const nonAdditive = reductions.find((r) => r.op !== '+');
  const pairReduction = nonAdditive && {
    what: `the ${nonAdditive.op === '*' ? '*=' : `Math.${nonAdditive.op}`} reduction of '${nonAdditive.name}'${
      'loc' in nonAdditive.updates[0] && nonAdditive.updates[0].loc ? ` (line ${nonAdditive.updates[0].loc.line})` : ''
    }`,
    why: nonAdditive.op === '*' ? 'the product of the other factors' : `the arg-${nonAdditive.op}`,
  };
  const extrema = reductions.filter((r) => r.op === 'max' || r.op === 'min');
  const products = reductions.filter((r) => r.op === '*');
  let tangentProgram: GpuProgram | undefined;
  let tangentWhy: string | undefined;
  if (tangent && pairReduction) {
    const d = (n: string) => names.d(n);
    const product = productTangents(tangent.body, new Set(products.map((r) => r.name)), d);
    const split = 'body' in product ? extremumTangents(product.body, new Set(extrema.map((r) => r.name)), d) : product;
    if ('why' in split) tangentWhy = split.why;
    else {
      const scalars = names.deviceScalars();
      const problems = new GpuProblems();
      const program = wgslProgram(tangent.params, split.body, ctx, problems, undefined, { scalars });
      if (problems.count) tangentWhy = problems.list[0].message;
      else
        tangentProgram = {
          ...program,
          mode: 'd',
          name: tangent.name,
          params: tangent.params,
          hostName: gpuHostName(tangent.name),
          ctx,
          ...(program.deviceScalars?.length ? { deviceScalarBuffer: scalars } : {}),
          partners: partners((n) => names.d(n)),
        };
    }
  }
  let adjointBody = gpuAdjoint?.body;
  let adjointWhy: string | undefined;
  if (gpuAdjoint && tangentProgram) {
    const records = extremumRecords(gpuAdjoint.body, new Set(extrema.map((r) => r.name)));
    if ('why' in records) adjointWhy = records.why;
    else adjointBody = deviceRecords(records.body);
  }
  if (pairReduction && tangentProgram) {
    if (gpuAdjoint && adjointWhy)
      sink.warning(
        CODES.wgslNoAdjoint,
        `${adjointName(k.name)} has no WGSL version: ${pairReduction.what} needs ${pairReduction.why} in the adjoint (${adjointWhy}); the WebGPU module runs ${k.name} and ${tangentName(k.name)}, the adjoint runs in JavaScript`,
        k.loc.start,
        k.loc.start + 1,
      );
  } else if (pairReduction && (tangent || gpuAdjoint))
    sink.warning(
      CODES.wgslNoAdjoint,
      `${[tangent && tangentName(k.name), gpuAdjoint && adjointName(k.name)].filter(Boolean).join(' and ')} of '${k.name}' have no WGSL version: ${pairReduction.what} runs on WebGPU in ${k.name} only (its derivatives need ${pairReduction.why}${tangentWhy ? `; ${tangentWhy}` : ''}); they run in JavaScript`,
      k.loc.start,
      k.loc.start + 1,
    );
  if (tangent && !pairReduction)
    sources.push({ mode: 'd', name: tangent.name, params: tangent.params, body: tangent.body });
  // K (and K_d): every problem found is an error of its own, at the statement it is about
  const scalars = names.deviceScalars();
  const problems = new GpuProblems();
  const out: GpuProgram[] = sources.map((s) => {
    const program = wgslProgram(s.params, s.body, ctx, problems, undefined, { scalars });
    return {
      ...program,
      mode: s.mode,
      name: s.name,
      params: s.params,
      hostName: gpuHostName(s.name),
      ctx,
      ...(program.deviceScalars?.length ? { deviceScalarBuffer: scalars } : {}),
      ...(s.mode === 'd' ? { partners: partners((n) => names.d(n)) } : {}),
    };
  });
  if (problems.count) {
    for (const p of problems.list)
      sink.error(CODES.wgslUnsupported, `kernel '${k.name}' cannot run on WebGPU: ${p.message}`, ...at(p));
    return undefined;
  }
  if (tangentProgram) out.push(tangentProgram);
  if (out[0].sequential) {
    sink.warning(
      CODES.wgslSequential,
      `kernel '${k.name}' has no @parallel loop: on WebGPU it runs as a single invocation`,
      k.loc.start,
      k.loc.start + 1,
    );
  }
  if (gpuAdjoint && adjointBody && (!pairReduction || (tangentProgram && !adjointWhy))) {
    const info = {
      results: gpuAdjoint.results ?? [],
      scalars: names.deviceScalars(),
      tapeSlots: names.tapeSlots(),
      tapeRegions: names.tapeRegions(),
    };
    const problems = new GpuProblems();
    const program = wgslProgram(gpuAdjoint.params, adjointBody, ctx, problems, info);
    // K_b: a warning per problem, at its statement; the adjoint stays in JavaScript
    for (const p of problems.list)
      sink.warning(
        CODES.wgslNoAdjoint,
        `${adjointName(k.name)} has no WGSL version: ${p.message}; the WebGPU module runs ${k.name} and ${tangentName(k.name)}, the adjoint runs in JavaScript`,
        ...at(p),
      );
    if (!problems.count) {
      const slots = program.deviceScalars ?? [];
      const results = info.results.map((r) => r.key);
      if (info.results.some((r, i) => slots[i] !== r.name))
        throw new Error(`internal: the returned scalars of ${gpuAdjoint.name} are not the first device slots`);
      out.push({
        ...program,
        mode: 'b',
        name: gpuAdjoint.name,
        params: gpuAdjoint.params,
        hostName: gpuHostName(gpuAdjoint.name),
        ctx,
        deviceScalarBuffer: info.scalars,
        partners: partners((n) => names.b(n)),
        ...(results.length ? { results } : {}),
      });
    }
  }
  // passes over WebGPU's default limit of storage buffers: packed (program.ts), said once per kernel
  const over = out.flatMap((p) =>
    p.passes.flatMap((pass, i) => {
      if (!pass.packs) return [];
      const line = passLine(pass);
      const shared = pass.packs.reduce((m, pk) => m + pk.members.length, 0);
      return [
        `${p.name} pass ${i}${line ? ` (line ${line})` : ''} needs ${storageBuffersNeeded(pass)} (${shared} arrays share ${pass.packs.length === 1 ? 'one binding' : `${pass.packs.length} bindings`})`,
      ];
    }),
  );
  if (over.length) {
    sink.warning(
      CODES.wgslBindings,
      `more storage buffers than WebGPU's default limit of ${STORAGE_BUFFER_LIMIT} per shader stage: ${over.join(', ')}; the shared ones are copied in before the pass and the written ones back after it`,
      k.loc.start,
      k.loc.start + 1,
    );
  }
  return out;
}

/** The first kernel line a pass comes from (its nest's, or its first located statement's), 0 if none. */
function passLine(pass: LoweredPass): number {
  if (pass.shape.kind !== 'single') return pass.shape.nest[0].loc?.line ?? 0;
  let line = 0;
  forEachStmt(pass.body, (s) => {
    if (!line && 'loc' in s && s.loc) line = s.loc.line;
  });
  return line;
}
