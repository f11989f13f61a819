/**
 * The options of a `// @parallel` pragma as the IR carries them (ForLoop.pragma). The grammar is
 * loose here: check/pragmas.ts reports every unknown option and bad value at its location.
 */
import type { AdjointStrategy, ParallelPragma } from '../ir/types.js';

export const STRATEGIES: readonly AdjointStrategy[] = ['direct', 'gather', 'reduction', 'atomic', 'versioned'];

/** `exclusive-read(a, b) adjoint=gather workgroup=8x8` (the text after `@parallel`). */
export function parseParallelPragma(text: string): ParallelPragma {
  const exclusive: string[] = [];
  for (const m of text.matchAll(/exclusive-read\(([^)]*)\)/g))
    for (const n of m[1].split(/[\s,]+/)) if (n && !exclusive.includes(n)) exclusive.push(n);
  const a = /adjoint=(\w+)/.exec(text);
  const strategy = STRATEGIES.find((s) => s === a?.[1]);
  const w = /workgroup=(\d+(?:x\d+)*)/.exec(text);
  return {
    exclusive,
    ...(strategy ? { strategy } : {}),
    ...(w ? { workgroup: w[1].split('x').map(Number) } : {}),
  };
}
