/**
 * The integer model of a parallel loop nest for the exclusive-read analysis: the iteration space
 * (the outermost `@parallel` loop and the `@parallel` loops nested directly in it), and every
 * array element (or float scalar) an iteration reads or writes, with the sequential inner loops and
 * affine guards around it, as polynomials over loop variables and integer parameters.
 */
import type { Expr, ForLoop, Kernel, Stmt } from '../../ir/types.js';
import { parallelNest } from '../tape.js';
import { forEachStmt, declaredIn } from '../../ir/walk.js';
import { printExpr } from '../../ir/print.js';
import type { Activity } from '../activity.js';
import { type Poly, type Defs, polyOf as polyOfWith, symPoly, addPoly, constPoly } from './poly.js';

/** A loop variable's range: v = lo ± step·k, k ≥ 0, v below/above the bound. */
export interface Range {
  v: string;
  lo: Poly;
  bound: Poly;
  cmp: '<' | '<=' | '>' | '>=';
  step: number;
}

/** `p >= 0` or `p == 0` (or, for `!=`, `p != 0`). */
export interface Constraint {
  rel: '>=' | '==' | '!=';
  p: Poly;
}

export interface Site {
  /** array (or float scalar) name */
  name: string;
  kind: 'read' | 'write';
  /** polynomial index; undefined when the index has no polynomial form */
  index?: Poly;
  /** the index as written (for reasons) */
  text: string;
  /** enclosing sequential loops inside the nest, outermost first */
  inner: Range[];
  /** affine branch conditions that hold where the access happens */
  guards: Constraint[];
  /** false when a non-affine condition guards the access (its occurrence is then uncertain) */
  certain: boolean;
  line: number;
}

export interface NestModel {
  loop: ForLoop;
  loops: Range[];
  sites: Site[];
  /** Names that are symbols but not loop variables: integer parameters, lengths, outer loop variables. */
  params: Set<string>;
  /** Ranges of enclosing sequential loops outside the nest (their variables are parameters here). */
  outer: Range[];
  /** Names of active float scalars and active arrays. */
  active: Set<string>;
  /** Float arrays and scalars (for reporting which reads matter to the adjoint). */
  arrays: Set<string>;
  /** definitions of the quasi-affine symbols (`$q0` = ⌊…/…⌋, min, max) the polynomials use */
  defs: Defs;
}

type Scope = Map<string, Poly | null>;

/** Finds the parallel nests of a kernel and models each one. */
export function modelNests(k: Kernel, activity: Activity): NestModel[] {
  const models: NestModel[] = [];
  const defs: Defs = {};
  const polyOf = (e: Expr, lookup: (n: string) => Poly | undefined) => polyOfWith(e, lookup, defs);
  const intParams = new Set(k.params.filter((p) => p.kind === 'scalar' && !p.float).map((p) => p.name));
  const arrays = new Set(k.params.filter((p) => p.kind === 'array').map((p) => p.name));
  const floatScalars = new Set(k.params.filter((p) => p.kind === 'scalar' && p.float).map((p) => p.name));
  const assigned = new Set<string>();
  forEachStmt(k.body, (s) => {
    if (s.k === 'assign' && s.target.k === 'var') assigned.add(s.target.name);
  });
  const floatLocals = new Set<string>();
  forEachStmt(k.body, (s) => {
    if (s.k === 'decl' && activity.isActive(s.name)) floatLocals.add(s.name);
  });

  const lookupIn =
    (scopes: Scope[], params: Set<string>) =>
    (name: string): Poly | undefined => {
      for (let i = scopes.length - 1; i >= 0; i--) {
        if (scopes[i].has(name)) return scopes[i].get(name) ?? undefined;
      }
      if (intParams.has(name) || params.has(name)) return symPoly(name);
      return undefined;
    };

  const rangeOf = (s: ForLoop, lookup: (n: string) => Poly | undefined): Range | undefined => {
    const lo = polyOf(s.init, lookup);
    const bound = polyOf(s.bound, lookup);
    return lo && bound ? { v: s.v, lo, bound, cmp: s.cmp, step: s.step } : undefined;
  };

  /** Walks statements outside any nest, keeping local definitions and enclosing loops. */
  const outside = (body: Stmt[], scopes: Scope[], outer: Range[], outerParams: Set<string>): void => {
    const scope: Scope = new Map();
    scopes = [...scopes, scope];
    for (const s of body) {
      if (s.k === 'decl') {
        const p = !assigned.has(s.name) ? polyOf(s.init, lookupIn(scopes, outerParams)) : undefined;
        scope.set(s.name, p ?? null);
      } else if (s.k === 'if') {
        outside(s.then, scopes, outer, outerParams);
        outside(s.else, scopes, outer, outerParams);
      } else if (s.k === 'for' && s.parallel) {
        models.push(modelNest(s, scopes, outer, outerParams));
      } else if (s.k === 'for') {
        const r = rangeOf(s, lookupIn(scopes, outerParams));
        const params = new Set([...outerParams, s.v]);
        outside(s.body, scopes, r ? [...outer, r] : outer, params);
      }
    }
  };

  const modelNest = (loop: ForLoop, scopes: Scope[], outer: Range[], outerParams: Set<string>): NestModel => {
    const nest = parallelNest(loop);
    const params = new Set(outerParams);
    const nestScope: Scope = new Map();
    const inScopes = [...scopes, nestScope];
    const loops: Range[] = [];
    for (const l of nest) {
      const r = rangeOf(l, lookupIn(inScopes, params));
      nestScope.set(l.v, symPoly(l.v));
      // a nest bound without polynomial form: model the variable as unbounded
      loops.push(r ?? { v: l.v, lo: constPoly(0), bound: constPoly(0), cmp: '<', step: 0 });
    }
    const sites: Site[] = [];
    const addSite = (
      name: string,
      kind: Site['kind'],
      index: Expr | undefined,
      text: string,
      inner: Range[],
      guards: Constraint[],
      certain: boolean,
      line: number,
      lookup: (n: string) => Poly | undefined,
    ) => {
      sites.push({
        name,
        kind,
        index: index ? polyOf(index, lookup) : constPoly(0),
        text,
        inner,
        guards,
        certain,
        line,
      });
    };
    const exprSites = (
      e: Expr,
      inner: Range[],
      guards: Constraint[],
      certain: boolean,
      line: number,
      lookup: (n: string) => Poly | undefined,
    ) => {
      const visit = (x: Expr): void => {
        switch (x.k) {
          case 'index':
            addSite(x.array, 'read', x.index, printIndex(x), inner, guards, certain, line, lookup);
            visit(x.index);
            break;
          case 'var':
            if (floatScalars.has(x.name) || (floatLocals.has(x.name) && !nestDeclared.has(x.name)))
              addSite(x.name, 'read', undefined, x.name, inner, guards, certain, line, lookup);
            break;
          case 'unary':
            visit(x.e);
            break;
          case 'binary':
            visit(x.l);
            visit(x.r);
            break;
          case 'cond':
            visit(x.c);
            visit(x.t);
            visit(x.f);
            break;
          case 'call':
            x.args.forEach(visit);
            break;
          default:
            break;
        }
      };
      visit(e);
    };
    const nestDeclared = declaredIn(nest[nest.length - 1].body);

    const body = (stmts: Stmt[], sc: Scope[], inner: Range[], guards: Constraint[], certain: boolean): void => {
      const scope: Scope = new Map();
      const scs = [...sc, scope];
      const lookup = lookupIn(scs, params);
      for (const s of stmts) {
        const line = 'loc' in s && s.loc ? s.loc.line : (loop.loc?.line ?? 0);
        switch (s.k) {
          case 'decl':
            exprSites(s.init, inner, guards, certain, line, lookup);
            scope.set(s.name, !assigned.has(s.name) ? (polyOf(s.init, lookup) ?? null) : null);
            break;
          case 'assign':
            exprSites(s.value, inner, guards, certain, line, lookup);
            if (s.target.k === 'index') {
              exprSites(s.target.index, inner, guards, certain, line, lookup);
              const t = { k: 'index' as const, array: s.target.array, index: s.target.index };
              addSite(s.target.array, 'write', s.target.index, printIndex(t), inner, guards, certain, line, lookup);
              if (s.op !== '=')
                addSite(s.target.array, 'read', s.target.index, printIndex(t), inner, guards, certain, line, lookup);
            } else if (
              s.op !== '=' &&
              (floatScalars.has(s.target.name) || floatLocals.has(s.target.name)) &&
              !nestDeclared.has(s.target.name)
            ) {
              addSite(s.target.name, 'read', undefined, s.target.name, inner, guards, certain, line, lookup);
            }
            break;
          case 'if': {
            exprSites(s.cond, inner, guards, certain, line, lookup);
            const c = guardOf(s.cond, lookup, defs);
            const neg = guardOf({ k: 'unary', op: '!', e: s.cond }, lookup, defs);
            body(s.then, scs, inner, c ? [...guards, ...c] : guards, certain && !!c);
            body(s.else, scs, inner, neg ? [...guards, ...neg] : guards, certain && !!neg);
            break;
          }
          case 'for': {
            exprSites(s.init, inner, guards, certain, line, lookup);
            exprSites(s.bound, inner, guards, certain, line, lookup);
            const r = rangeOf(s, lookup);
            scope.set(s.v, symPoly(s.v));
            // an inner loop without polynomial bounds: its variable ranges freely (sound for `yes`)
            body(
              s.body,
              scs,
              [...inner, r ?? { v: s.v, lo: constPoly(0), bound: constPoly(0), cmp: '<', step: 0 }],
              guards,
              certain && !!r,
            );
            scope.delete(s.v);
            break;
          }
          case 'return':
            if (s.value) exprSites(s.value, inner, guards, certain, line, lookup);
            break;
          default:
            break;
        }
      }
    };
    body(nest[nest.length - 1].body, inScopes, [], [], true);
    const active = new Set(
      [...activity.active].filter((n) => arrays.has(n) || floatScalars.has(n) || floatLocals.has(n)),
    );
    return {
      loop,
      loops,
      sites,
      params: new Set([...params, ...intParams]),
      outer,
      active,
      arrays: new Set([...arrays, ...floatScalars, ...floatLocals]),
      defs,
    };
  };

  outside(k.body, [], [], new Set());
  return models;
}

const printIndex = (e: Expr & { k: 'index' }): string => printExpr(e);

/** Affine guard of a branch: a conjunction of comparisons, or undefined. */
function guardOf(c: Expr, lookup: (n: string) => Poly | undefined, defs: Defs): Constraint[] | undefined {
  if (c.k === 'unary' && c.op === '!') {
    const x = c.e;
    if (x.k === 'binary' && ['<', '<=', '>', '>=', '===', '==', '!==', '!='].includes(x.op)) {
      const flip: Record<string, string> = {
        '<': '>=',
        '<=': '>',
        '>': '<=',
        '>=': '<',
        '===': '!==',
        '==': '!=',
        '!==': '===',
        '!=': '==',
      };
      return guardOf({ ...x, op: flip[x.op] as typeof x.op }, lookup, defs);
    }
    if (x.k === 'binary' && x.op === '||') {
      const a = guardOf({ k: 'unary', op: '!', e: x.l }, lookup, defs);
      const b = guardOf({ k: 'unary', op: '!', e: x.r }, lookup, defs);
      return a && b ? [...a, ...b] : undefined;
    }
    return undefined;
  }
  if (c.k !== 'binary') return undefined;
  if (c.op === '&&') {
    const a = guardOf(c.l, lookup, defs);
    const b = guardOf(c.r, lookup, defs);
    return a && b ? [...a, ...b] : undefined;
  }
  const l = polyOfWith(c.l, lookup, defs);
  const r = polyOfWith(c.r, lookup, defs);
  if (!l || !r) return undefined;
  const d = addPoly(l, r, -1); // l - r
  switch (c.op) {
    case '<':
      return [{ rel: '>=', p: addPoly(addPoly(r, l, -1), constPoly(-1)) }];
    case '<=':
      return [{ rel: '>=', p: addPoly(r, l, -1) }];
    case '>':
      return [{ rel: '>=', p: addPoly(d, constPoly(-1)) }];
    case '>=':
      return [{ rel: '>=', p: d }];
    case '===':
    case '==':
      return [{ rel: '==', p: d }];
    case '!==':
    case '!=':
      return [{ rel: '!=', p: d }];
    default:
      return undefined;
  }
}
