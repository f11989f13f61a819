/**
 * The tape of one iteration kept in locals: in a parallel nest's adjoint, the values an iteration
 * pushes while it recomputes its forward statements and pops again in its own reverse sweep (a
 * chain `t = t * a + …` saving each `t` it overwrites) live exactly as long as the iteration. They
 * become constants of the iteration (`const _sv1 = t; … t = _sv1`) instead of tape traffic: in
 * JavaScript a register instead of a call and a store per value; on the GPU no per-iteration tape
 * region in device memory (iterations × values pushed), and the values are the iteration's own,
 * so a gather can read them.
 *
 * Only when every push and pop of the iteration is a top-level statement of its body (or a pop in
 * one): pushes and pops inside branches or inner loops depend on the path taken, and the body is
 * then left as it is. A pop with no push of the same iteration before it (a value the forward
 * sweep stored) stays a pop.
 */
import type { Expr, Stmt } from '../ir/types.js';
import { v } from '../ir/build.js';
import { forEachStmt, mapExpr, popsIn } from '../ir/walk.js';
import type { Names } from '../naming.js';

/** `body` (an iteration body) with its own pushes and pops as locals, or `body` itself. */
export function tapeInLocals(body: Stmt[], names: Names): Stmt[] {
  // every tape operation at the top level, at most one pop per statement
  let nested = false;
  for (const s of body) {
    if (s.k === 'if' || s.k === 'for' || s.k === 'block') {
      forEachStmt([s], (x) => {
        if (x.k === 'push' || x.k === 'pushArray' || x.k === 'popArray' || popsIn(x) > 0) nested = true;
      });
    } else if (
      s.k === 'pushArray' ||
      s.k === 'popArray' ||
      popsIn(s) > 1 ||
      (popsIn(s) === 1 && s.k !== 'decl' && s.k !== 'assign')
    )
      nested = true;
    if (nested) return body;
  }
  const stack: string[] = [];
  let changed = false;
  const out = body.map((s): Stmt => {
    if (s.k === 'push') {
      const name = names.temp('sv');
      stack.push(name);
      changed = true;
      return { k: 'decl', name, mutable: false, init: s.value };
    }
    if (popsIn(s) === 0 || !stack.length) return s;
    const name = stack.pop()!;
    return mapPop(s, v(name));
  });
  return changed ? out : body;
}

/** `s` with its one pop replaced by `value`. */
function mapPop(s: Stmt, value: Expr): Stmt {
  const swap = (e: Expr): Expr => mapExpr(e, (x) => (x.k === 'pop' ? value : undefined));
  switch (s.k) {
    case 'decl':
      return s.init ? { ...s, init: swap(s.init) } : s;
    case 'assign':
      return {
        ...s,
        value: swap(s.value),
        target: s.target.k === 'index' ? { ...s.target, index: swap(s.target.index) } : s.target,
      };
    default:
      throw new Error(`parad: a tape pop in a ${s.k} statement of a parallel iteration`);
  }
}
