/** Generic traversals of IR statements. */
import type { Stmt, Expr, LValue } from './types.js';
import { readsOf } from './build.js';

/** Visits every statement, nested ones included (pre-order). */
export function forEachStmt(body: Stmt[], f: (s: Stmt) => void): void {
  for (const s of body) {
    f(s);
    for (const child of childBlocks(s)) forEachStmt(child, f);
  }
}

export function childBlocks(s: Stmt): Stmt[][] {
  switch (s.k) {
    case 'if': return [s.then, s.else];
    case 'for': return [s.body];
    case 'block': return [s.body];
    default: return [];
  }
}

/** Expressions a statement evaluates directly (not those of nested statements). */
export function ownExprs(s: Stmt): Expr[] {
  switch (s.k) {
    case 'decl': return [s.init];
    case 'assign': return s.target.k === 'index' ? [s.target.index, s.value] : [s.value];
    case 'if': return [s.cond];
    case 'for': return [s.init, s.bound];
    case 'return': return s.value ? [s.value] : [];
    case 'push': return [s.value];
    default: return [];
  }
}

export const targetName = (t: LValue): string => (t.k === 'var' ? t.name : t.array);

/** Names (scalars and arrays) a statement list may write; loop variables and locals declared inside included. */
export function writesOf(body: Stmt[], out: Set<string> = new Set()): Set<string> {
  forEachStmt(body, (s) => {
    if (s.k === 'decl') out.add(s.name);
    else if (s.k === 'assign') out.add(targetName(s.target));
    else if (s.k === 'for') out.add(s.v);
  });
  return out;
}

/** Names a statement list may read (array element reads count as reads of the array). */
export function readsOfStmts(body: Stmt[], out: Set<string> = new Set()): Set<string> {
  forEachStmt(body, (s) => {
    for (const e of ownExprs(s)) readsOf(e, out);
    if (s.k === 'assign' && s.op !== '=') out.add(targetName(s.target));
  });
  return out;
}

/** Locals declared (and loop variables bound) anywhere in a statement list. */
export function declaredIn(body: Stmt[], out: Set<string> = new Set()): Set<string> {
  forEachStmt(body, (s) => {
    if (s.k === 'decl') out.add(s.name);
    else if (s.k === 'for') out.add(s.v);
  });
  return out;
}
