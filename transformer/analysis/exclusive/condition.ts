/**
 * The condition of a `depends` verdict: under it a nest reads an array exclusively. A formula over
 * integer parameters, kept as data (the schedule turns it into the IR expression of its versioned
 * adjoint, schedule/index.ts), printed as TypeScript for reports and diagnostics. Plain data, so
 * it crosses the z3 worker's boundary as it is.
 */
import { constPoly, printPoly, symPoly, type Poly } from './poly.js';

export type Condition =
  /** `l op r` over polynomials in the parameters (`2*size + 1 <= n`, `W >= 1`) */
  | { k: 'cmp'; l: Poly; op: '<=' | '>=' | '===' | '!=='; r: Poly }
  | { k: 'and' | 'or'; items: Condition[] }
  | { k: 'bool'; value: boolean };

/** `d >= 0` (`d === 0`, `d !== 0` with `eq`), with the positive terms on one side and the negative on the other. */
export function compareCondition(d: Poly, eq: '' | '===' | '!==' = ''): Condition {
  const pos: Poly = new Map();
  const neg: Poly = new Map();
  for (const [k, c] of d) (c > 0 ? pos : neg).set(k, Math.abs(c));
  // d >= 0 ⟺ neg <= pos
  return eq ? { k: 'cmp', l: pos, op: eq, r: neg } : { k: 'cmp', l: neg, op: '<=', r: pos };
}

/** `p >= c` (`p <= c` with `op`) for a parameter `p`. */
export const paramBound = (p: string, op: '<=' | '>=', c: number): Condition => ({
  k: 'cmp',
  l: symPoly(p),
  op,
  r: constPoly(c),
});

/** Every one of `items` (the item itself when there is one). */
export const allOf = (items: Condition[]): Condition => (items.length === 1 ? items[0] : { k: 'and', items });

/** The condition as TypeScript: `2*size + 1 <= n`, `(a) && (b)` parenthesized where needed. */
export function printCondition(c: Condition): string {
  switch (c.k) {
    case 'cmp':
      return `${printPoly(c.l)} ${c.op} ${printPoly(c.r)}`;
    case 'bool':
      return String(c.value);
    case 'and':
    case 'or':
      return c.items
        .map((x) => {
          const s = printCondition(x);
          return x.k === 'and' || x.k === 'or' ? `(${s})` : s;
        })
        .join(c.k === 'and' ? ' && ' : ' || ');
  }
}
