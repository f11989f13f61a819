/**
 * Linearization of one expression (JAX's linearize, for scalar code): the primal value (with
 * temporaries for sub-results the derivative needs) and a linear map `Lin` from the tangents of the
 * active leaves (scalars, array elements) to the tangent of the value. The tangent emitter prints
 * `Lin` applied to the `d` partners; the adjoint emitter prints its transpose onto the `b` partners.
 */
import type { Expr, Stmt } from '../ir/types.js';
import {
  add,
  mul,
  cond,
  num,
  v,
  idx,
  isNum,
  isTrivial,
  readsOf,
  walkExpr,
  sameExpr,
  substitute,
  ZERO,
  ONE,
} from '../ir/build.js';
import { ruleFor, type AnyRule } from './rules.js';
import { isOp } from '../ir/ops.js';
import { diffReads } from '../analysis/activity.js';
import type { Names } from '../naming.js';

export type Leaf = { k: 'var'; name: string } | { k: 'index'; array: string; index: Expr };

export type Lin =
  | { k: 'leaf'; leaf: Leaf }
  | { k: 'scale'; c: Expr; x: Lin }
  | { k: 'sum'; a: Lin; b: Lin }
  | { k: 'select'; c: Expr; t: Lin | null; f: Lin | null };

export interface Linearized {
  value: Expr;
  lin: Lin | null;
}

function scale(c: Expr, x: Lin | null): Lin | null {
  if (!x || isNum(c, 0)) return null;
  if (isNum(c, 1)) return x;
  if (x.k === 'scale') return { k: 'scale', c: mul(c, x.c), x: x.x };
  return { k: 'scale', c, x };
}
/** `c · leaf` view of a term, if it is one. */
function asTerm(l: Lin): { c: Expr; leaf: Leaf } | undefined {
  if (l.k === 'leaf') return { c: ONE, leaf: l.leaf };
  if (l.k === 'scale' && l.x.k === 'leaf') return { c: l.c, leaf: l.x.leaf };
  return undefined;
}
const sameLeaf = (a: Leaf, b: Leaf): boolean =>
  a.k === 'var'
    ? b.k === 'var' && a.name === b.name
    : b.k === 'index' && a.array === b.array && sameExpr(a.index, b.index);

function sum(a: Lin | null, b: Lin | null): Lin | null {
  if (!a) return b;
  if (!b) return a;
  // c1·x + c2·x → (c1 + c2)·x: one update of x̄ instead of two
  const ta = asTerm(a);
  const tb = asTerm(b);
  if (ta && tb && sameLeaf(ta.leaf, tb.leaf)) return scale(add(ta.c, tb.c), { k: 'leaf', leaf: ta.leaf });
  return { k: 'sum', a, b };
}

const mentions = (e: Expr, hole: Expr): boolean => {
  let found = false;
  walkExpr(e, (x) => {
    if (x.k === 'var' && hole.k === 'var' && x.name === hole.name) found = true;
  });
  return found;
};

/** Rough evaluation cost: expressions above 3 are computed once into a temporary when reused. */
function cost(e: Expr): number {
  switch (e.k) {
    case 'call':
      return 8 + e.args.reduce((c, a) => c + cost(a), 0);
    case 'index':
      return 1; // integer index arithmetic is cheap
    case 'unary':
      return 1 + cost(e.e);
    case 'binary':
      return 1 + cost(e.l) + cost(e.r);
    case 'cond':
      return 1 + cost(e.c) + cost(e.t) + cost(e.f);
    default:
      return 0;
  }
}

export class Linearizer {
  /** Temporaries (`const _tN = …`) the value and the linear map refer to, in order. */
  readonly pre: Stmt[] = [];

  /**
   * `known`: a local in scope that already holds the value of an expression (`r` for
   * `Math.sqrt(r2)` after `const r = Math.sqrt(r2)`), used instead of computing it again.
   */
  constructor(
    private readonly names: Names,
    private readonly isActive: (name: string) => boolean,
    private readonly known?: (e: Expr) => Expr | undefined,
  ) {}

  private bind(e: Expr, force = false): Expr {
    if (isTrivial(e)) return e;
    const held = cost(e) > 3 ? this.known?.(e) : undefined;
    if (held) return held;
    if (!force && cost(e) <= 3) return e;
    const name = this.names.temp('t');
    this.pre.push({ k: 'decl', name, mutable: false, init: e });
    return v(name);
  }

  carries(e: Expr): boolean {
    for (const n of diffReads(e)) if (this.isActive(n)) return true;
    return false;
  }

  run(e: Expr): Linearized {
    if (!this.carries(e)) return { value: e, lin: null };
    switch (e.k) {
      case 'var':
        return { value: e, lin: { k: 'leaf', leaf: { k: 'var', name: e.name } } };
      case 'index':
        return { value: e, lin: { k: 'leaf', leaf: { k: 'index', array: e.array, index: e.index } } };
      case 'unary': {
        const x = this.run(e.e);
        if (e.op === '+') return x;
        return this.apply(ruleFor('neg'), [x], ([a]) => ({ k: 'unary', op: '-', e: a }));
      }
      case 'binary': {
        const a = this.run(e.l);
        const b = this.run(e.r);
        // only + - * / carry derivatives (analysis/activity.ts): comparisons and bit operations never get here
        if (!isOp(e.op)) return { value: { k: 'binary', op: e.op, l: a.value, r: b.value }, lin: null };
        return this.apply(ruleFor(e.op), [a, b], ([l, r]) => ({ k: 'binary', op: e.op, l, r }));
      }
      case 'cond': {
        const t = this.run(e.t);
        const f = this.run(e.f);
        const lin = t.lin || f.lin ? { k: 'select' as const, c: e.c, t: t.lin, f: f.lin } : null;
        return { value: cond(e.c, t.value, f.value), lin };
      }
      case 'call': {
        const args = e.args.map((a) => this.run(a));
        return this.apply(ruleFor(e.fn), args, (xs) => ({ k: 'call', fn: e.fn, args: xs }));
      }
      default:
        return { value: e, lin: null };
    }
  }

  private apply(rule: AnyRule, args: Linearized[], rebuild: (values: Expr[]) => Expr): Linearized {
    if (rule.zero || !rule.partials) return { value: rebuild(args.map((a) => a.value)), lin: null };
    // Partials are built over placeholders first, so only the argument values and the result that
    // the partials of *active* arguments use get computed once into temporaries.
    const HOLE = '\u0000';
    const argHoles = args.map((_, i) => v(`${HOLE}${i}`));
    const resultHole = v(`${HOLE}r`);
    const partials = rule.partials(argHoles, resultHole);
    const used = (hole: Expr) => args.some((a, i) => a.lin && partials[i] && mentions(partials[i]!, hole));
    const values = args.map((a, i) => (used(argHoles[i]) ? this.bind(a.value) : a.value));
    let value = rebuild(values);
    if (used(resultHole)) value = this.bind(value, true);
    const fill = (e: Expr) =>
      substitute(e, (x) => {
        if (x.k !== 'var' || !x.name.startsWith(HOLE)) return undefined;
        if (x.name === `${HOLE}r`) return value;
        const arg = values[Number(x.name.slice(HOLE.length))];
        // a negative literal (`x ** -1`) as a number, so that the partial folds (`-1 - 1` is -2)
        return arg.k === 'unary' && arg.op === '-' && arg.e.k === 'num' ? num(-arg.e.value) : arg;
      });
    let lin: Lin | null = null;
    args.forEach((a, i) => {
      const p = partials[i];
      if (a.lin && p) lin = sum(lin, scale(fill(p), a.lin));
    });
    return { value, lin };
  }
}

/** Tangent of a linear map: leaves replaced by their `d` partners. */
export function tangentOf(lin: Lin | null, names: Names): Expr {
  if (!lin) return ZERO;
  switch (lin.k) {
    case 'leaf':
      return lin.leaf.k === 'var' ? v(names.d(lin.leaf.name)) : idx(names.d(lin.leaf.array), lin.leaf.index);
    case 'scale':
      return mul(lin.c, tangentOf(lin.x, names));
    case 'sum':
      return add(tangentOf(lin.a, names), tangentOf(lin.b, names));
    case 'select': {
      const t = tangentOf(lin.t, names);
      const f = tangentOf(lin.f, names);
      return isNum(t, 0) && isNum(f, 0) ? ZERO : cond(lin.c, t, f);
    }
  }
}

/**
 * A linear map without branches in which some leaf occurs more than once, as one term per leaf
 * (`u[k] + c·(… − 4·u[k])` → `(1 − 4c)·u[k] + …`): its transpose then updates each adjoint
 * element once. Maps with selects, or without repeated leaves, are returned unchanged.
 */
export function collectTerms(lin: Lin | null): Lin | null {
  if (!lin) return lin;
  const terms: { leaf: Leaf; c: Expr }[] = [];
  let flat = true;
  const visit = (l: Lin, c: Expr): void => {
    if (l.k === 'leaf') {
      const t = terms.find((x) => sameLeaf(x.leaf, l.leaf));
      if (t) t.c = add(t.c, c);
      else terms.push({ leaf: l.leaf, c });
    } else if (l.k === 'scale') visit(l.x, mul(c, l.c));
    else if (l.k === 'sum') {
      visit(l.a, c);
      visit(l.b, c);
    } else flat = false;
  };
  visit(lin, ONE);
  const leaves = (l: Lin): number =>
    l.k === 'leaf' ? 1 : l.k === 'scale' ? leaves(l.x) : l.k === 'sum' ? leaves(l.a) + leaves(l.b) : 0;
  if (!flat || terms.length === leaves(lin)) return lin;
  return terms.reduce<Lin | null>((acc, t) => sum(acc, scale(t.c, { k: 'leaf', leaf: t.leaf })), null);
}

/** Transpose of a linear map applied to `seed`: `leafb += coefficient * seed` statements. */
export function transposeOf(lin: Lin | null, seed: Expr, names: Names, out: Stmt[]): void {
  if (!lin) return;
  const bindSeed = (s: Expr): Expr => {
    if (isTrivial(s)) return s;
    const name = names.temp('s');
    out.push({ k: 'decl', name, mutable: false, init: s });
    return v(name);
  };
  switch (lin.k) {
    case 'leaf': {
      const target =
        lin.leaf.k === 'var'
          ? { k: 'var' as const, name: names.b(lin.leaf.name) }
          : { k: 'index' as const, array: names.b(lin.leaf.array), index: lin.leaf.index };
      if (seed.k === 'unary' && seed.op === '-') out.push({ k: 'assign', target, op: '-=', value: seed.e });
      else out.push({ k: 'assign', target, op: '+=', value: seed });
      return;
    }
    case 'scale':
      transposeOf(lin.x, lin.x.k === 'leaf' ? mul(lin.c, seed) : bindSeed(mul(lin.c, seed)), names, out);
      return;
    case 'sum': {
      const s = bindSeed(seed);
      transposeOf(lin.a, s, names, out);
      transposeOf(lin.b, s, names, out);
      return;
    }
    case 'select': {
      const s = bindSeed(seed);
      const t: Stmt[] = [];
      const f: Stmt[] = [];
      transposeOf(lin.t, s, names, t);
      transposeOf(lin.f, s, names, f);
      out.push({ k: 'if', cond: lin.c, then: t, else: f });
      return;
    }
  }
}

/** Names the linear map (coefficients, conditions, leaf indices) and its temporaries read. */
export function linReads(lin: Lin | null, pre: Stmt[], out: Set<string> = new Set()): Set<string> {
  const temps = new Set<string>();
  for (const s of pre)
    if (s.k === 'decl') {
      readsOf(s.init, out);
      temps.add(s.name);
    }
  const visit = (l: Lin | null): void => {
    if (!l) return;
    switch (l.k) {
      case 'leaf':
        if (l.leaf.k === 'index') readsOf(l.leaf.index, out);
        break;
      case 'scale':
        readsOf(l.c, out);
        visit(l.x);
        break;
      case 'sum':
        visit(l.a);
        visit(l.b);
        break;
      case 'select':
        readsOf(l.c, out);
        visit(l.t);
        visit(l.f);
        break;
    }
  };
  visit(lin);
  for (const t of temps) out.delete(t);
  return out;
}
