/**
 * Sequential target: loop-invariant code motion of the scheduled nest's constants. A `const` at the
 * top of a loop's body whose value reads neither the loop's variable nor anything the loop changes
 * (`const sy = oy * H / OH` inside the loop over c) is computed once before the loop, as
 * hand-written code does, and then, if still invariant, before the loop around that one. Only
 * pure values (no array element, no tape) and names declared once in the nest, so moving a
 * declaration can neither shadow nor be shadowed. The GPU and the parallel JavaScript schedule
 * keep the nest as it is (each iteration is its own invocation there).
 */
import type { Expr, ForLoop, Stmt } from '../ir/types.js';
import { readsOf, walkExpr } from '../ir/build.js';
import { declaredIn, forEachStmt, targetName } from '../ir/walk.js';

type Decl = Stmt & { k: 'decl' };

/**
 * `loop` with the invariant constants of its inner loops moved outwards, at most to the top of
 * its own body (not before it: two nests of a kernel may declare the same name).
 */
export function hoistInvariantDecls(loop: ForLoop): ForLoop {
  const count = new Map<string, number>();
  forEachStmt([loop], (s) => {
    if (s.k === 'decl') count.set(s.name, (count.get(s.name) ?? 0) + 1);
    if (s.k === 'for') count.set(s.v, (count.get(s.v) ?? 0) + 1);
  });
  const r = hoist(loop, (name) => count.get(name) === 1);
  return { ...r.loop, body: [...r.before, ...r.loop.body] };
}

function pure(e: Expr): boolean {
  let ok = true;
  walkExpr(e, (x) => {
    if (x.k === 'index' || x.k === 'pop' || x.k === 'runtime' || x.k === 'tuple') ok = false;
  });
  return ok;
}

function hoist(loop: ForLoop, unique: (name: string) => boolean): { before: Stmt[]; loop: ForLoop } {
  // the inner loops first: what they hoist lands at the top level of this body
  const body = loop.body.flatMap((s): Stmt[] => {
    if (s.k !== 'for') return [s];
    const r = hoist(s, unique);
    return [...r.before, r.loop];
  });
  // assigned in the loop (arrays too: an element read is not pure anyway), and declared in it
  const changed = new Set<string>([loop.v]);
  const local = declaredIn(body);
  forEachStmt(body, (s) => {
    if (s.k === 'assign') changed.add(targetName(s.target));
    if (s.k === 'reduce') changed.add(s.target);
  });
  const before: Stmt[] = [];
  const kept: Stmt[] = [];
  for (const s of body) {
    const d = s.k === 'decl' ? (s as Decl) : undefined;
    if (
      d &&
      !d.mutable &&
      unique(d.name) &&
      pure(d.init) &&
      [...readsOf(d.init)].every(
        (n) => !changed.has(n) && !(local.has(n) && !before.some((b) => (b as Decl).name === n)),
      )
    ) {
      before.push(d);
      continue;
    }
    kept.push(s);
  }
  return { before, loop: { ...loop, body: kept } };
}
