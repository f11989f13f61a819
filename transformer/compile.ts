/**
 * The parad pipeline, read top to bottom:
 *   parse → lower to IR (enforcing the kernel subset) → check → analyze → differentiate → emit.
 */
import { ts } from 'ts-morph';
import { DiagnosticSink, type Diagnostic } from './diagnostics.js';
import type { KernelMeta } from '../runtime/index.js';
import type { Kernel, KernelFile } from './ir/types.js';
import { lowerProgram, type ResolveImport } from './ir/program.js';
import type { Layer } from './ir/layer.js';
import { layerTangent } from './differentiate/layer-tangent.js';
import { layerAdjoint } from './differentiate/layer-adjoint.js';
import { gpuLayers } from './emit/wgsl/layers.js';
import { layerContext } from './differentiate/layer-common.js';
import { layerReport, type LayerReport } from './analysis/layer-saves.js';
import { CODES } from './check/codes.js';
import { analyzeActivity, type Activity } from './analysis/activity.js';
import { planTape } from './analysis/tape.js';
import { makeNeeds } from './differentiate/needs.js';
import { tangentFunction } from './differentiate/tangent.js';
import { adjointFunction } from './differentiate/adjoint.js';
import { emitModule, type KernelOutput } from './emit/module.js';
import { replayFunction } from './emit/replay.js';
import { wgslKernel } from './emit/wgsl/index.js';
import { Names } from './naming.js';
import { forEachStmt } from './ir/walk.js';
import type { FunctionIR } from './differentiate/function.js';
import { analyzeNests, type KernelReport, type LoopReport, type Strategy } from './analysis/exclusive/index.js';
import type { ForLoop, Stmt } from './ir/types.js';

export type Mode = 'd' | 'b';

export interface CompileOptions {
  /** Name used in diagnostics and in `// from <file>:LINE` comments (e.g. `kernels/blur.ts`). */
  fileName: string;
  /** Output language: TypeScript (default) or JavaScript (types stripped). */
  format?: 'ts' | 'js';
  /** Derivative modes to generate; default both. */
  modes?: Mode[];
  /** Prove each parallel loop is parallel (default true; PARAD2001 errors, PARAD2002 warnings). */
  races?: boolean;
  /** Use this adjoint strategy for every parallel read where it applies (testing, experiments). */
  strategy?: Strategy;
  /** Targets: `ts` (always) and `wgsl` (also export `wgsl`: compute shaders and host functions, docs/wgsl.md). */
  targets?: Target[];
  /**
   * Reads the files a layer imports kernels and layers from (default: from disk, relative to
   * `fileName`); their functions are emitted module-local.
   */
  resolveImport?: ResolveImport;
}

export type Target = 'ts' | 'wgsl';

export interface CompileResult {
  /** Generated module text; `undefined` when there are errors. */
  code?: string;
  /** Errors and warnings, in source order. */
  diagnostics: Diagnostic[];
  /**
   * With target wgsl: the same reports with the strategies the WGSL adjoint uses (the GPU schedule
   * falls back where the JavaScript one does not, e.g. no per-iteration copies of an adjoint indexed
   * by the parallel loops); `analysis` has the TypeScript adjoint's.
   */
  gpuAnalysis?: { file: string; kernels: KernelReport[] };
  /** Per line of `code` (TypeScript format), the kernel source line it comes from (0: none), for source maps. */
  sourceLines?: number[];
  /** With target wgsl: every shader, by the function it belongs to (`heat_d`) and its pass number. */
  shaders?: { fn: string; pass: number; code: string }[];
  /** One entry per kernel found (also exported by the generated module as `__parad`). */
  kernels: KernelMeta[];
  /**
   * The exclusive-read analysis of every parallel loop nest, with the adjoint strategy emitted for
   * each read (what `parad analyze` prints).
   */
  analysis: { file: string; kernels: KernelReport[]; layers?: LayerReport[] };
}

/**
 * Asynchronous because the exclusive-read analysis may need z3 (loaded on first use).
 */
export async function compile(source: string, options: CompileOptions): Promise<CompileResult> {
  const sink = new DiagnosticSink(options.fileName, source);
  const modes = options.modes ?? ['d', 'b'];

  // parse + lower (the subset check happens while lowering) + semantic checks
  const file = frontEnd(source, options.fileName, sink, options.resolveImport);
  const metas = file.kernels.map((k) => metaOf(k, modes, k.origin ?? options.fileName));
  const layerMetas = file.layers.map((l) => ({ ...metaOf(l, modes, l.origin ?? options.fileName), kind: 'layer' as const }));
  const analysis: CompileResult['analysis'] = { file: options.fileName, kernels: [] };
  const gpuAnalysis = { file: options.fileName, kernels: [] as KernelReport[] };
  const own = [...metas.filter((_, i) => !file.kernels[i].origin), ...layerMetas.filter((_, i) => !file.layers[i].origin)];
  const done = (code?: string): CompileResult => ({ code, diagnostics: sortDiagnostics(sink.list), kernels: own, analysis });
  if (sink.hasErrors) return done();
  const ownLayers = file.layers.filter((l) => !l.origin);
  if (ownLayers.length) analysis.layers = ownLayers.map((l) => layerReport(l, file.callees));

  // exclusive read: which reads of each parallel nest iterations share; is each nest parallel
  const nests = new Map<Kernel, Map<ForLoop, LoopReport>>();
  const activities = new Map(file.kernels.map((k) => [k, analyzeActivity(k)]));
  for (const k of file.kernels) {
    const { report, byLoop } = await analyzeCached(k, activities.get(k)!, options.races ?? true);
    nests.set(k, byLoop);
    if (!k.origin) analysis.kernels.push(report);
    reportNests(k, byLoop, sink);
  }
  if (sink.hasErrors) return done();

  // analyze → differentiate, per kernel, then per layer
  const runtime = new Set<string>();
  const outputs: KernelOutput[] = [];
  const guarded = (name: string, at: number, f: () => KernelOutput) => {
    try {
      outputs.push(f());
    } catch (e) {
      // a bug in parad, not in the kernel: still a located diagnostic, never a crash
      sink.error(CODES.internal, `internal error while differentiating '${name}': ${(e as Error).message}. Please report it with this kernel.`, at, at + 1);
    }
  };
  file.kernels.forEach((k, i) => guarded(k.name, k.origin ? 0 : k.loc.start, () => differentiateKernel(k, i)));
  file.layers.forEach((l, i) => guarded(l.name, l.origin ? 0 : l.loc.start, () => differentiateLayer(l, i)));
  if (sink.hasErrors) return done();
  if (options.targets?.includes('wgsl')) gpuLayers(file, outputs, modes, options.fileName, sink);

  function differentiateLayer(layer: Layer, i: number): KernelOutput {
    const ctx = layerContext(layer, file, options.fileName);
    const functions: FunctionIR[] = [];
    if (modes.includes('d')) functions.push(layerTangent(ctx));
    if (modes.includes('b')) {
      const adjoint = layerAdjoint(ctx);
      for (const r of adjoint.runtime) runtime.add(r);
      functions.push(adjoint);
    }
    return { sourceText: layer.sourceText, functions, meta: layerMetas[i], local: layer.origin };
  }

  function differentiateKernel(k: Kernel, i: number): KernelOutput {
    const userNames = namesOf(k);
    const names = new Names(userNames);
    const activity = activities.get(k)!;
    const functions: FunctionIR[] = [];
    let gpuAdjoint: FunctionIR | undefined;
    if (modes.includes('d')) functions.push(tangentFunction(k, activity, names, options.fileName));
    if (modes.includes('b')) {
      const plan = planTape(k, activity, makeNeeds(activity, userNames));
      if (plan.usesTape) runtime.add('Tape');
      const byLoop = nests.get(k)!;
      // the WGSL adjoint schedules on copies of the reports as the analysis gave them
      const copies = options.targets?.includes('wgsl') ? new Map([...byLoop].map(([loop, r]) => [loop, structuredClone(r)])) : undefined;
      functions.push(adjointFunction(k, activity, plan, names, options.fileName, { reads: (loop) => byLoop.get(loop)?.reads, force: options.strategy }));
      // the WGSL adjoint: the same sweeps, the nests scheduled for the GPU
      if (copies) {
        gpuAdjoint = adjointFunction(k, activity, plan, names, options.fileName, { reads: (loop) => copies.get(loop)?.reads, force: options.strategy, gpu: true });
        const report = analysis.kernels.find((r) => r.name === k.name)!;
        gpuAnalysis.kernels.push({ ...report, loops: [...copies.values()] });
      }
    }
    // exclusive reads assumed by pragmas: a replay for parad/testing to check them on data
    const replay = replayFunction(k, nests.get(k)!, names);
    if (replay) {
      functions.push(replay);
      metas[i].assumptions = [...nests.get(k)!.values()].flatMap((l) => {
        const arrays = l.reads.filter((r) => r.assumed).map((r) => r.name);
        return arrays.length ? [{ line: l.line, arrays }] : [];
      });
    }
    // an imported kernel's WGSL (for the layers that call it): its own transpilation reports its problems
    const wgslSink = k.origin ? new DiagnosticSink(k.origin, '') : sink;
    const wgsl = options.targets?.includes('wgsl') ? wgslKernel(k, functions, gpuAdjoint, names, wgslSink) : undefined;
    return { sourceText: k.sourceText, functions, meta: metas[i], replay: replay?.name, wgsl, local: k.origin };
  }

  // emit
  const emitted = emitModule(file, outputs, runtime);
  let code = emitted.code;
  const shaders = options.targets?.includes('wgsl') ? outputs.flatMap((o) => (o.wgsl ?? []).flatMap((p) => p.passes.map((pass, i) => ({ fn: p.name, pass: i, code: pass.code })))) : undefined;
  if (options.format === 'js') {
    code = ts.transpileModule(code, {
      compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, verbatimModuleSyntax: false },
    }).outputText;
  }
  return { ...done(code), ...(shaders ? { shaders, gpuAnalysis } : {}), ...(options.format === 'js' ? {} : { sourceLines: emitted.sourceLines }) };
}

/**
 * The analysis of a kernel depends on its text only: recompiling an unchanged kernel (watch mode,
 * the same kernel with other options) reuses it. Callers get their own copy (the adjoint
 * scheduler records fallbacks in it).
 */
const analysisCache = new Map<string, KernelReport>();
const CACHE_SIZE = 256;

/** Forgets every cached analysis (benchmarks time the analysis itself). */
export function clearAnalysisCache(): void {
  analysisCache.clear();
}

async function analyzeCached(k: Kernel, activity: Activity, races: boolean): Promise<{ report: KernelReport; byLoop: Map<ForLoop, LoopReport> }> {
  const key = `${races}\0${k.doc}\0${k.sourceText}`;
  let cached = analysisCache.get(key);
  if (!cached) {
    cached = (await analyzeNests(k, activity, { races })).report;
    if (analysisCache.size >= CACHE_SIZE) analysisCache.delete(analysisCache.keys().next().value!);
    analysisCache.set(key, cached);
  }
  const report = structuredClone(cached);
  // the nests in the analysis' order: outermost @parallel loops, in source order
  const roots: ForLoop[] = [];
  const visit = (body: Stmt[]) => {
    for (const s of body) {
      if (s.k === 'for' && s.parallel) roots.push(s);
      else if (s.k === 'for') visit(s.body);
      else if (s.k === 'if') { visit(s.then); visit(s.else); }
    }
  };
  visit(k.body);
  if (roots.length !== report.loops.length) return analyzeNests(k, activity, { races });
  return { report, byLoop: new Map(roots.map((loop, i) => [loop, report.loops[i]])) };
}

/**
 * Races (errors with a witness, or warnings when not decidable) and reads needing atomics. A kernel
 * of an imported file gets its races only, as errors of the import (its own transpilation reports the rest).
 */
function reportNests(k: Kernel, byLoop: Map<ForLoop, LoopReport>, sink: DiagnosticSink): void {
  for (const [loop, report] of byLoop) {
    if (k.origin) {
      for (const race of report.races) {
        if (race.verdict === 'race') sink.error(CODES.layerImport, `kernel '${k.name}' of ${k.origin}: the @parallel loop at line ${report.line} is not parallel: ${race.reason}`, 0, 0);
      }
      continue;
    }
    const at = loop.loc ?? { start: k.loc.start, end: k.loc.start + 1 };
    for (const race of report.races) {
      if (race.verdict === 'race') sink.error(CODES.notParallel, `this @parallel loop is not parallel: ${race.reason}`, at.start, at.end);
      else sink.warning(CODES.maybeNotParallel, `cannot prove this @parallel loop is parallel for ${race.array}: ${race.reason}`, at.start, at.end);
    }
    for (const r of report.reads) {
      if (r.exclusiveRead === 'unknown' && !r.assumed && r.strategy === 'atomic') {
        sink.warning(CODES.unknownExclusiveRead, `reads of ${r.name} may not be exclusive (${r.reason}); the adjoint needs atomic updates for it.${r.witness ? '' : ` A pragma // @parallel exclusive-read(${r.name}) states otherwise.`}`, at.start, at.end);
      }
    }
  }
}

/**
 * parse → lower (enforcing the kernel subset; layers and the kernel files they import) → semantic
 * checks; diagnostics go to `sink`.
 */
export function frontEnd(source: string, fileName: string, sink: DiagnosticSink, resolve?: ResolveImport): KernelFile {
  const { main, imported } = lowerProgram(source, fileName, sink, resolve);
  const typeImports = new Set(main.typeImports);
  const callees = new Map(main.callees);
  const kernels = [...main.kernels];
  const layers: Layer[] = [];
  for (const u of imported) {
    kernels.push(...u.kernels.map((k) => ({ ...k, origin: u.fileName })));
    layers.push(...u.layers.map((l) => ({ ...l, origin: u.fileName })));
    for (const [name, c] of u.callees) if (!callees.has(name)) callees.set(name, c);
    for (const t of u.typeImports) typeImports.add(t);
  }
  layers.push(...main.layers);
  return { fileName, kernels, layers, callees, typeImports: [...typeImports] };
}

export function sortDiagnostics(list: Diagnostic[]): Diagnostic[] {
  return [...list].sort((a, b) => a.line - b.line || a.column - b.column);
}

function metaOf(k: Pick<Kernel, 'name' | 'params' | 'returns' | 'loc'>, modes: Mode[], fileName: string): KernelMeta {
  return {
    name: k.name,
    params: k.params.map((p) => ({ name: p.name, type: p.type, kind: p.kind, active: p.active })),
    returns: k.returns,
    modes: [...modes],
    source: { file: fileName, line: k.loc.line },
  };
}

function namesOf(k: Kernel): Set<string> {
  const out = new Set<string>([k.name, 'Math', 'Tape']);
  for (const p of k.params) out.add(p.name);
  forEachStmt(k.body, (s) => {
    if (s.k === 'decl') out.add(s.name);
    if (s.k === 'for') out.add(s.v);
  });
  return out;
}
