/**
 * `analyze()`: the exclusive-read analysis of every parallel loop nest of a file with the adjoint
 * strategy the schedule chooses for each read and target, as reported by `parad analyze`: the
 * phases of compile() up to the schedule (the adjoint IR is built and scheduled, so the strategies
 * are the ones emitted, fallbacks included; no code is printed).
 * Asynchronous: the integer reasoning runs in z3, loaded on first use.
 */
import type { Diagnostic } from './diagnostics.js';
import { analyzeSource } from './compile.js';
import type { ResolveImport } from './parse/program.js';
import { printReport, type KernelReport } from './analysis/exclusive/index.js';
import { printLayerReports, type LayerReport } from './analysis/layer-saves.js';

export interface FileReport {
  file: string;
  kernels: KernelReport[];
  /** a file with layers: their loops and what their adjoints save (docs/layers.md) */
  layers?: LayerReport[];
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
  /** Reads the kernel files layers import (compile's `resolveImport`). */
  resolveImport?: ResolveImport;
}

export async function analyze(source: string, options: AnalyzeOptions): Promise<AnalyzeResult> {
  const r = await analyzeSource(source, {
    fileName: options.fileName,
    races: options.races,
    resolveImport: options.resolveImport,
  });
  const layers = r.analysis.layers?.length ? `\n\n${printLayerReports(options.fileName, r.analysis.layers)}` : '';
  return {
    report: r.analysis,
    diagnostics: r.diagnostics,
    text: printReport(options.fileName, r.analysis.kernels) + layers,
  };
}
