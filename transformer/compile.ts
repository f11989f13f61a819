/**
 * The parad pipeline, read top to bottom:
 *   parse → lower to IR (enforcing the kernel subset) → check → analyze → differentiate → emit.
 */
import { ts } from 'ts-morph';
import { DiagnosticSink, type Diagnostic, type Severity } from './diagnostics.js';
import type { KernelMeta } from '../runtime/index.js';
import type { Kernel } from './ir/types.js';
import type { KernelFile } from './ir/file.js';
import { lowerProgram, type ImportedFiles, type ResolveImport } from './parse/program.js';
import type { Layer } from './ir/layer.js';
import { layerTangent } from './differentiate/layer-tangent.js';
import { layerAdjoint, layerPrimal } from './differentiate/layer-adjoint.js';
import { gpuLayers } from './lower/gpu/layers.js';
import { layerContext, type LayerFunctions } from './differentiate/layer-common.js';
import { layerReport, type LayerReport } from './analysis/layer-saves.js';
import { CODES } from './check/codes.js';
import { analyzeActivity, type Activity } from './analysis/activity.js';
import { planTape } from './analysis/tape.js';
import { makeNeeds } from './differentiate/needs.js';
import { coefficientUpdates, kernelReductionsOf } from './ir/reduction.js';
import { tangentFunction } from './differentiate/tangent.js';
import { adjointFunction } from './differentiate/adjoint.js';
import { emitModule, type KernelOutput } from './emit/module.js';
import { replayFunction } from './emit/replay.js';
import { lowerKernel } from './lower/gpu/index.js';
import { printPrograms } from './emit/wgsl/index.js';
import { Names, type Mode } from './naming.js';
import { scheduleAdjoint, type Scheduled, type Target } from './schedule/index.js';
import { forEachStmt } from './ir/walk.js';
import { outlineFunction, type OutlineOptions } from './lower/outline.js';
import type { FunctionIR } from './differentiate/function.js';
import { analyzeNests, type KernelReport, type LoopReport, type Strategy } from './analysis/exclusive/index.js';
import type { ForLoop, Stmt } from './ir/types.js';

export type { Mode };

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
  /**
   * How the JavaScript adjoint's parallel nests are scheduled: `sequential` (default: JavaScript
   * runs them in order, so plain `xb[…] +=` updates are race-free and cheapest) or `parallel` (the
   * strategies a parallel machine needs, as on WebGPU: gathers, reductions, versioned nests).
   */
  schedule?: 'sequential' | 'parallel';
  /** Targets: `ts` (always) and `wgsl` (also export `wgsl`: compute shaders and host functions, docs/wgsl.md). */
  targets?: Target[];
  /**
   * When the JavaScript output splits a big generated function into module-local parts (V8 does not
   * optimize functions over 60 KB of bytecode; lower/outline.ts): estimated sizes in bytes of the
   * function that stays whole and of one part. Testing and experiments; `false`: never.
   */
  outline?: OutlineOptions | false;
  /**
   * Reads the files a layer imports kernels and layers from (default: from disk, relative to
   * `fileName`); their functions are emitted module-local.
   */
  resolveImport?: ResolveImport;
}

export type { Target } from './schedule/index.js';

export interface CompileResult {
  /** Generated module text; `undefined` when there are errors. */
  code?: string;
  /** Errors and warnings, in source order. */
  diagnostics: Diagnostic[];
  /**
   * Per line of `code` (TypeScript format), the kernel source line it comes from (0: none), for
   * source maps: a line of `sourceFiles[sourceFileOf[i]]`.
   */
  sourceLines?: number[];
  /** The files of `sourceLines`: `fileName`, then each imported file whose kernels the module holds. */
  sourceFiles?: string[];
  /** Per line of `code`, the index in `sourceFiles` of the file its `sourceLines` entry is a line of. */
  sourceFileOf?: number[];
  /** With target wgsl: every shader, by the function it belongs to (`heat_d`) and its pass number. */
  shaders?: { fn: string; pass: number; code: string }[];
  /** One entry per kernel found (also exported by the generated module as `__parad`). */
  kernels: KernelMeta[];
  /**
   * The exclusive-read analysis of every parallel loop nest, with the schedule's decision for each
   * read: `strategy`/`reason` for a parallel target (WebGPU), `targets.ts` and `targets.wgsl` per
   * target (what `parad analyze` prints).
   */
  analysis: { file: string; kernels: KernelReport[]; layers?: LayerReport[] };
}

/**
 * Asynchronous because the exclusive-read analysis may need z3 (loaded on first use). The phases:
 * front end (parse, lower, check) → exclusive-read analysis → differentiate → schedule (per
 * target) → GPU lowering → emit.
 */
export async function compile(source: string, options: CompileOptions): Promise<CompileResult> {
  const sink = new DiagnosticSink(options.fileName, source);
  const modes = options.modes ?? ['d', 'b'];
  const targets: Target[] = options.targets?.includes('wgsl') ? ['ts', 'wgsl'] : ['ts'];
  const done = (front: FrontEnd | undefined, code?: string): CompileResult => ({
    code,
    diagnostics: sortDiagnostics(sink.list, options.fileName),
    kernels: front?.own ?? [],
    analysis: front?.analysis ?? { file: options.fileName, kernels: [] },
  });

  const front = checkedFrontEnd(source, options, modes, sink);
  if (sink.hasErrors) return done(front);
  const analyzed = await analyzePhase(front, options, sink);
  if (sink.hasErrors) return done(front);
  const derivatives = differentiatePhase(front, analyzed, modes, options.fileName, sink);
  if (sink.hasErrors) return done(front);
  // both targets' schedules, whichever are emitted: the report gives the decisions for each
  const scheduled = schedulePhase(
    analyzed,
    derivatives,
    ['ts', 'wgsl'],
    options.strategy,
    options.schedule === 'parallel',
  );
  front.analysis.kernels = withTargets(front.analysis.kernels, analyzed, derivatives, scheduled);
  reportAtomics(front.analysis.kernels, analyzed, sink);

  // GPU lowering, then emit
  const outputs = derivatives.map((d, i) => outputOf(front, analyzed, d, scheduled[i], options, sink));
  if (sink.hasErrors) return done(front);
  if (targets.includes('wgsl')) {
    // the layers' WebGPU variants: those whose callees all run on WebGPU
    const kernels = new Map(outputs.map((o) => [o.meta.name, new Set((o.wgsl ?? []).map((p) => p.mode))]));
    const variants = gpuLayers(front.file, kernels, layerFunctionsOf(derivatives), modes, sink);
    for (const o of outputs) {
      const v = variants.get(o.meta.name);
      if (v && o.meta.kind === 'layer') o.gpuLayer = v;
    }
  }
  const runtime = new Set([
    ...derivatives.flatMap((d) => d.runtime),
    ...scheduled.flatMap((s) => s.ts?.runtime ?? []),
    ...outputs.flatMap((o) => o.runtime ?? []),
  ]);
  const emitted = emitModule(front.file, outputs, runtime);
  let code = emitted.code;
  const shaders = targets.includes('wgsl')
    ? outputs.flatMap((o) =>
        (o.wgsl ?? []).flatMap((p) => p.passes.map((pass, i) => ({ fn: p.name, pass: i, code: pass.code }))),
      )
    : undefined;
  if (options.format === 'js') {
    code = ts.transpileModule(code, {
      compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, verbatimModuleSyntax: false },
    }).outputText;
  }
  return {
    ...done(front, code),
    ...(shaders ? { shaders } : {}),
    ...(options.format === 'js'
      ? {}
      : { sourceLines: emitted.sourceLines, sourceFiles: emitted.sourceFiles, sourceFileOf: emitted.sourceFileOf }),
  };
}

/**
 * The phases of compile() up to the schedule, for `parad analyze`: the report with every target's
 * decisions and the diagnostics; no code is printed.
 */
export async function analyzeSource(
  source: string,
  options: Pick<CompileOptions, 'fileName' | 'races' | 'resolveImport'>,
): Promise<Pick<CompileResult, 'analysis' | 'diagnostics'>> {
  const sink = new DiagnosticSink(options.fileName, source);
  const done = (front: FrontEnd) => ({
    diagnostics: sortDiagnostics(sink.list, options.fileName),
    analysis: front.analysis,
  });
  const front = checkedFrontEnd(source, options, ['b'], sink);
  if (sink.hasErrors) return done(front);
  const analyzed = await analyzePhase(front, options, sink);
  if (sink.hasErrors) return done(front);
  const derivatives = differentiatePhase(
    { ...front, file: { ...front.file, layers: [] } },
    analyzed,
    ['b'],
    options.fileName,
    sink,
  );
  if (sink.hasErrors) return done(front);
  front.analysis.kernels = withTargets(
    front.analysis.kernels,
    analyzed,
    derivatives,
    schedulePhase(analyzed, derivatives, ['ts', 'wgsl']),
  );
  reportAtomics(front.analysis.kernels, analyzed, sink);
  return done(front);
}

/** The front end's result: the lowered file, its metadata, the report being built. */
interface FrontEnd {
  file: KernelFile;
  metas: KernelMeta[];
  layerMetas: KernelMeta[];
  /** metadata of this file's own kernels and layers (not imported ones) */
  own: KernelMeta[];
  analysis: CompileResult['analysis'];
  /** the files read for the imports (where their diagnostics go) */
  imports: ImportedFiles;
}

/** parse → lower (the subset check) → semantic checks, and the layer reports. */
function checkedFrontEnd(source: string, options: CompileOptions, modes: Mode[], sink: DiagnosticSink): FrontEnd {
  const { imports, ...file } = frontEnd(source, options.fileName, sink, options.resolveImport);
  const metas = file.kernels.map((k) => metaOf(k, modes, k.origin ?? options.fileName));
  const layerMetas = file.layers.map((l) => ({
    ...metaOf(l, modes, l.origin ?? options.fileName),
    kind: 'layer' as const,
  }));
  const own = [
    ...metas.filter((_, i) => !file.kernels[i].origin),
    ...layerMetas.filter((_, i) => !file.layers[i].origin),
  ];
  const analysis: CompileResult['analysis'] = { file: options.fileName, kernels: [] };
  const ownLayers = file.layers.filter((l) => !l.origin);
  if (!sink.hasErrors && ownLayers.length) analysis.layers = ownLayers.map((l) => layerReport(l, file.callees));
  return { file, metas, layerMetas, own, analysis, imports };
}

/** Per kernel: its activity and the exclusive-read analysis of its nests (by outermost loop). */
interface Analyzed {
  activity: Activity;
  nests: Map<ForLoop, LoopReport>;
}

/** Exclusive read: which reads of each parallel nest iterations share; is each nest parallel. */
async function analyzePhase(
  front: FrontEnd,
  options: { races?: boolean },
  sink: DiagnosticSink,
): Promise<Map<Kernel, Analyzed>> {
  const out = new Map<Kernel, Analyzed>();
  for (const k of front.file.kernels) {
    const activity = analyzeActivity(k);
    const { report, byLoop } = await analyzeCached(k, activity, options.races ?? true);
    out.set(k, { activity, nests: byLoop });
    if (!k.origin) front.analysis.kernels.push(report);
    reportNests(k, byLoop, sink, front.imports);
  }
  return out;
}

/** A kernel's or layer's derivatives before scheduling. */
interface Derivatives {
  kernel?: Kernel;
  layer?: Layer;
  index: number;
  names?: Names;
  /** tangent, adjoint (nests unscheduled), replay: in output order */
  functions: FunctionIR[];
  /** the adjoint among `functions` */
  adjoint?: FunctionIR;
  replay?: FunctionIR;
  /** runtime values the module imports from 'parad' */
  runtime: string[];
  /** a layer's functions (its primal as IR too), for its WebGPU variant */
  layerFunctions?: LayerFunctions;
}

/** Each layer's functions, by name. */
const layerFunctionsOf = (derivatives: Derivatives[]): Map<string, LayerFunctions> =>
  new Map(derivatives.flatMap((d) => (d.layer && d.layerFunctions ? [[d.layer.name, d.layerFunctions]] : [])));

/** Tangents and adjoints of every kernel, then every layer (a failure is an internal-error diagnostic). */
function differentiatePhase(
  front: FrontEnd,
  analyzed: Map<Kernel, Analyzed>,
  modes: Mode[],
  fileName: string,
  sink: DiagnosticSink,
): Derivatives[] {
  const out: Derivatives[] = [];
  const guarded = (fn: Kernel | Layer, f: () => Derivatives) => {
    try {
      out.push(f());
    } catch (e) {
      // a bug in parad, not in the kernel: still a located diagnostic, never a crash
      reportAt(
        front.imports,
        sink,
        fn.origin,
        'error',
        CODES.internal,
        `internal error while differentiating '${fn.name}': ${(e as Error).message}. Please report it with this kernel.`,
        fn.loc.start,
        fn.loc.start + 1,
      );
    }
  };
  front.file.kernels.forEach((k, index) =>
    guarded(k, () => {
      const userNames = namesOf(k);
      const names = new Names(userNames);
      const { activity, nests } = analyzed.get(k)!;
      const functions: FunctionIR[] = [];
      const runtime: string[] = [];
      let adjoint: FunctionIR | undefined;
      if (modes.includes('d')) functions.push(tangentFunction(k, activity, names, fileName));
      if (modes.includes('b')) {
        const plan = planTape(k, activity, makeNeeds(activity, userNames, coefficientUpdates(kernelReductionsOf(k))));
        adjoint = adjointFunction(k, activity, plan, names, fileName);
        functions.push(adjoint);
      }
      // exclusive reads assumed by pragmas: a replay for parad/testing to check them on data
      const replay = replayFunction(k, nests, names);
      if (replay) functions.push(replay);
      return { kernel: k, index, names, functions, adjoint, replay, runtime };
    }),
  );
  front.file.layers.forEach((l, index) =>
    guarded(l, () => {
      const ctx = layerContext(l, front.file, fileName);
      const functions: FunctionIR[] = [];
      const runtime: string[] = [];
      // the primal in its own context: its temporaries do not shift the derivatives' names
      const layerFunctions: LayerFunctions = { primal: layerPrimal(layerContext(l, front.file, fileName)) };
      if (modes.includes('d')) functions.push((layerFunctions.d = layerTangent(ctx)));
      if (modes.includes('b')) {
        const adjoint = layerAdjoint(ctx);
        runtime.push(...adjoint.runtime);
        functions.push((layerFunctions.b = adjoint));
      }
      return { layer: l, index, functions, runtime, layerFunctions };
    }),
  );
  return out;
}

/** Per derivative set, the adjoint scheduled for each target, with the decisions. */
type ScheduledAdjoints = Partial<Record<Target, Scheduled>>;

/** The schedule of every kernel adjoint's nests, per target (pure: the reports are not changed). */
export function schedulePhase(
  analyzed: Map<Kernel, Analyzed>,
  derivatives: Derivatives[],
  targets: Target[],
  force?: Strategy,
  parallel = false,
): ScheduledAdjoints[] {
  return derivatives.map((d) => {
    const out: ScheduledAdjoints = {};
    if (!d.kernel || !d.adjoint) return out;
    for (const target of targets) {
      out[target] = scheduleAdjoint(d.adjoint, {
        kernel: d.kernel,
        reports: analyzed.get(d.kernel)!.nests,
        names: d.names!,
        target,
        force,
        parallel,
      });
    }
    return out;
  });
}

/**
 * The reports with each target's decisions (`targets`); a read's `strategy` and `reason` become
 * the parallel target's (WebGPU): what the exclusive-read verdict leads to where iterations race.
 */
function withTargets(
  kernels: KernelReport[],
  analyzed: Map<Kernel, Analyzed>,
  derivatives: Derivatives[],
  scheduled: ScheduledAdjoints[],
): KernelReport[] {
  return kernels.map((report) => {
    const i = derivatives.findIndex((d) => d.kernel && !d.kernel.origin && d.kernel.name === report.name);
    if (i < 0) return report;
    const loops = [...analyzed.get(derivatives[i].kernel!)!.nests.keys()];
    const decided = (t: Target, j: number, name: string) =>
      scheduled[i][t]?.decisions.get(loops[j])?.reads.find((d) => d.name === name);
    return {
      ...report,
      loops: report.loops.map((l, j) => ({
        ...l,
        reads: l.reads.map((r) => {
          const [ts, wgsl] = [decided('ts', j, r.name), decided('wgsl', j, r.name)];
          if (!ts || !wgsl) return r;
          return {
            ...r,
            strategy: wgsl.strategy,
            reason: wgsl.reason,
            targets: {
              ts: { strategy: ts.strategy, reason: ts.reason },
              wgsl: { strategy: wgsl.strategy, reason: wgsl.reason },
            },
          };
        }),
      })),
    };
  });
}

/** GPU lowering of one kernel or layer and the emitter's input. */
function outputOf(
  front: FrontEnd,
  analyzed: Map<Kernel, Analyzed>,
  d: Derivatives,
  scheduled: ScheduledAdjoints,
  options: CompileOptions,
  sink: DiagnosticSink,
): KernelOutput {
  if (d.layer)
    return {
      sourceText: d.layer.sourceText,
      functions: d.functions,
      meta: front.layerMetas[d.index],
      local: d.layer.origin,
    };
  const k = d.kernel!;
  const functions = d.functions.map((f) => (f === d.adjoint ? scheduled.ts!.fn : f));
  const meta = front.metas[d.index];
  if (d.replay) {
    meta.assumptions = [...analyzed.get(k)!.nests.values()].flatMap((l) => {
      const arrays = l.reads.filter((r) => r.assumed).map((r) => r.name);
      return arrays.length ? [{ line: l.line, arrays }] : [];
    });
  }
  // an imported kernel's WGSL (for the layers that call it): its own transpilation reports its problems
  const wgslSink = k.origin ? new DiagnosticSink(k.origin, '') : sink;
  // GPU lowering (what runs on WebGPU is decided here, with located diagnostics), then its WGSL
  const gpu = options.targets?.includes('wgsl')
    ? lowerKernel(k, functions, scheduled.wgsl?.fn, d.names!, wgslSink)
    : undefined;
  const wgsl = gpu && printPrograms(gpu, wgslSink.file);
  // JavaScript lowering: functions too big for V8's optimizing compiler split into parts
  const outline = options.outline;
  const lowered = outline === false ? [] : functions.map((f) => outlineFunction(f, d.names!.scratch(), outline));
  return {
    sourceText: k.sourceText,
    functions: outline === false ? functions : lowered.flatMap((l) => l.functions),
    meta,
    replay: d.replay?.name,
    wgsl,
    local: k.origin,
    runtime: lowered.flatMap((l) => l.runtime),
  };
}

/**
 * The analysis of a kernel depends on its text only: recompiling an unchanged kernel (watch mode,
 * the same kernel with other options) reuses it. Nothing changes a report after the analysis (the
 * schedule returns its decisions beside it), so callers share it.
 */
const analysisCache = new Map<string, KernelReport>();
const CACHE_SIZE = 256;

/** Forgets every cached analysis (benchmarks time the analysis itself). */
export function clearAnalysisCache(): void {
  analysisCache.clear();
}

async function analyzeCached(
  k: Kernel,
  activity: Activity,
  races: boolean,
): Promise<{ report: KernelReport; byLoop: Map<ForLoop, LoopReport> }> {
  const key = `${races}\0${k.doc}\0${k.sourceText}`;
  let cached = analysisCache.get(key);
  if (!cached) {
    const fresh = await analyzeNests(k, activity, { races });
    // z3 failed on some query: the next compile asks again
    if (fresh.report.loops.some((l) => l.solverFailures)) return fresh;
    cached = fresh.report;
    if (analysisCache.size >= CACHE_SIZE) analysisCache.delete(analysisCache.keys().next().value!);
    analysisCache.set(key, cached);
  }
  const report = cached;
  // the nests in the analysis' order: outermost @parallel loops, in source order
  const roots: ForLoop[] = [];
  const visit = (body: Stmt[]) => {
    for (const s of body) {
      if (s.k === 'for' && s.parallel) roots.push(s);
      else if (s.k === 'for') visit(s.body);
      else if (s.k === 'if') {
        visit(s.then);
        visit(s.else);
      }
    }
  };
  visit(k.body);
  if (roots.length !== report.loops.length) return analyzeNests(k, activity, { races });
  return { report, byLoop: new Map(roots.map((loop, i) => [loop, report.loops[i]])) };
}

/**
 * Races (errors with a witness, or warnings when not decidable) and reads needing atomics. A kernel
 * of an imported file gets its races only, as errors in its file with the import as a second
 * location (its own transpilation reports the rest).
 */
function reportNests(k: Kernel, byLoop: Map<ForLoop, LoopReport>, sink: DiagnosticSink, imports: ImportedFiles): void {
  for (const [loop, report] of byLoop) {
    const at = loopAt(k, loop);
    if (k.origin) {
      for (const race of report.races) {
        if (race.verdict === 'race')
          reportAt(
            imports,
            sink,
            k.origin,
            'error',
            CODES.notParallel,
            `this @parallel loop of '${k.name}' is not parallel: ${race.reason}`,
            at.start,
            at.end,
          );
      }
      continue;
    }
    for (const failure of report.solverFailures ?? []) sink.warning(CODES.solverFailed, failure, at.start, at.end);
    for (const race of report.races) {
      if (race.verdict === 'race')
        sink.error(CODES.notParallel, `this @parallel loop is not parallel: ${race.reason}`, at.start, at.end);
      else
        sink.warning(
          CODES.maybeNotParallel,
          `cannot prove this @parallel loop is parallel for ${race.array}: ${race.reason}`,
          at.start,
          at.end,
        );
    }
  }
}

/**
 * A diagnostic at `start`…`end` of the file `origin` (a file the compiled one imports; undefined:
 * the compiled file), with the imports that brought it in as its further locations.
 */
function reportAt(
  imports: ImportedFiles,
  sink: DiagnosticSink,
  origin: string | undefined,
  severity: Severity,
  code: string,
  message: string,
  start: number,
  end: number,
): void {
  if (!origin) return sink.report(severity, code, message, start, end);
  const sinkOf = (file: string) =>
    file === sink.file ? sink : new DiagnosticSink(file, imports.get(file)?.source ?? '');
  const related = [];
  for (let f = imports.get(origin); f && related.length < imports.size; f = imports.get(f.importedAt.file)) {
    related.push({
      ...sinkOf(f.importedAt.file).locate(f.importedAt.start, f.importedAt.end),
      message: 'imported here',
    });
  }
  sink.add({ code, severity, message, ...sinkOf(origin).locate(start, end), ...(related.length ? { related } : {}) });
}

/** Where a nest's diagnostics go: its loop, or the kernel's start. */
const loopAt = (k: Kernel, loop: ForLoop) => loop.loc ?? { start: k.loc.start, end: k.loc.start + 1 };

/**
 * Reads left to atomic updates on a parallel target (the WebGPU schedule found no gather or
 * reduction for them), in the file's own kernels.
 */
function reportAtomics(kernels: KernelReport[], analyzed: Map<Kernel, Analyzed>, sink: DiagnosticSink): void {
  for (const [k, { nests }] of analyzed) {
    if (k.origin) continue;
    const report = kernels.find((x) => x.name === k.name);
    if (!report) continue;
    [...nests.keys()].forEach((loop, i) => {
      const at = loopAt(k, loop);
      for (const r of report.loops[i]?.reads ?? []) {
        if (r.exclusiveRead === 'unknown' && !r.assumed && r.targets?.wgsl?.strategy === 'atomic') {
          sink.warning(
            CODES.unknownExclusiveRead,
            `reads of ${r.name} may not be exclusive (${r.reason}); the adjoint needs atomic updates for it on a parallel target.${r.witness ? '' : ` A pragma // @parallel exclusive-read(${r.name}) states otherwise.`}`,
            at.start,
            at.end,
          );
        }
      }
    });
  }
}

/**
 * parse → lower (enforcing the kernel subset; layers and the kernel files they import) → semantic
 * checks; diagnostics go to `sink`.
 */
export function frontEnd(
  source: string,
  fileName: string,
  sink: DiagnosticSink,
  resolve?: ResolveImport,
): KernelFile & { imports: ImportedFiles } {
  const { main, imported, files } = lowerProgram(source, fileName, sink, resolve);
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
  return { fileName, kernels, layers, callees, typeImports: [...typeImports], imports: files };
}

/** In source order: the compiled file's first, then each imported file's (by name). */
export function sortDiagnostics(list: Diagnostic[], fileName?: string): Diagnostic[] {
  const rank = (d: Diagnostic) => (d.file === fileName ? '' : d.file);
  return [...list].sort(
    (a, b) => (rank(a) < rank(b) ? -1 : rank(a) > rank(b) ? 1 : 0) || a.line - b.line || a.column - b.column,
  );
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
