/**
 * `analyze()`: the exclusive-read analysis of every parallel loop nest of a file
 * (parse → lower → check → activity → exclusive read), as reported by `parad analyze`.
 * Asynchronous: the integer reasoning runs in z3, loaded on first use.
 */
import { DiagnosticSink, type Diagnostic } from './diagnostics.js';
import { frontEnd, sortDiagnostics } from './compile.js';
import { analyzeActivity } from './analysis/activity.js';
import { analyzeExclusiveRead, printReport, type KernelReport } from './analysis/exclusive/index.js';
import { CODES } from './check/codes.js';
import { forEachStmt } from './ir/walk.js';
import type { Kernel } from './ir/types.js';

export interface FileReport {
  file: string;
  kernels: KernelReport[];
}

export interface AnalyzeResult {
  report: FileReport;
  diagnostics: Diagnostic[];
  /** The human-readable table. */
  text: string;
}

export interface AnalyzeOptions {
  fileName: string;
  /** Also prove each parallel loop is parallel (default true). */
  races?: boolean;
}

export async function analyze(source: string, options: AnalyzeOptions): Promise<AnalyzeResult> {
  const sink = new DiagnosticSink(options.fileName, source);
  const file = frontEnd(source, options.fileName, sink);
  const kernels: KernelReport[] = [];
  if (!sink.hasErrors) {
    for (const k of file.kernels) {
      const report = await analyzeExclusiveRead(k, analyzeActivity(k), { races: options.races });
      kernels.push(report);
      for (const loop of report.loops) {
        for (const race of loop.races) {
          const at = findLoop(k, loop.line);
          const msg = race.verdict === 'race'
            ? `this @parallel loop is not parallel: ${race.reason}`
            : `cannot prove this @parallel loop is parallel for ${race.array}: ${race.reason}`;
          if (race.verdict === 'race') sink.error(CODES.notParallel, msg, at.start, at.end);
          else sink.warning(CODES.maybeNotParallel, msg, at.start, at.end);
        }
        for (const r of loop.reads) {
          if (r.exclusiveRead === 'unknown' && !r.assumed) {
            const at = findLoop(k, loop.line);
            sink.warning(CODES.unknownExclusiveRead, `reads of ${r.name} may not be exclusive (${r.reason}); the adjoint needs atomic updates for it. A pragma // @parallel exclusive-read(${r.name}) states otherwise.`, at.start, at.end);
          }
        }
      }
    }
  }
  const report = { file: options.fileName, kernels };
  return { report, diagnostics: sortDiagnostics(sink.list), text: printReport(options.fileName, kernels) };
}

/** The source span of the loop starting on `line` (the kernel's start if there is none). */
function findLoop(k: Kernel, line: number): { start: number; end: number } {
  let found = { start: k.loc.start, end: k.loc.start + 1 };
  forEachStmt(k.body, (s) => {
    if (s.k === 'for' && s.loc?.line === line) found = { start: s.loc.start, end: s.loc.end };
  });
  return found;
}
