/**
 * The parad pipeline, read top to bottom:
 *   parse → lower to IR (enforcing the kernel subset) → check → analyze → differentiate → emit.
 */
import { ts } from 'ts-morph';
import { DiagnosticSink, type Diagnostic } from './diagnostics.js';
import type { KernelMeta } from '../runtime/index.js';
import { parseSource, findKernels, paradTypeImports } from './parse/parse.js';
import { Lowerer } from './ir/lower.js';
import type { Kernel, KernelFile } from './ir/types.js';
import { checkKernel } from './check/subset.js';
import { CODES } from './check/codes.js';
import { analyzeActivity } from './analysis/activity.js';
import { planTape } from './analysis/tape.js';
import { makeNeeds } from './differentiate/needs.js';
import { tangentFunction } from './differentiate/tangent.js';
import { adjointFunction } from './differentiate/adjoint.js';
import { emitModule, type KernelOutput } from './emit/module.js';
import { Names } from './naming.js';
import { forEachStmt } from './ir/walk.js';
import type { FunctionIR } from './differentiate/function.js';

export type Mode = 'd' | 'b';

export interface CompileOptions {
  /** Name used in diagnostics and in `// from <file>:LINE` comments (e.g. `kernels/blur.ts`). */
  fileName: string;
  /** Output language: TypeScript (default) or JavaScript (types stripped). */
  format?: 'ts' | 'js';
  /** Derivative modes to generate; default both. */
  modes?: Mode[];
}

export interface CompileResult {
  /** Generated module text; `undefined` when there are errors. */
  code?: string;
  /** Errors and warnings, in source order. */
  diagnostics: Diagnostic[];
  /** One entry per kernel found (also exported by the generated module as `__parad`). */
  kernels: KernelMeta[];
}

export function compile(source: string, options: CompileOptions): CompileResult {
  const sink = new DiagnosticSink(options.fileName, source);
  const modes = options.modes ?? ['d', 'b'];

  // parse + lower (the subset check happens while lowering) + semantic checks
  const file = frontEnd(source, options.fileName, sink);
  const diagnostics = sortDiagnostics(sink.list);
  const metas = file.kernels.map((k) => metaOf(k, modes, options.fileName));
  if (sink.hasErrors) return { diagnostics, kernels: metas };

  // analyze → differentiate, per kernel
  let usesTape = false;
  const outputs: KernelOutput[] = [];
  file.kernels.forEach((k, i) => {
    try {
      outputs.push(differentiateKernel(k, i));
    } catch (e) {
      // a bug in parad, not in the kernel: still a located diagnostic, never a crash
      sink.error(CODES.internal, `internal error while differentiating '${k.name}': ${(e as Error).message}. Please report it with this kernel.`, k.loc.start, k.loc.start + 1);
    }
  });
  if (sink.hasErrors) return { diagnostics: sortDiagnostics(sink.list), kernels: metas };

  function differentiateKernel(k: Kernel, i: number): KernelOutput {
    const userNames = namesOf(k);
    const names = new Names(userNames);
    const activity = analyzeActivity(k);
    const functions: FunctionIR[] = [];
    if (modes.includes('d')) functions.push(tangentFunction(k, activity, names, options.fileName));
    if (modes.includes('b')) {
      const plan = planTape(k, activity, makeNeeds(activity, userNames));
      usesTape ||= plan.usesTape;
      functions.push(adjointFunction(k, activity, plan, names, options.fileName));
    }
    return { sourceText: k.sourceText, functions, meta: metas[i] };
  }

  // emit
  let code = emitModule(file, outputs, usesTape);
  if (options.format === 'js') {
    code = ts.transpileModule(code, {
      compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, verbatimModuleSyntax: false },
    }).outputText;
  }
  return { code, diagnostics, kernels: metas };
}

/** parse → lower (enforcing the kernel subset) → semantic checks; diagnostics go to `sink`. */
export function frontEnd(source: string, fileName: string, sink: DiagnosticSink): KernelFile {
  const file = parseSource(source, (sf): KernelFile => {
    const lowerer = new Lowerer(sink);
    const decls = findKernels(sf);
    const kernels: Kernel[] = [];
    for (const decl of decls) {
      const k = lowerer.kernel(decl.fn, decl.doc, decl.nodiff);
      if (k) kernels.push(k);
    }
    if (!decls.length) sink.warning(CODES.noKernels, 'no kernels in this file: mark exported functions with a /** @kernel */ JSDoc', 0, 0);
    return { fileName, kernels, typeImports: paradTypeImports(sf) };
  });
  for (const k of file.kernels) checkKernel(k, sink);
  return file;
}

export function sortDiagnostics(list: Diagnostic[]): Diagnostic[] {
  return [...list].sort((a, b) => a.line - b.line || a.column - b.column);
}

function metaOf(k: Kernel, modes: Mode[], fileName: string): KernelMeta {
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
