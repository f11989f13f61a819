/**
 * IR expressions as TypeScript/JavaScript text with minimal parentheses, and loop headers. The text
 * doubles as the IR's structural key (two expressions print alike exactly when they are the same
 * tree): the analysis and the schedule key maps by it, so it lives here, below them.
 */
import type { Expr, LValue, ForLoop, RuntimeCall, TypeName } from './types.js';
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
/** `e as T` binds like a relational operator */
const CAST = 9;
/** member access and calls */
const MEMBER = 20;

function precOf(e: Expr): number {
  switch (e.k) {
    case 'binary':
      return PREC[e.op];
    case 'cond':
      return COND;
    case 'unary':
      return UNARY;
    case 'cast':
      return CAST;
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
    case 'apply':
      return `${e.fn}(${e.args.map((a) => printExpr(a)).join(', ')})`;
    case 'member':
      return `${printExpr(e.e, MEMBER)}.${e.key}`;
    case 'cast':
      return `${printExpr(e.e, CAST + 1)} as ${printType(e.type)}${e.orUndefined ? ' | undefined' : ''}`;
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
    case 'SaveStack':
      return 'new SaveStack()';
    case 'stackSave':
      return `${c.stack}.save(${c.array})`;
    case 'stackPush':
      return `${c.stack}.push(${printExpr(c.value)})`;
    case 'stackPop':
      return `${c.stack}.pop()`;
    case 'stackRelease':
      return `${c.stack}.release(${c.copy})`;
    case 'set':
      return `${c.dst}.set(${printExpr(c.src)})`;
    case 'fill':
      return `${c.dst}.fill(${printExpr(c.value)}${c.length ? `, 0, ${printExpr(c.length)}` : ''})`;
    case 'copyInto':
      return `copyInto(${printExpr(c.into)}, ${c.src})`;
    case 'releaseCopy':
      return `releaseCopy(${printExpr(c.copy)})`;
    case 'accumulate':
      return `accumulate(${c.dst}, ${c.src}, ${printExpr(c.length)})`;
    case 'add':
      return `add(${printExpr(c.a)}, ${printExpr(c.b)})`;
    case 'scaled':
      return `scaled(${printExpr(c.c)}, ${printExpr(c.v)})`;
    case 'slot':
      return `(${c.slots}[${c.slot}] ??= [])`;
    case 'checkpointSweep':
      return `${printExpr(c.loop, MEMBER)}.${c.sweep}()`;
    case 'checkpointLoop':
    case 'arrayFrom':
      // their callbacks span lines: emit/print.ts's statement printer prints them
      throw new Error(`internal: ${c.fn} (a call with callbacks) printed as an expression`);
  }
}

/** A type annotation of generated TypeScript. */
export function printType(t: TypeName): string {
  switch (t) {
    case 'slots':
      return 'unknown[][]';
    case 'checkpoint':
      return 'ReturnType<typeof checkpointLoop>';
    default:
      return t;
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
