/** Expression builders with light algebraic simplification, used by the differentiation rules. */
import type { Expr, BinaryOp, Stmt, ForLoop, RuntimeCall } from './types.js';
import type { MathFunction } from './ops.js';

export const num = (value: number): Expr => ({ k: 'num', value, text: formatNumber(value) });
export const ZERO = num(0);
export const ONE = num(1);
export const v = (name: string): Expr => ({ k: 'var', name });
export const idx = (array: string, index: Expr): Expr => ({ k: 'index', array, index });
/** `fn(...args)`; `Math.pow(a, 1)` is `a` (exactly, in JavaScript) and `Math.pow(a, 0)` is 1. */
export const call = (fn: MathFunction, ...args: Expr[]): Expr => {
  if (fn === 'Math.pow' && isNum(args[1], 1)) return args[0];
  if (fn === 'Math.pow' && isNum(args[1], 0)) return num(1);
  return { k: 'call', fn, args };
};
/** `c ? t : f`; a comparison of two numbers (a rule's partial at a constant argument, `2 === 0`) picks its branch. */
export const cond = (c: Expr, t: Expr, f: Expr): Expr => {
  const known =
    c.k === 'binary' && c.l.k === 'num' && c.r.k === 'num' ? compareNumbers(c.op, c.l.value, c.r.value) : undefined;
  return known === undefined ? { k: 'cond', c, t, f } : known ? t : f;
};

function compareNumbers(op: BinaryOp, a: number, b: number): boolean | undefined {
  switch (op) {
    case '===':
    case '==':
      return a === b;
    case '!==':
    case '!=':
      return a !== b;
    case '<':
      return a < b;
    case '<=':
      return a <= b;
    case '>':
      return a > b;
    case '>=':
      return a >= b;
    default:
      return undefined;
  }
}
export const bin = (op: BinaryOp, l: Expr, r: Expr): Expr => ({ k: 'binary', op, l, r });

export function formatNumber(x: number): string {
  if (Object.is(x, -0)) return '0';
  return String(x);
}

export const isNum = (e: Expr, value?: number): boolean => e.k === 'num' && (value === undefined || e.value === value);

export function neg(e: Expr): Expr {
  if (e.k === 'num') return num(-e.value);
  if (e.k === 'unary' && e.op === '-') return e.e;
  if (e.k === 'binary' && e.op === '*' && e.l.k === 'num') return mul(num(-e.l.value), e.r);
  return { k: 'unary', op: '-', e };
}

export function add(a: Expr, b: Expr): Expr {
  if (isNum(a, 0)) return b;
  if (isNum(b, 0)) return a;
  if (a.k === 'num' && b.k === 'num') return num(a.value + b.value);
  if (sameExpr(a, b)) return mul(num(2), a);
  if (b.k === 'unary' && b.op === '-') return bin('-', a, b.e);
  if (b.k === 'num' && b.value < 0) return bin('-', a, num(-b.value));
  if (b.k === 'binary' && b.op === '*' && b.l.k === 'num' && b.l.value < 0)
    return bin('-', a, mul(num(-b.l.value), b.r));
  return bin('+', a, b);
}

export function sub(a: Expr, b: Expr): Expr {
  if (isNum(b, 0)) return a;
  if (isNum(a, 0)) return neg(b);
  if (a.k === 'num' && b.k === 'num') return num(a.value - b.value);
  if (b.k === 'unary' && b.op === '-') return bin('+', a, b.e);
  if (b.k === 'num' && b.value < 0) return bin('+', a, num(-b.value));
  return bin('-', a, b);
}

export function mul(a: Expr, b: Expr): Expr {
  if (isNum(a, 0) || isNum(b, 0)) return ZERO;
  if (isNum(a, 1)) return b;
  if (isNum(b, 1)) return a;
  if (isNum(a, -1)) return neg(b);
  if (isNum(b, -1)) return neg(a);
  if (a.k === 'num' && b.k === 'num') return num(a.value * b.value);
  if (a.k === 'unary' && a.op === '-') return neg(mul(a.e, b));
  if (b.k === 'unary' && b.op === '-') return neg(mul(a, b.e));
  // keep constants in front: x * 2 → 2 * x
  if (b.k === 'num' && a.k !== 'num') return bin('*', b, a);
  return bin('*', a, b);
}

export function div(a: Expr, b: Expr): Expr {
  if (isNum(a, 0)) return ZERO;
  if (isNum(b, 1)) return a;
  if (a.k === 'unary' && a.op === '-') return neg(div(a.e, b));
  return bin('/', a, b);
}

/** Structural equality (used to merge identical leaves and detect self-reads). */
export function sameExpr(a: Expr, b: Expr): boolean {
  if (a.k !== b.k) return false;
  switch (a.k) {
    case 'num':
      return a.value === (b as typeof a).value;
    case 'var':
      return a.name === (b as typeof a).name;
    case 'index':
      return a.array === (b as typeof a).array && sameExpr(a.index, (b as typeof a).index);
    case 'length':
      return a.array === (b as typeof a).array;
    case 'unary':
      return a.op === (b as typeof a).op && sameExpr(a.e, (b as typeof a).e);
    case 'binary': {
      const o = b as typeof a;
      return a.op === o.op && sameExpr(a.l, o.l) && sameExpr(a.r, o.r);
    }
    case 'cond': {
      const o = b as typeof a;
      return sameExpr(a.c, o.c) && sameExpr(a.t, o.t) && sameExpr(a.f, o.f);
    }
    case 'call': {
      const o = b as typeof a;
      return a.fn === o.fn && a.args.length === o.args.length && a.args.every((x, i) => sameExpr(x, o.args[i]));
    }
    case 'member': {
      const o = b as typeof a;
      return a.key === o.key && sameExpr(a.e, o.e);
    }
    case 'cast': {
      const o = b as typeof a;
      return a.type === o.type && !a.orUndefined === !o.orUndefined && sameExpr(a.e, o.e);
    }
    case 'pop':
    case 'runtime':
    case 'record':
    case 'apply':
      return false;
    case 'tuple':
      return false;
    case 'str':
      return a.value === (b as typeof a).value;
  }
}

/** Calls `f` on every sub-expression (pre-order). */
export function walkExpr(e: Expr, f: (e: Expr) => void): void {
  f(e);
  switch (e.k) {
    case 'index':
      walkExpr(e.index, f);
      break;
    case 'unary':
      walkExpr(e.e, f);
      break;
    case 'binary':
      walkExpr(e.l, f);
      walkExpr(e.r, f);
      break;
    case 'cond':
      walkExpr(e.c, f);
      walkExpr(e.t, f);
      walkExpr(e.f, f);
      break;
    case 'call':
      for (const a of e.args) walkExpr(a, f);
      break;
    case 'tuple':
      for (const a of e.items) walkExpr(a, f);
      break;
    case 'runtime':
      for (const a of runtimeOperands(e.call)) walkExpr(a, f);
      break;
    case 'record':
      for (const x of e.fields) walkExpr(x.value, f);
      break;
    case 'apply':
      for (const a of e.args) walkExpr(a, f);
      break;
    case 'member':
    case 'cast':
      walkExpr(e.e, f);
      break;
    default:
      break;
  }
}

/**
 * The expressions a runtime call evaluates (its operands; not the bodies of its callbacks, which
 * are statements: ir/walk.ts's `closuresOf`).
 */
export function runtimeOperands(c: RuntimeCall): Expr[] {
  const out: Expr[] = [];
  mapRuntimeOperands(c, (e) => {
    out.push(e);
    return e;
  });
  return out;
}

/** `c` with `f` applied to each of its operands (runtimeOperands, in that order). */
export function mapRuntimeOperands(c: RuntimeCall, f: (e: Expr) => Expr): RuntimeCall {
  switch (c.fn) {
    case 'Tape':
    case 'SaveStack':
    case 'stackSave':
    case 'stackPop':
    case 'stackRelease':
    case 'slot':
      return c;
    case 'array':
    case 'scratch':
    case 'accumulate':
    case 'arrayFrom':
      return { ...c, length: f(c.length) };
    case 'stackPush':
      return { ...c, value: f(c.value) };
    case 'set':
      return { ...c, src: f(c.src) };
    case 'fill':
      return { ...c, value: f(c.value), ...(c.length ? { length: f(c.length) } : {}) };
    case 'copyInto':
      return { ...c, into: f(c.into) };
    case 'releaseCopy':
      return { ...c, copy: f(c.copy) };
    case 'add':
      return { ...c, a: f(c.a), b: f(c.b) };
    case 'scaled':
      return { ...c, c: f(c.c), v: f(c.v) };
    case 'checkpointLoop':
      return { ...c, steps: f(c.steps), bytes: f(c.bytes) };
    case 'checkpointSweep':
      return { ...c, loop: f(c.loop) };
    case 'report':
      return { ...c, iteration: c.iteration.map(f), element: f(c.element) };
    case 'gpu':
      return { ...c, args: c.args.map(f) };
  }
}

/** The variables and arrays a runtime call names directly (a stack, the arrays it copies or fills). */
export function runtimeNames(c: RuntimeCall): string[] {
  switch (c.fn) {
    case 'stackSave':
      return [c.stack, c.array];
    case 'stackPush':
    case 'stackPop':
      return [c.stack];
    case 'stackRelease':
      return [c.stack, c.copy];
    case 'set':
    case 'fill':
      return [c.dst];
    case 'copyInto':
      return [c.src];
    case 'accumulate':
      return [c.dst, c.src];
    case 'slot':
      return [c.slots, c.slot];
    case 'checkpointLoop':
      return c.costs ? [c.costs] : [];
    case 'report':
      return [c.reader];
    case 'gpu':
      return [c.ctx];
    default:
      return [];
  }
}

/** Names of scalar variables and arrays an expression reads. */
export function readsOf(e: Expr, out: Set<string> = new Set()): Set<string> {
  walkExpr(e, (x) => {
    if (x.k === 'var') out.add(x.name);
    else if (x.k === 'index' || x.k === 'length') out.add(x.array);
    else if (x.k === 'runtime') for (const n of runtimeNames(x.call)) out.add(n);
  });
  return out;
}

/** Is the expression cheap and side-effect free to evaluate more than once (a leaf)? */
export const isTrivial = (e: Expr): boolean =>
  e.k === 'num' || e.k === 'var' || (e.k === 'index' && (e.index.k === 'var' || e.index.k === 'num'));

/**
 * Rebuilds an expression bottom-up, replacing each node for which `f` returns an expression, and
 * re-simplifying arithmetic through the builders.
 */
export function substitute(e: Expr, f: (e: Expr) => Expr | undefined): Expr {
  const r = f(e);
  if (r) return r;
  switch (e.k) {
    case 'index':
      return { ...e, index: substitute(e.index, f) };
    case 'unary':
      return e.op === '-' ? neg(substitute(e.e, f)) : { ...e, e: substitute(e.e, f) };
    case 'binary': {
      const l = substitute(e.l, f);
      const r2 = substitute(e.r, f);
      switch (e.op) {
        case '+':
          return add(l, r2);
        case '-':
          return sub(l, r2);
        case '*':
          return mul(l, r2);
        case '/':
          return div(l, r2);
        default:
          return { ...e, l, r: r2 };
      }
    }
    case 'cond':
      return cond(substitute(e.c, f), substitute(e.t, f), substitute(e.f, f));
    case 'call':
      return call(e.fn, ...e.args.map((a) => substitute(a, f)));
    case 'tuple':
      return { ...e, items: e.items.map((a) => substitute(a, f)) };
    default:
      return e;
  }
}

/** `const <name> = new Tape();`: the adjoint's tape (a runtime object, printed as is). */
export const tapeDecl = (name: string): Stmt => ({
  k: 'decl',
  name,
  mutable: false,
  init: { k: 'runtime', call: { fn: 'Tape' } },
});
/** Whether `s` declares the adjoint's tape (tapeDecl). */
export const isTapeDecl = (s: Stmt): boolean => s.k === 'decl' && s.init.k === 'runtime' && s.init.call.fn === 'Tape';

/** Number of iterations of a canonical loop (never negative). */
export function tripCount(l: ForLoop): Expr {
  const st = Math.abs(l.step);
  const span = l.step > 0 ? sub(l.bound, l.init) : sub(l.init, l.bound);
  const strict = l.cmp === '<' || l.cmp === '>';
  const n = strict
    ? st === 1
      ? span
      : call('Math.ceil', div(span, num(st)))
    : add(st === 1 ? span : call('Math.floor', div(span, num(st))), num(1));
  return call('Math.max', num(0), n);
}

/** The value of an expression without variables (arithmetic, `Math.max/min/floor/ceil` of constants), else undefined. */
export function constantValue(e: Expr): number | undefined {
  switch (e.k) {
    case 'num':
      return e.value;
    case 'unary':
      return e.op === '-' ? neg0(constantValue(e.e)) : undefined;
    case 'binary': {
      const [l, r] = [constantValue(e.l), constantValue(e.r)];
      if (l === undefined || r === undefined) return undefined;
      switch (e.op) {
        case '+':
          return l + r;
        case '-':
          return l - r;
        case '*':
          return l * r;
        case '/':
          return r === 0 ? undefined : l / r;
        default:
          return undefined;
      }
    }
    case 'call': {
      const args = e.args.map(constantValue);
      if (args.some((a) => a === undefined)) return undefined;
      const xs = args as number[];
      switch (e.fn) {
        case 'Math.max':
          return Math.max(...xs);
        case 'Math.min':
          return Math.min(...xs);
        case 'Math.floor':
          return Math.floor(xs[0]);
        case 'Math.ceil':
          return Math.ceil(xs[0]);
        default:
          return undefined;
      }
    }
    default:
      return undefined;
  }
}

const neg0 = (x: number | undefined): number | undefined => (x === undefined ? undefined : -x);
