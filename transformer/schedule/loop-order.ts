/**
 * Loop order after scheduling: a reversed sequential loop whose iterations only accumulate into
 * adjoints that no iteration reads (`wb[f(k)] += c * accb`), and touch no tape, gives the same
 * result in either order: run it forwards (friendlier to caches and to readers). Pure.
 */
import type { Expr, Stmt } from '../ir/types.js';
import type { Names } from '../naming.js';
import { walkExpr } from '../ir/build.js';
import { mapBlocks, targetName } from '../ir/walk.js';

export function forwardCommutingLoops(body: Stmt[], names: Names): Stmt[] {
  return body.map((s): Stmt => {
    const t = mapBlocks(s, (b) => forwardCommutingLoops(b, names));
    if (t.k === 'for' && t.reversed && commutes(t.body, names)) return { ...t, reversed: undefined };
    return t;
  });
}

function commutes(body: Stmt[], names: Names): boolean {
  const accumulated = new Set<string>();
  const reads = new Set<string>();
  let ok = true;
  const exprReads = (e: Expr) => {
    walkExpr(e, (x) => {
      if (x.k === 'pop') ok = false;
      else if (x.k === 'var') reads.add(x.name);
      else if (x.k === 'index' || x.k === 'length') reads.add(x.array);
    });
  };
  const visit = (b: Stmt[]) => {
    for (const s of b) {
      switch (s.k) {
        case 'assign': {
          const t = targetName(s.target);
          if ((s.op !== '+=' && s.op !== '-=') || !names.isAdjoint(t)) ok = false;
          accumulated.add(t);
          if (s.target.k === 'index') exprReads(s.target.index);
          exprReads(s.value);
          break;
        }
        case 'decl':
          exprReads(s.init);
          break; // block-local temporaries
        case 'if':
          exprReads(s.cond);
          visit(s.then);
          visit(s.else);
          break;
        case 'for':
          exprReads(s.init);
          exprReads(s.bound);
          visit(s.body);
          break;
        default:
          ok = false;
      }
    }
  };
  visit(body);
  return ok && [...accumulated].every((n) => !reads.has(n));
}
