/**
 * One update per distinct element and iteration: the updates `xb[f(it)] += e_k` that the
 * statements of a nest's iteration body make to the same element (the same index polynomial in
 * the nest's variables and names the nest never writes) are summed in a local of the iteration,
 * and the element is updated once, where the last of them was. A chain of S statements reading x
 * at a handful of offsets then has a handful of update sites instead of S, so a gather stages one
 * per-iteration array per distinct (array, offset), not one per statement, and atomics or private
 * copies take one update per element instead of S.
 *
 * Only top-level statements of the iteration body are merged (an update inside a branch or an
 * inner loop stays as it is), and only for adjoints the body never reads: delaying an update to
 * the end of its group is then invisible.
 */
import type { Expr, Stmt } from '../ir/types.js';
import { num, v, readsOf } from '../ir/build.js';
import { printExpr } from '../ir/print.js';
import { forEachStmt, ownExprs } from '../ir/walk.js';
import type { Names } from '../naming.js';
import { type IndexForms, polyExpr } from './space.js';

type Assign = Stmt & { k: 'assign' };

/**
 * `body` with the updates of `targets` merged per distinct element (the same array when nothing
 * merges). `nestVars`: the variables of the nest's loops.
 */
export function mergeUpdates(
  body: Stmt[],
  targets: Set<string>,
  forms: IndexForms,
  nestVars: Set<string>,
  names: Names,
): Stmt[] {
  // adjoints the body reads (other than by updating them) are left alone
  const read = new Set<string>();
  forEachStmt(body, (s) => {
    if (s.k === 'assign' && s.target.k === 'index' && (s.op === '+=' || s.op === '-=')) {
      readsOf(s.target.index, read);
      readsOf(s.value, read);
    } else {
      for (const e of ownExprs(s)) readsOf(e, read);
      if (s.k === 'assign' && targets.has(s.target.k === 'index' ? s.target.array : s.target.name))
        read.add(s.target.k === 'index' ? s.target.array : s.target.name);
    }
  });
  const keyOf = (s: Stmt): string | undefined => {
    if (s.k !== 'assign' || s.target.k !== 'index' || (s.op !== '+=' && s.op !== '-=') || s.atomic) return undefined;
    const { array, index } = s.target;
    if (!targets.has(array) || read.has(array)) return undefined;
    const p = forms.quasiPoly(index, nestVars);
    return p ? `${array}[${printExpr(polyExpr(p))}]` : undefined;
  };
  // top-level sites by element, in order
  const groups = new Map<string, number[]>();
  body.forEach((s, i) => {
    const key = keyOf(s);
    if (!key) return;
    const g = groups.get(key);
    if (g) g.push(i);
    else groups.set(key, [i]);
  });
  const merged = [...groups.values()].filter((g) => g.length > 1);
  if (!merged.length) return body;
  const decls: Stmt[] = [];
  const rewrite = new Map<number, Stmt[]>();
  for (const g of merged) {
    const acc = names.temp('e');
    decls.push({ k: 'decl', name: acc, mutable: true, init: num(0) });
    for (const i of g) {
      const s = body[i] as Assign;
      const sum: Stmt = { k: 'assign', target: { k: 'var', name: acc }, op: s.op, value: s.value };
      rewrite.set(i, i === g[g.length - 1] ? [sum, { ...s, op: '+=', value: v(acc) as Expr }] : [sum]);
    }
  }
  return [...decls, ...body.flatMap((s, i) => rewrite.get(i) ?? [s])];
}
