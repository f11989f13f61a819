/**
 * IR expressions as TypeScript/JavaScript text with minimal parentheses, and loop headers. The text
 * doubles as the IR's structural key (two expressions print alike exactly when they are the same
 * tree): the analysis and the schedule key maps by it, so it lives here, below them.
 */
import type { Expr, LValue, ForLoop, RuntimeCall } from './types.js';
import { add, sub, mul, div, call, num, ONE } from './build.js';

const PREC: Record<string, number> = {
  '||': 3,
  '&&': 4,
  '|': 5,
  '^': 6,
  '&': 7,
  '==': 8,
  '!=': 8,
  '===': 8,
  '!==': 8,
  '<': 9,
  '<=': 9,
  '>': 9,
  '>=': 9,
  '<<': 10,
  '>>': 10,
  '>>>': 10,
  '+': 11,
  '-': 11,
  '*': 12,
  '/': 12,
  '%': 12,
};
const UNARY = 14;
const COND = 2;

function precOf(e: Expr): number {
  switch (e.k) {
    case 'binary':
      return PREC[e.op];
    case 'cond':
      return COND;
    case 'unary':
      return UNARY;
    case 'num':
      return e.value < 0 || Object.is(e.value, -0) ? UNARY : 20;
    default:
      return 20;
  }
}

export function printExpr(e: Expr, min = 0): string {
  const s = printBare(e);
  return precOf(e) < min ? `(${s})` : s;
}

function printBare(e: Expr): string {
  switch (e.k) {
    case 'num':
      return e.text;
    case 'var':
      return e.name;
    case 'index':
      return `${e.array}[${printExpr(e.index)}]`;
    case 'length':
      return `${e.array}.length`;
    case 'unary': {
      const inner = printExpr(e.e, UNARY);
      // avoid `--x` / `- -1`
      return (e.op === '-' || e.op === '+') && inner.startsWith(e.op) ? `${e.op}(${inner})` : `${e.op}${inner}`;
    }
    case 'binary': {
      const p = PREC[e.op];
      return `${printExpr(e.l, p)} ${e.op} ${printExpr(e.r, p + 1)}`;
    }
    case 'cond':
      return `${printExpr(e.c, COND + 1)} ? ${printExpr(e.t, COND)} : ${printExpr(e.f, COND)}`;
    case 'call':
      return `${e.fn}(${e.args.map((a) => printExpr(a)).join(', ')})`;
    case 'pop':
      return `${e.tape}.pop()`;
    case 'runtime':
      return printRuntimeCall(e.call);
    case 'record': {
      const field = (f: { key: string; value: Expr }) =>
        f.value.k === 'var' && f.value.name === f.key ? f.key : `${f.key}: ${printExpr(f.value)}`;
      return `{ ${e.fields.map(field).join(', ')} }`;
    }
    case 'str':
      return JSON.stringify(e.value);
    case 'tuple':
      return `[${e.items.map((a) => printExpr(a)).join(', ')}]`;
  }
}

function printRuntimeCall(c: RuntimeCall): string {
  switch (c.fn) {
    case 'Tape':
      return 'new Tape()';
    case 'array':
      return `new ${c.type}(${printExpr(c.length)})`;
    case 'scratch':
      return `${c.as}(${c.owner}, ${c.slot}, ${printExpr(c.length)}${c.fill === undefined ? '' : `, ${c.fill}`})`;
    case 'report': {
      const iteration = `\`${c.iteration.map((e) => `\${${printExpr(e)}}`).join(',')}\``;
      return `${c.reader}(${c.line}, ${c.iteration.length ? iteration : "''"}, ${c.array ? JSON.stringify(c.array) : "''"}, ${printExpr(c.element)})`;
    }
    case 'gpu':
      return `${c.ctx}.${c.method}(${c.args.map((a) => printExpr(a)).join(', ')})`;
  }
}

export const printLValue = (t: LValue): string => (t.k === 'var' ? t.name : `${t.array}[${printExpr(t.index)}]`);

/** `for (let i = …; i < …; i++)` of a loop (of its reversed version when `reversed`). */
export function forHeader(s: ForLoop): string {
  const l = s.reversed ? reversedLoop(s) : s;
  const i = l.v;
  const inc =
    Math.abs(l.step) === 1 ? `${i}${l.step > 0 ? '++' : '--'}` : `${i} ${l.step > 0 ? '+=' : '-='} ${Math.abs(l.step)}`;
  const bound = printExpr(l.bound, s.reversed ? 10 : undefined);
  return `for (let ${i} = ${printExpr(l.init)}; ${i} ${l.cmp} ${bound}; ${inc})`;
}

/**
 * A reversed loop (same index set, visited backwards) as a plain loop: it starts at the last value
 * the forward loop reaches.
 *   up, i < hi:   lo + floor((hi - 1 - lo) / st) * st     up, i <= hi: lo + floor((hi - lo) / st) * st
 *   down, i > b:  lo - floor((lo - b - 1) / st) * st      down, i >= b: lo - floor((lo - b) / st) * st
 */
export function reversedLoop(s: ForLoop): ForLoop {
  const lo = s.init;
  const st = Math.abs(s.step);
  const strict = s.cmp === '<' || s.cmp === '>';
  const stepsTimes = (span: Expr) => mul(call('Math.floor', div(span, num(st))), num(st));
  const plain = { ...s, reversed: undefined, bound: lo, step: -s.step };
  if (s.step > 0) {
    const hi = strict ? sub(s.bound, ONE) : s.bound;
    return { ...plain, init: st === 1 ? hi : add(lo, stepsTimes(sub(hi, lo))), cmp: '>=' };
  }
  const b = strict ? add(s.bound, ONE) : s.bound;
  return { ...plain, init: st === 1 ? b : sub(lo, stepsTimes(sub(lo, b))), cmp: '<=' };
}
