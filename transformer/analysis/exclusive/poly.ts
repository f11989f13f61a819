/**
 * Integer polynomials over symbols (loop variables, integer parameters), the form index
 * expressions take for the exclusive-read analysis. `c[(c*H + oy + ky)*W + ox + kx]` becomes
 * c·H·W + oy·W + ky·W + ox + kx. Anything else (%, >>, division, reads of index arrays) has no
 * polynomial form: the analysis then answers `unknown`.
 */
import type { Expr } from '../../ir/types.js';

/** monomial key (symbols joined by '*', sorted; '' for the constant) → coefficient */
export type Poly = Map<string, number>;

export const constPoly = (c: number): Poly => new Map(c === 0 ? [] : [['', c]]);
export const symPoly = (s: string): Poly => new Map([[s, 1]]);

const mulKeys = (a: string, b: string): string => (a === '' ? b : b === '' ? a : [...a.split('*'), ...b.split('*')].sort().join('*'));

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

export const degreeOf = (p: Poly): number => Math.max(0, ...[...p.keys()].map((k) => (k === '' ? 0 : k.split('*').length)));

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

/**
 * The polynomial form of an integer expression; `lookup` gives the form of a variable (a symbol,
 * a substituted local definition, or undefined when the variable has none).
 */
export function polyOf(e: Expr, lookup: (name: string) => Poly | undefined): Poly | undefined {
  switch (e.k) {
    case 'num': return Number.isInteger(e.value) ? constPoly(e.value) : undefined;
    case 'var': return lookup(e.name);
    case 'length': return symPoly(`${e.array}.length`);
    case 'unary': {
      if (e.op === '+') return polyOf(e.e, lookup);
      if (e.op !== '-') return undefined;
      const x = polyOf(e.e, lookup);
      return x && scalePoly(x, -1);
    }
    case 'binary': {
      const l = polyOf(e.l, lookup);
      const r = polyOf(e.r, lookup);
      if (!l || !r) return undefined;
      if (e.op === '+') return addPoly(l, r);
      if (e.op === '-') return addPoly(l, r, -1);
      if (e.op === '*') return mulPoly(l, r);
      // x | 0 and x >> 0 are the identity on the 32-bit integers indices are
      if ((e.op === '|' || e.op === '>>') && r.size === 0) return l;
      return undefined;
    }
    default: return undefined;
  }
}
