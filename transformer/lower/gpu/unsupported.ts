/**
 * What the WebGPU lowering finds the GPU cannot run. The lowering of a program records each
 * problem where it meets it (with the kernel statement's location when there is one) and goes on,
 * so that one compile reports all of them; index.ts turns them into located diagnostics (PARAD3001
 * for the kernel; a warning and a JavaScript fallback for a derivative). The rewrites before the
 * lowering (extremum.ts, product.ts) return their statements or why they cannot.
 */
import type { Loc, Stmt } from '../../ir/types.js';

export interface GpuProblem {
  message: string;
  /** the kernel statement it is about, when known */
  loc?: Loc;
}

/** The problems found while lowering one program. */
export class GpuProblems {
  readonly list: GpuProblem[] = [];
  add(message: string, loc?: Loc): void {
    this.list.push(loc ? { message, loc } : { message });
  }
  get count(): number {
    return this.list.length;
  }
}

/** A rewrite's result: the statements, or why the GPU cannot run them. */
export type Rewrite = { body: Stmt[] } | { why: string };
