/**
 * The reduction schedule: when many iterations update the same adjoint elements (the adjoint of a
 * scalar, a bias, a weight every iteration reads), each block of iterations accumulates into its
 * own private copy of the adjoint, and the copies are combined by a tree reduction afterwards.
 * On a parallel machine a block is a thread or a workgroup; in JS the structure is the same and
 * the sums are what the tests check.
 */
import type { Expr, Stmt } from '../ir/types.js';
import { add, mul, num, v, bin, readsOf } from '../ir/build.js';
import { ownExprs, targetName, forEachStmt, mapAssigns } from '../ir/walk.js';

/** Private copies (iteration blocks) of a reduced adjoint; a power of two. */
export const REDUCTION_BLOCKS = 16;

/** Can `target`'s updates in `body` be privatized (only `+=`/`-=`, never read otherwise)? */
export function reductionApplies(body: Stmt[], target: string): string | undefined {
  let problem: string | undefined;
  let updates = 0;
  forEachStmt(body, (s) => {
    const update = s.k === 'assign' && targetName(s.target) === target;
    if (update && s.op !== '+=' && s.op !== '-=') problem ??= `the loop resets ${target}`;
    if (update) updates++;
    const exprs = ownExprs(s);
    if (exprs.some((e) => readsOf(e).has(target))) problem ??= `the loop reads ${target}`;
  });
  if (!problem && !updates) problem = `no update of ${target} in the loop`;
  return problem;
}

/** Redirects `target`'s updates into block `blk`'s private copy `partial` (element count `len`). */
export function privatize(body: Stmt[], target: string, partial: string, blk: string, len: Expr | undefined): Stmt[] {
  return mapAssigns(body, (s) => {
    if (targetName(s.target) !== target) return s;
    const index = s.target.k === 'index' && len ? add(mul(v(blk), len), s.target.index) : v(blk);
    return { ...s, target: { k: 'index', array: partial, index } };
  });
}

/** Tree reduction of the private copies into copy 0 (level l adds copy r + 2^l into r), then `target += copy 0`. */
export function combine(target: string, partial: string, len: Expr | undefined, temp: (p: string) => string): Stmt[] {
  const [l, q, r, e] = ['l', 'q', 'r', 'e'].map(temp);
  const elem = (blk: Expr): Expr => (len ? add(mul(blk, len), v(e)) : blk);
  const shift = bin('+', v(l), num(1));
  const step: Stmt = {
    k: 'assign',
    target: { k: 'index', array: partial, index: elem(v(r)) },
    op: '+=',
    value: { k: 'index', array: partial, index: elem(add(v(r), bin('<<', num(1), v(l)))) },
  };
  const pair: Stmt[] = [
    { k: 'decl', name: r, mutable: false, init: bin('<<', v(q), shift) },
    len ? { k: 'for', v: e, init: num(0), cmp: '<', bound: len, step: 1, body: [step], parallel: true } : step,
  ];
  const levels = Math.log2(REDUCTION_BLOCKS);
  const tree: Stmt = {
    k: 'for',
    v: l,
    init: num(0),
    cmp: '<',
    bound: num(levels),
    step: 1,
    parallel: false,
    body: [
      {
        k: 'for',
        v: q,
        init: num(0),
        cmp: '<',
        bound: bin('>>', num(REDUCTION_BLOCKS), shift),
        step: 1,
        parallel: true,
        body: pair,
      },
    ],
  };
  const add0: Stmt = len
    ? {
        k: 'for',
        v: e,
        init: num(0),
        cmp: '<',
        bound: len,
        step: 1,
        parallel: true,
        body: [
          {
            k: 'assign',
            target: { k: 'index', array: target, index: v(e) },
            op: '+=',
            value: { k: 'index', array: partial, index: v(e) },
          },
        ],
      }
    : {
        k: 'assign',
        target: { k: 'var', name: target },
        op: '+=',
        value: { k: 'index', array: partial, index: num(0) },
      };
  return [{ k: 'comment', text: `tree reduction of the ${REDUCTION_BLOCKS} private copies of ${target}` }, tree, add0];
}
