export { compile, type CompileOptions, type CompileResult, type Mode, type Target } from './compile.js';
export { formatDiagnostic, type Diagnostic, type Severity } from './diagnostics.js';
export { analyze, type AnalyzeResult, type FileReport } from './analyze.js';
export type { KernelReport, LoopReport, ReadReport, Verdict, Strategy } from './analysis/exclusive/index.js';
export { importCandidates, resolveFromDisk, type ResolveImport } from './parse/program.js';
