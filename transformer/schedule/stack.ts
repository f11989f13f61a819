/**
 * Tape traffic rewritten as stores to and loads from an array (lower/gpu for the device tapes,
 * index.ts for an iteration's own tape in JavaScript).
 */
import type { Expr, Loc, LValue, Stmt } from '../ir/types.js';
import { readsOf, num, add, mul, v, isTapeDecl, sameExpr } from '../ir/build.js';
import { forEachStmt, mapExpr, popsIn } from '../ir/walk.js';
import { tripCount } from './space.js';

/**
 * A tape as an array and a counter: the tape of a function run as one invocation on WebGPU (a
 * storage buffer), of one iteration on WebGPU (a region of one, or a private array) and in
 * JavaScript (a scratch array, schedule/index.ts): a storage buffer `buffer` and a counter `top`.
 * A push writes `buffer[top]` and advances it, a pop steps back; snapshots of arrays and saved
 * outputs are copy loops (saved outputs into scratch buffers `allocs`). The host sizes the buffer
 * by `bound`: each push counted once per iteration of its enclosing loops (both branches of an
 * `if`), so the loop bounds must be known on the host (parameters and array lengths); `popped`
 * counts the pops the same way.
 */
/** The index of the tape's copy loops. */
const COPY_INDEX = '_e';

export function invocationTape(
  body: Stmt[],
  buffer: string,
  known: (name: string) => boolean,
  problem: (message: string, loc?: Loc) => void,
  base: Expr = num(0),
  top = `${buffer}_top`,
): {
  body: Stmt[];
  bound?: Expr;
  popped?: Expr;
  allocs: { name: string; array: string }[];
  integers: string[];
} {
  const allocs: { name: string; array: string }[] = [];
  const terms: Expr[] = [];
  const popTerms: Expr[] = [];
  const slot = (offset: Expr): Expr & LValue => ({ k: 'index', array: buffer, index: add(v(top), offset) });
  const bump = (by: Expr, op: '+=' | '-='): Stmt => ({ k: 'assign', target: { k: 'var', name: top }, op, value: by });
  const copy = (to: (e: Expr) => LValue, from: (e: Expr) => Expr, length: Expr): Stmt => ({
    k: 'for',
    v: COPY_INDEX,
    init: num(0),
    cmp: '<',
    bound: length,
    step: 1,
    parallel: false,
    body: [{ k: 'assign', target: to(v(COPY_INDEX)), op: '=', value: from(v(COPY_INDEX)) }],
  });
  const at =
    (array: string) =>
    (e: Expr): Expr => ({ k: 'index', array, index: e });
  const lv =
    (array: string) =>
    (e: Expr): LValue => ({ k: 'index', array, index: e });
  const hostKnown = (e: Expr, what: string, loc?: Loc): Expr => {
    const n = [...readsOf(e)].find((x) => !known(x));
    if (n) problem(`the tape: ${what} depends on '${n}' (the host sizes the tape from parameters)`, loc);
    return e;
  };
  const walk = (stmts: Stmt[], trips: Expr[]): Stmt[] =>
    stmts.flatMap((s): Stmt[] => {
      const times = (e: Expr) => trips.reduce((a, b) => mul(a, b), e);
      // pops: step back first, then read in evaluation order
      const pops = popsIn(s);
      for (let k = 0; k < pops; k++) popTerms.push(times(num(1)));
      let j = 0;
      const popped = (e: Expr): Expr => mapExpr(e, (x) => (x.k === 'pop' ? slot(num(pops - 1 - j++)) : undefined));
      const pre: Stmt[] = pops ? [bump(num(pops), '-=')] : [];
      switch (s.k) {
        case 'push':
          terms.push(times(num(1)));
          return [
            { k: 'assign', target: { k: 'index', array: buffer, index: v(top) }, op: '=', value: s.value },
            bump(num(1), '+='),
          ];
        case 'pushArray': {
          const length: Expr = { k: 'length', array: s.array };
          terms.push(times(length));
          return [copy(slot, at(s.array), length), bump(length, '+=')];
        }
        case 'popArray': {
          const length: Expr = { k: 'length', array: s.array };
          return [bump(length, '-='), copy(lv(s.array), (e) => slot(e), length)];
        }
        case 'saveArray':
          allocs.push({ name: s.name, array: s.array });
          return [copy(lv(s.name), at(s.array), { k: 'length', array: s.array })];
        case 'restoreArray':
          return [copy(lv(s.array), at(s.name), { k: 'length', array: s.array })];
        case 'decl':
          if (isTapeDecl(s)) return [];
          return [...pre, { ...s, init: popped(s.init) }];
        case 'assign':
          return [
            ...pre,
            {
              ...s,
              target: s.target.k === 'index' ? { ...s.target, index: popped(s.target.index) } : s.target,
              value: popped(s.value),
            },
          ];
        case 'if':
          return [...pre, { ...s, cond: popped(s.cond), then: walk(s.then, trips), else: walk(s.else, trips) }];
        case 'for': {
          if (pops) problem('a tape pop in a loop bound', s.loc);
          const n = tripCount(s);
          let hasPush = false;
          let hasPop = false;
          forEachStmt(s.body, (t) => {
            if (t.k === 'push' || t.k === 'pushArray') hasPush = true;
            if (popsIn(t)) hasPop = true;
          });
          // the loop counts in the tape's size (the host must know its trips) or in the pops' count
          const inner = hasPush
            ? [...trips, hostKnown(n, `the bound of the loop over ${s.v}`, s.loc)]
            : hasPop
              ? [...trips, n]
              : trips;
          return [{ ...s, body: walk(s.body, inner) }];
        }
        case 'block':
          return [{ ...s, body: walk(s.body, trips) }];
        default:
          return [...pre, s];
      }
    });
  const out = walk(body, []);
  // the integer locals the rewritten body uses (its counter, the copy loops' index)
  const integers = [top, COPY_INDEX];
  const total = (xs: Expr[]) => (xs.length ? xs.reduce((a, b) => add(a, b)) : undefined);
  const popped = total(popTerms);
  if (!terms.length) return { body: out, ...(popped ? { popped } : {}), allocs, integers };
  const decl: Stmt = { k: 'decl', name: top, mutable: true, type: 'i32', init: base };
  return { body: [decl, ...out], bound: total(terms), ...(popped ? { popped } : {}), allocs, integers };
}

/**
 * JavaScript: what an iteration of a parallel nest pushes and pops itself inside inner loops (a
 * running maximum's `m` before each window position, a recurrence's values) on a scratch array
 * with a counter of the iteration's own, instead of the function's `Tape` (no growth, no bounds or
 * underflow checks, no method call). The array holds one iteration's values: `bound`, each push
 * counted once per iteration of its enclosing loops, from names the iteration does not change.
 * Only when the iteration's tape traffic is its own: every pop after the first push (no value of
 * another pass), no push or pop under a branch, no array snapshots, and as many pops as pushes in
 * every iteration (the same loops around them). Undefined otherwise (and when there is none).
 */
export function tapeInArray(
  body: Stmt[],
  names: { temp(prefix: string): string },
  fixed: (name: string) => boolean,
): { body: Stmt[]; array: string; bound: Expr } | undefined {
  // where the pushes and pops stand: pops only after the first push, none under a branch or in a
  // loop header, no snapshots
  let pushed = false;
  let bad = false;
  const scan = (stmts: Stmt[], branch: boolean): void => {
    for (const s of stmts) {
      if (popsIn(s) && (!pushed || branch || s.k === 'for')) bad = true;
      if (s.k === 'push') {
        pushed = true;
        if (branch) bad = true;
      }
      if (s.k === 'pushArray' || s.k === 'popArray' || s.k === 'saveArray' || s.k === 'restoreArray') bad = true;
      if (s.k === 'if') {
        scan(s.then, true);
        scan(s.else, true);
      } else if (s.k === 'for' || s.k === 'block') scan(s.body, branch);
    }
  };
  scan(body, false);
  if (bad || !pushed) return undefined;
  const array = names.temp('tp');
  const top = names.temp('tpt');
  let refused = false;
  // (the loops around the pushes must run the same trips in every iteration: `fixed` names only)
  const out = invocationTape(body, array, fixed, () => (refused = true), num(0), top);
  // as many pops as pushes in every iteration (counted over the same loops)
  if (refused || !out.bound || !out.popped || !sameExpr(out.bound, out.popped)) return undefined;
  // (the counter is a JavaScript number: no WGSL type)
  return {
    body: out.body.map((s) => (s.k === 'decl' && s.name === top ? { ...s, type: undefined } : s)),
    array,
    bound: out.bound,
  };
}
