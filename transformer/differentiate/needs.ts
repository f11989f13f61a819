/**
 * What the reverse sweep of a statement reads from the primal state: the values its local partial
 * derivatives use (through the rule registry) and the indices of the adjoint elements it updates.
 * The tape analysis (analysis/tape.ts) keeps exactly these values intact for the reverse sweep.
 */
import type { Expr, Stmt } from '../ir/types.js';
import { bin, readsOf, sameExpr } from '../ir/build.js';
import { Linearizer, linReads } from './linearize.js';
import type { Activity } from '../analysis/activity.js';
import type { Needs } from '../analysis/tape.js';
import { Names } from '../naming.js';
import { reductionUpdate } from '../ir/reduction.js';
import { targetName } from '../ir/walk.js';

/** The right-hand side of an assignment as a plain expression (`x += e` → `x + e`). */
export function rhsOf(s: Stmt & { k: 'decl' | 'assign' }): Expr {
  if (s.k === 'decl') return s.init;
  if (s.op === '=') return s.value;
  const target: Expr =
    s.target.k === 'var'
      ? { k: 'var', name: s.target.name }
      : { k: 'index', array: s.target.array, index: s.target.index };
  return bin(s.op[0] as '+' | '-' | '*' | '/', target, s.value);
}

/**
 * `x += e`, `x -= e`, `x = x + e`, `x = e + x`, `x = x - e` with `e` not reading x: an
 * accumulation, whose tangent is `ẋ += ė` and whose adjoint leaves x̄ unchanged (ē += x̄).
 */
export function accumulation(s: Stmt & { k: 'decl' | 'assign' }): { sign: 1 | -1; e: Expr } | undefined {
  if (s.k !== 'assign') return undefined;
  const name = s.target.k === 'var' ? s.target.name : s.target.array;
  const target: Expr = s.target.k === 'var' ? { k: 'var', name } : { k: 'index', array: name, index: s.target.index };
  const clean = (e: Expr) => !readsOf(e).has(name);
  if ((s.op === '+=' || s.op === '-=') && clean(s.value)) return { sign: s.op === '+=' ? 1 : -1, e: s.value };
  const v = s.value;
  if (s.op !== '=' || v.k !== 'binary' || (v.op !== '+' && v.op !== '-')) return undefined;
  if (sameExpr(v.l, target) && clean(v.r)) return { sign: v.op === '+' ? 1 : -1, e: v.r };
  if (v.op === '+' && sameExpr(v.r, target) && clean(v.l)) return { sign: 1, e: v.l };
  return undefined;
}

export function isActiveTarget(s: Stmt & { k: 'decl' | 'assign' }, activity: Activity): boolean {
  return activity.isActive(s.k === 'decl' ? s.name : s.target.k === 'var' ? s.target.name : s.target.array);
}

export type { Needs };

/**
 * `reductions`: the updates of `*`, `max` and `min` reductions of parallel loops (ir/reduction.ts),
 * whose reverse reads the contribution's partials (and, for `*`, its value), never the reduced scalar.
 */
export function makeNeeds(
  activity: Activity,
  userNames: Iterable<string>,
  reductions: ReadonlyMap<Stmt, { op: string; updates: Stmt[] }> = new Map(),
): Needs {
  const memo = new WeakMap<Stmt, Set<string>>();
  const scratch = new Names(userNames);
  const ofExpr = (e: Expr, out: Set<string>) => {
    const L = new Linearizer(scratch, (n) => activity.isActive(n));
    const r = L.run(e);
    linReads(r.lin, L.pre, out);
  };
  return (s) => {
    let out = memo.get(s);
    if (out) return out;
    out = new Set<string>();
    const red = reductions.get(s);
    const u = red && reductionUpdate(s, targetName((s as Stmt & { k: 'assign' }).target));
    if (u && isActiveTarget(s as Stmt & { k: 'assign' }, activity)) {
      ofExpr(u.e, out);
      if (u.op === '*') readsOf(u.e, out);
    } else if ((s.k === 'decl' || s.k === 'assign') && isActiveTarget(s, activity)) {
      if (s.k === 'assign' && s.target.k === 'index') readsOf(s.target.index, out);
      ofExpr(rhsOf(s), out);
    } else if (s.k === 'return' && s.value) {
      ofExpr(s.value, out);
    }
    memo.set(s, out);
    return out;
  };
}
