/**
 * The replay of a kernel, for checking `// @parallel exclusive-read(…)` assumptions on concrete
 * data: the primal, with each read of an array whose exclusive read is assumed (inside the nest
 * that assumes it) reported to a callback as (nest line, iteration, array, element), and each run of
 * such a nest announced as (line, '', '', -1). parad/testing runs it and looks for an element two
 * iterations of one run read.
 */
import type { Expr, ForLoop, Kernel, Stmt } from '../ir/types.js';
import type { FunctionIR } from '../differentiate/function.js';
import type { LoopReport } from '../analysis/exclusive/index.js';
import { parallelNest } from '../analysis/tape.js';
import { forEachStmt, mapExpr, mapStmts } from '../ir/walk.js';
import { num } from '../ir/build.js';
import { replayName, type Names } from '../naming.js';

/** The signature of a replay's callback (also in the runtime's `KernelMeta`). */
export const REPORT_TYPE = '(line: number, iteration: string, array: string, element: number) => number';

/** The replay of `k`, or undefined when no nest of it assumes anything. */
export function replayFunction(k: Kernel, byLoop: Map<ForLoop, LoopReport>, names: Names): FunctionIR | undefined {
  const read = names.reportRead();
  let any = false;
  const replayNest = (loop: ForLoop): Stmt | undefined => {
    const report = byLoop.get(loop);
    const assumed = new Set(report?.reads.filter((r) => r.assumed).map((r) => r.name));
    if (!report || !assumed.size) return undefined;
    any = true;
    const iteration = parallelNest(loop).map((l): Expr => ({ k: 'var', name: l.v }));
    const reported = (array: string, element: Expr): Expr => ({
      k: 'runtime',
      call: { fn: 'report', reader: read, line: report.line, iteration, array, element },
    });
    const [nest] = mapStmts([loop], (e) =>
      mapExpr(e, (x) =>
        x.k === 'index' && assumed.has(x.array) ? { ...x, index: reported(x.array, x.index) } : undefined,
      ),
    );
    // `x[e] += …` reads x[e] too (the statements are mapStmts' fresh copies)
    forEachStmt([nest], (s) => {
      if (s.k === 'assign' && s.op !== '=' && s.target.k === 'index' && assumed.has(s.target.array))
        s.target = { ...s.target, index: reported(s.target.array, s.target.index) };
    });
    // a run of the nest starts: reads conflict only within one run (one time step)
    const start: Expr = {
      k: 'runtime',
      call: { fn: 'report', reader: read, line: report.line, iteration: [], array: '', element: num(-1) },
    };
    return { k: 'block', body: [{ k: 'effect', e: start }, nest] };
  };
  const body = mapStmts(
    k.body,
    (e) => e,
    (loop) => (loop.parallel ? replayNest(loop) : undefined),
  );
  if (!any) return undefined;
  return {
    name: replayName(k.name),
    params: [...k.params.map((p) => ({ name: p.name, type: p.type })), { name: read, type: REPORT_TYPE }],
    returnType: k.returns,
    comment: [
      `${k.name} replayed for parad/testing: reports the reads its \`exclusive-read(…)\` pragmas assume exclusive.`,
    ],
    body,
    exported: false,
  };
}
