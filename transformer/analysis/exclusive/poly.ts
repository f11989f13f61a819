/**
 * Integer polynomials over symbols (loop variables, integer parameters), the form index
 * expressions take for the exclusive-read analysis. `c[(c*H + oy + ky)*W + ox + kx]` becomes
 * c·H·W + oy·W + ky·W + ox + kx.
 *
 * Quasi-affine forms get fresh symbols with their definitions (`Defs`, plain data), as
 * polyhedral tools model them: `q = ⌊e / k⌋` (k a positive constant or a parameter), JavaScript's
 * truncating `(e / k) | 0`, and `Math.min`/`Math.max`. The operators reduce to those:
 *   e % k                 e − k·trunc(e / k)          (JS `%` is truncated: its sign is e's)
 *   ((e % k) + k) % k     e − k·⌊e / k⌋               (the Euclidean remainder idiom)
 *   e >> c                ⌊e / 2^c⌋                   (arithmetic shift rounds toward −∞)
 *   e << c                e · 2^c
 *   e & (2^c − 1)         e − 2^c·⌊e / 2^c⌋           (two's complement: the Euclidean remainder)
 *   (a / b) | 0, Math.trunc(a / b)   trunc(a / b);   Math.floor(a / b)   ⌊a / b⌋
 * Anything else (a plain `/`, reads of index arrays) has no polynomial form: the analysis then
 * answers `unknown`.
 */
import type { Expr } from '../../ir/types.js';

/** monomial key (symbols joined by '*', sorted; '' for the constant) → coefficient */
export type Poly = Map<string, number>;

export const constPoly = (c: number): Poly => new Map(c === 0 ? [] : [['', c]]);
export const symPoly = (s: string): Poly => new Map([[s, 1]]);

const mulKeys = (a: string, b: string): string =>
  a === '' ? b : b === '' ? a : [...a.split('*'), ...b.split('*')].sort().join('*');

function addTo(out: Poly, key: string, c: number): void {
  const v = (out.get(key) ?? 0) + c;
  if (v === 0) out.delete(key);
  else out.set(key, v);
}

export function addPoly(a: Poly, b: Poly, sign = 1): Poly {
  const out = new Map(a);
  for (const [k, c] of b) addTo(out, k, sign * c);
  return out;
}

export function mulPoly(a: Poly, b: Poly): Poly {
  const out: Poly = new Map();
  for (const [ka, ca] of a) for (const [kb, cb] of b) addTo(out, mulKeys(ka, kb), ca * cb);
  return out;
}

export const scalePoly = (a: Poly, c: number): Poly => mulPoly(a, constPoly(c));

/** Symbols a polynomial mentions. */
export function symbolsOf(p: Poly): Set<string> {
  const out = new Set<string>();
  for (const k of p.keys()) for (const s of k.split('*')) if (s) out.add(s);
  return out;
}

export const degreeOf = (p: Poly): number =>
  Math.max(0, ...[...p.keys()].map((k) => (k === '' ? 0 : k.split('*').length)));

export const samePoly = (a: Poly, b: Poly): boolean => a.size === b.size && [...a].every(([k, c]) => b.get(k) === c);

/** Substitutes symbols by polynomials. */
export function substPoly(p: Poly, sub: (s: string) => Poly | undefined): Poly {
  let out: Poly = new Map();
  for (const [k, c] of p) {
    let term = constPoly(c);
    for (const s of k ? k.split('*') : []) term = mulPoly(term, sub(s) ?? symPoly(s));
    out = addPoly(out, term);
  }
  return out;
}

export function printPoly(p: Poly): string {
  if (!p.size) return '0';
  const terms = [...p].sort(([a], [b]) => (a === '' ? 1 : b === '' ? -1 : a.localeCompare(b)));
  let s = '';
  for (const [k, c] of terms) {
    const mag = Math.abs(c);
    const body = k === '' ? String(mag) : mag === 1 ? k : `${mag}*${k}`;
    s += s ? (c < 0 ? ` - ${body}` : ` + ${body}`) : c < 0 ? `-${body}` : body;
  }
  return s;
}

// ---------------------------------------------------------------------------------------------
// Quasi-affine symbols

/**
 * The definition of a quasi-affine symbol: `q = ⌊num / den⌋` (floor) or rounded toward zero
 * (trunc), `den` a positive constant or a polynomial over parameters (assumed ≥ 1: a division by a
 * non-positive size has no meaning for an index); or the minimum / maximum of `args`.
 */
export type Def = Quot | { op: 'min' | 'max'; args: Poly[] };
export type Quot = { op: 'floor' | 'trunc'; num: Poly; den: Poly };
export const isQuot = (d: Def): d is Quot => d.op === 'floor' || d.op === 'trunc';

/** Quasi-affine symbols (`$q0`, `$q1`, …) by name. Plain data: structured-clone-able. */
export type Defs = Record<string, Def>;

export const isDefSymbol = (s: string): boolean => s.startsWith('$q');

/** A canonical text of `p` (equal polynomials, equal keys). */
export const polyKey = (p: Poly): string =>
  [...p]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, c]) => `${c}:${k}`)
    .join(',');
const defKey = (d: Def): string =>
  isQuot(d) ? `${d.op}(${polyKey(d.num)}/${polyKey(d.den)})` : `${d.op}(${d.args.map(polyKey).join(';')})`;

/** The symbol of definition `d` in `defs` (the same definition twice gets the same symbol). */
export function intern(defs: Defs, d: Def): string {
  const key = defKey(d);
  for (const [name, x] of Object.entries(defs)) if (defKey(x) === key) return name;
  const name = `$q${Object.keys(defs).length}`;
  defs[name] = d;
  return name;
}

/** The polynomials a definition is built from. */
export const defParts = (d: Def): Poly[] => (isQuot(d) ? [d.num, d.den] : d.args);

/** The symbols `p` depends on, quasi-affine symbols replaced by what they are built from (transitively). */
export function baseSymbols(p: Poly, defs: Defs | undefined): Set<string> {
  const out = new Set<string>();
  const seen = new Set<string>();
  const visit = (q: Poly) => {
    for (const s of symbolsOf(q)) {
      const d = defs?.[s];
      if (!d) out.add(s);
      else if (!seen.has(s)) {
        seen.add(s);
        defParts(d).forEach(visit);
      }
    }
  };
  visit(p);
  return out;
}

/** The quasi-affine symbols `p` mentions, transitively (inner definitions first). */
export function defSymbols(p: Poly, defs: Defs | undefined): string[] {
  const out: string[] = [];
  const visit = (q: Poly) => {
    for (const s of symbolsOf(q)) {
      const d = defs?.[s];
      if (d && !out.includes(s)) {
        defParts(d).forEach(visit);
        out.push(s);
      }
    }
  };
  visit(p);
  return out;
}

/** JavaScript's value of a definition at concrete operands (undefined: division by zero). */
export function evalDef(d: Def, ev: (p: Poly) => number | undefined): number | undefined {
  if (!isQuot(d)) {
    const xs = d.args.map(ev);
    if (xs.some((x) => x === undefined)) return undefined;
    return d.op === 'min' ? Math.min(...(xs as number[])) : Math.max(...(xs as number[]));
  }
  const n = ev(d.num),
    k = ev(d.den);
  if (n === undefined || k === undefined || k <= 0) return undefined;
  return d.op === 'floor' ? Math.floor(n / k) : Math.trunc(n / k);
}

/**
 * The value of `p` at `env` (quasi-affine symbols evaluated from their definitions); undefined when
 * a symbol has no value.
 */
export function evalPoly(p: Poly, env: Record<string, number>, defs?: Defs): number | undefined {
  let sum = 0;
  for (const [k, c] of p) {
    let term = c;
    for (const s of k ? k.split('*') : []) {
      let x: number | undefined = env[s];
      if (x === undefined && defs?.[s]) x = evalDef(defs[s], (q) => evalPoly(q, env, defs));
      if (x === undefined) return undefined;
      term *= x;
    }
    sum += term;
  }
  return sum;
}

const constValue = (p: Poly): number | undefined =>
  p.size === 0 ? 0 : p.size === 1 && p.has('') ? p.get('')! : undefined;

/** `⌊num / den⌋` or `trunc(num / den)` as a polynomial: folded when constant, else a symbol. */
function quotient(defs: Defs, op: 'floor' | 'trunc', num: Poly, den: Poly): Poly | undefined {
  const k = constValue(den);
  if (k !== undefined && k <= 0) return undefined;
  if (k === 1) return num;
  const n = constValue(num);
  if (n !== undefined && k !== undefined) return constPoly(op === 'floor' ? Math.floor(n / k) : Math.trunc(n / k));
  return symPoly(intern(defs, { op, num, den }));
}

const isDivision = (e: Expr): e is Expr & { k: 'binary' } => e.k === 'binary' && e.op === '/';

/**
 * The polynomial form of an integer expression; `lookup` gives the form of a variable (a symbol,
 * a substituted local definition, or undefined when the variable has none). With `defs`,
 * quasi-affine forms (see above) get symbols defined there; without, they have no form.
 */
export function polyOf(e: Expr, lookup: (name: string) => Poly | undefined, defs?: Defs): Poly | undefined {
  const of = (x: Expr) => polyOf(x, lookup, defs);
  switch (e.k) {
    case 'num':
      return Number.isInteger(e.value) ? constPoly(e.value) : undefined;
    case 'var':
      return lookup(e.name);
    case 'length':
      return symPoly(`${e.array}.length`);
    case 'unary': {
      if (e.op === '+') return of(e.e);
      if (e.op !== '-') return undefined;
      const x = of(e.e);
      return x && scalePoly(x, -1);
    }
    case 'call': {
      if (!defs) return undefined;
      if ((e.fn === 'Math.floor' || e.fn === 'Math.trunc') && e.args.length === 1) {
        const a = e.args[0];
        if (isDivision(a)) {
          const num = of(a.l),
            den = of(a.r);
          return num && den && quotient(defs, e.fn === 'Math.floor' ? 'floor' : 'trunc', num, den);
        }
        return of(a); // an integer already
      }
      if ((e.fn === 'Math.min' || e.fn === 'Math.max') && e.args.length >= 1) {
        const args = e.args.map(of);
        if (args.some((a) => !a)) return undefined;
        const ps = args as Poly[];
        const consts = ps.map(constValue);
        if (consts.every((c) => c !== undefined))
          return constPoly((e.fn === 'Math.min' ? Math.min : Math.max)(...(consts as number[])));
        if (ps.length === 1) return ps[0];
        return symPoly(intern(defs, { op: e.fn === 'Math.min' ? 'min' : 'max', args: ps }));
      }
      return undefined;
    }
    case 'binary': {
      // (a / b) | 0: a quotient rounded toward zero
      if (defs && e.op === '|' && isDivision(e.l) && constValue(of(e.r) ?? new Map([['?', 1]])) === 0) {
        const num = of(e.l.l),
          den = of(e.l.r);
        return num && den && quotient(defs, 'trunc', num, den);
      }
      const l = of(e.l);
      const r = of(e.r);
      if (!l || !r) return undefined;
      if (e.op === '+') return addPoly(l, r);
      if (e.op === '-') return addPoly(l, r, -1);
      if (e.op === '*') return mulPoly(l, r);
      // x | 0 and x >> 0 are the identity on the 32-bit integers indices are
      if ((e.op === '|' || e.op === '>>') && r.size === 0) return l;
      if (!defs) return undefined;
      const c = constValue(r);
      if (e.op === '>>' && c !== undefined && c > 0 && c < 31) return quotient(defs, 'floor', l, constPoly(2 ** c));
      if (e.op === '<<' && c !== undefined && c >= 0 && c < 31) return scalePoly(l, 2 ** c);
      if (e.op === '&' && c !== undefined && c > 0 && Number.isInteger(Math.log2(c + 1))) {
        const q = quotient(defs, 'floor', l, constPoly(c + 1));
        return q && addPoly(l, scalePoly(q, c + 1), -1);
      }
      if (e.op === '%') {
        // ((x % k) + k) % k: the Euclidean remainder x − k·⌊x / k⌋
        if (e.l.k === 'binary' && e.l.op === '+' && e.l.l.k === 'binary' && e.l.l.op === '%') {
          const x = of(e.l.l.l),
            k1 = of(e.l.l.r),
            k2 = of(e.l.r);
          if (x && k1 && k2 && samePoly(k1, r) && samePoly(k2, r)) {
            const q = quotient(defs, 'floor', x, r);
            return q && addPoly(x, mulPoly(r, q), -1);
          }
        }
        const q = quotient(defs, 'trunc', l, r);
        return q && addPoly(l, mulPoly(r, q), -1);
      }
      return undefined;
    }
    default:
      return undefined;
  }
}

/** `p / k` for a monomial (or positive constant) k that divides every term of p, else undefined. */
export function divideBy(p: Poly, k: Poly): Poly | undefined {
  if (k.size !== 1) return undefined;
  const [[key, c]] = [...k];
  if (c <= 0) return undefined;
  const out: Poly = new Map();
  for (const [t, x] of p) {
    if (x % c !== 0) return undefined;
    const rest = t ? t.split('*') : [];
    for (const s of key ? key.split('*') : []) {
      const i = rest.indexOf(s);
      if (i < 0) return undefined;
      rest.splice(i, 1);
    }
    out.set(rest.sort().join('*'), x / c);
  }
  return out;
}

/** `d >= 0` printed with positive terms on each side (`2*size + 1 <= n`), or `d === 0` / `d !== 0` with `eq`. */
export function printCompare(d: Poly, strict: boolean, eq: '' | '===' | '!=='): string {
  const pos: Poly = new Map(),
    neg: Poly = new Map();
  for (const [k, c] of d) (c > 0 ? pos : neg).set(k, Math.abs(c));
  if (eq) return `${printPoly(pos)} ${eq} ${printPoly(neg)}`;
  // d >= 0 ⟺ neg <= pos
  return `${printPoly(neg)} ${strict ? '<' : '<='} ${printPoly(pos)}`;
}
