/**
 * The parad pipeline, read top to bottom:
 *   parse → check subset → lower to IR → analyze → differentiate → emit.
 */
import type { Diagnostic } from './diagnostics.js';
import type { KernelMeta } from '../runtime/index.js';

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
  throw new Error('not implemented yet');
}
