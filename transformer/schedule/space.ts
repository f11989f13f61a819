/**
 * The iteration space of a parallel nest as the schedules need it: trip counts, the flat iteration
 * number of an iteration (to index per-iteration staging arrays and reduction blocks), index
 * polynomials over the nest's loop variables, and expressions built back from polynomials.
 */
import type { Expr, ForLoop, Stmt } from '../ir/types.js';
import { add, sub, mul, div, num, v, bin, readsOf, sameExpr, tripCount } from '../ir/build.js';

export { tripCount };
import { type Poly, type Defs, polyOf, symPoly, symbolsOf } from '../analysis/exclusive/poly.js';
import { forEachStmt, writesOf } from '../ir/walk.js';
import type { Condition } from '../analysis/exclusive/condition.js';

/** (v - lo) / step: the iteration's number in its own loop. */
function ordinal(l: ForLoop, value: Expr = v(l.v)): Expr {
  const off = sub(value, l.init);
  return l.step === 1 ? off : div(off, num(l.step));
}

/** Σ ordinal_d · Π_{e>d} trip_e, given the names holding the trip counts. */
export function flatIndex(nest: ForLoop[], trips: string[], values?: Map<string, Expr>): Expr {
  let e: Expr | undefined;
  nest.forEach((l, d) => {
    const o = ordinal(l, values?.get(l.v) ?? v(l.v));
    e = e === undefined ? o : add(mul(e, v(trips[d])), o);
  });
  return e!;
}

/** `value` lies in the loop's index set (bounds and step). */
export function inRange(l: ForLoop, value: Expr): Expr {
  const up = l.step > 0;
  const lo = bin(up ? '>=' : '<=', value, l.init);
  const hi = bin(l.cmp, value, l.bound);
  let c = bin('&&', lo, hi);
  if (Math.abs(l.step) !== 1) c = bin('&&', c, bin('===', bin('%', sub(value, l.init), num(Math.abs(l.step))), num(0)));
  return c;
}

/** A polynomial as an expression: Σ c · s1 · s2 … (`x.length` symbols become length reads). */
export function polyExpr(p: Poly): Expr {
  let e: Expr = num(0);
  const terms = [...p].sort(([a], [b]) => (a === '' ? 1 : b === '' ? -1 : a.localeCompare(b)));
  for (const [key, c] of terms) {
    let t: Expr = num(1);
    for (const s of key ? key.split('*') : [])
      t = mul(t, s.endsWith('.length') ? { k: 'length', array: s.slice(0, -7) } : v(s));
    e = add(e, mul(num(c), t));
  }
  return e;
}

/** The analysis' condition (a `depends` verdict's) as an expression. */
export function conditionExpr(c: Condition): Expr {
  switch (c.k) {
    case 'cmp':
      return bin(c.op, polyExpr(c.l), polyExpr(c.r));
    case 'bool':
      // (the IR has no Boolean literal: a comparison of constants, valid in JavaScript and WGSL)
      return bin('===', num(0), num(c.value ? 0 : 1));
    case 'and':
    case 'or':
      return c.items.map(conditionExpr).reduce((a, b) => bin(c.k === 'and' ? '&&' : '||', a, b));
  }
}

/**
 * Integer definitions visible to index expressions: locals declared once and never reassigned
 * (in the kernel or in the generated iteration body), by name. A name declared twice (sibling
 * blocks) has no single definition.
 */
export function intDefinitions(bodies: Stmt[][]): Map<string, Expr> {
  const defs = new Map<string, Expr>();
  const twice = new Set<string>();
  const assigned = new Set<string>();
  for (const b of bodies) {
    forEachStmt(b, (s) => {
      if (s.k === 'decl') {
        // the same definition again (the primal's, repeated in a recompute sweep) is not ambiguous
        if (defs.has(s.name) && !sameExpr(defs.get(s.name)!, s.init)) twice.add(s.name);
        defs.set(s.name, s.init);
      } else if (s.k === 'assign' && s.target.k === 'var') assigned.add(s.target.name);
    });
  }
  for (const n of [...twice, ...assigned]) defs.delete(n);
  // `Math.floor(sy)` of a local `sy = oy * H / OH`: the quotient itself (bilinear's source row)
  for (const [n, e] of defs) {
    if (
      e.k === 'call' &&
      (e.fn === 'Math.floor' || e.fn === 'Math.trunc') &&
      e.args.length === 1 &&
      e.args[0].k === 'var'
    ) {
      const q = defs.get(e.args[0].name);
      if (q?.k === 'binary' && q.op === '/') defs.set(n, { ...e, args: [q] });
    }
  }
  return defs;
}

/**
 * Polynomial forms inside a nest's generated iteration body: loop variables are symbols, integer
 * definitions are substituted, and names the body never writes (integer parameters, enclosing
 * loop variables, outer locals) are symbols too: they are constant while the nest runs.
 */
export class IndexForms {
  private readonly written: Set<string>;
  constructor(
    private readonly defs: Map<string, Expr>,
    body: Stmt[],
  ) {
    this.written = writesOf(body);
  }

  /** Definitions of the quasi-affine symbols `quasiPoly` returns (`$q0` = ⌊i / 4⌋, …). */
  readonly quasi: Defs = {};

  /** Polynomial of `e` with `loopVars` as symbols; undefined when it has none. */
  poly(e: Expr, loopVars: Set<string>): Poly | undefined {
    return this.form(e, loopVars, undefined);
  }

  /** Like `poly`, with quasi-affine symbols (quotients, remainders, min/max; see analysis/exclusive/poly.ts) defined in `quasi`. */
  quasiPoly(e: Expr, loopVars: Set<string>): Poly | undefined {
    return this.form(e, loopVars, this.quasi);
  }

  private form(e: Expr, loopVars: Set<string>, quasi: Defs | undefined): Poly | undefined {
    const seen = new Set<string>();
    const lookup = (name: string): Poly | undefined => {
      if (loopVars.has(name)) return symPoly(name);
      const d = this.defs.get(name);
      if (d && !seen.has(name)) {
        seen.add(name);
        const p = polyOf(d, lookup, quasi);
        seen.delete(name);
        if (p) return p;
      }
      return this.written.has(name) ? undefined : symPoly(name);
    };
    return polyOf(e, lookup, quasi);
  }

  /** Is `name` constant while the nest runs (not written by its generated body)? */
  constant(name: string): boolean {
    return !this.written.has(name);
  }

  /** Polynomial over parameters only (no loop variable of `loopVars`). */
  paramPoly(e: Expr, loopVars: Set<string>): Poly | undefined {
    const p = this.poly(e, loopVars);
    return p && [...symbolsOf(p)].every((s) => !loopVars.has(s)) ? p : undefined;
  }
}

/** Do the loop headers of `nest` depend only on names constant in the nest (a rectangular space)? */
export function rectangular(nest: ForLoop[], forms: IndexForms): boolean {
  const vars = new Set(nest.map((l) => l.v));
  return nest.every((l) => [...readsOf(l.init), ...readsOf(l.bound)].every((n) => !vars.has(n) && forms.constant(n)));
}
