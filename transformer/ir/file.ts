/** A lowered file: the record the front end hands to the phases (kernels, layers, what the layers call). */
import type { Kernel } from './types.js';
import type { Callee, Layer } from './layer.js';

export interface KernelFile {
  fileName: string;
  /** this file's kernels, then the imported ones (with `origin`) */
  kernels: Kernel[];
  /** this file's layers, then the imported ones (with `origin`), callees first */
  layers: Layer[];
  /** what the layers call, by name */
  callees: Map<string, Callee>;
  /** `import type` specifiers from 'parad' used by the file (re-imported by the output). */
  typeImports: string[];
}
