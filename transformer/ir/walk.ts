/** Generic traversals of IR statements. */
import type { Stmt, Expr, LValue, ForLoop, Closure } from './types.js';
import { mapRuntimeOperands, readsOf, walkExpr } from './build.js';

/** Visits every statement, nested ones included (pre-order). */
export function forEachStmt(body: Stmt[], f: (s: Stmt) => void): void {
  for (const s of body) {
    f(s);
    for (const child of childBlocks(s)) forEachStmt(child, f);
  }
}

export function childBlocks(s: Stmt): Stmt[][] {
  switch (s.k) {
    case 'if':
      return [s.then, s.else];
    case 'for':
      return [s.body];
    case 'block':
      return [s.body];
    case 'nestAdjoint':
      return [[s.pass]];
    // the bodies of the callbacks its expression passes to the runtime (a layer's checkpointed loop)
    case 'decl':
      return closuresOf(s.init).map((c) => c.body);
    case 'assign':
      return closuresOf(s.value).map((c) => c.body);
    case 'effect':
      return closuresOf(s.e).map((c) => c.body);
    default:
      return [];
  }
}

/**
 * The callbacks an expression passes to the runtime (checkpointLoop's, in the order it takes them;
 * Array.from's), not those inside their bodies (statements: childBlocks reaches them).
 */
export function closuresOf(e: Expr): Closure[] {
  const out: Closure[] = [];
  walkExpr(e, (x) => {
    if (x.k !== 'runtime') return;
    if (x.call.fn === 'checkpointLoop') {
      const o = x.call.ops;
      out.push(o.save, o.restore, o.forward, o.reverse, o.free);
    }
    if (x.call.fn === 'arrayFrom') out.push(x.call.map);
  });
  return out;
}

/** `e` with each callback's body replaced by `f`'s result. */
export function mapClosures(e: Expr, f: (body: Stmt[]) => Stmt[]): Expr {
  const map = (c: Closure): Closure => ({ ...c, body: f(c.body) });
  return mapExpr(e, (x) => {
    if (x.k !== 'runtime') return undefined;
    if (x.call.fn === 'checkpointLoop') {
      const o = x.call.ops;
      const ops = {
        save: map(o.save),
        restore: map(o.restore),
        forward: map(o.forward),
        reverse: map(o.reverse),
        free: map(o.free),
      };
      return { ...x, call: { ...x.call, ops } };
    }
    if (x.call.fn === 'arrayFrom') return { ...x, call: { ...x.call, map: map(x.call.map) } };
    return undefined;
  });
}

/** Expressions a statement evaluates directly (not those of nested statements). */
export function ownExprs(s: Stmt): Expr[] {
  switch (s.k) {
    case 'decl':
      return [s.init];
    case 'assign':
      return s.target.k === 'index' ? [s.target.index, s.value] : [s.value];
    case 'if':
      return [s.cond];
    case 'for':
      return [s.init, s.bound];
    case 'return':
      return s.value ? [s.value] : [];
    case 'push':
      return [s.value];
    case 'effect':
      return [s.e];
    case 'destructure':
      return [s.value];
    case 'reduce':
      return s.len ? [s.copies, s.len] : [s.copies];
    default:
      return [];
  }
}

/** How many tape pops the expressions of `s` itself make (not those of its nested statements). */
export function popsIn(s: Stmt): number {
  let n = 0;
  for (const e of ownExprs(s))
    walkExpr(e, (x) => {
      if (x.k === 'pop') n++;
    });
  return n;
}

export const targetName = (t: LValue): string => (t.k === 'var' ? t.name : t.array);

/** Names (scalars and arrays) a statement list may write; loop variables and locals declared inside included. */
export function writesOf(body: Stmt[], out: Set<string> = new Set()): Set<string> {
  forEachStmt(body, (s) => {
    if (s.k === 'decl' || s.k === 'declare') out.add(s.name);
    else if (s.k === 'assign') out.add(targetName(s.target));
    else if (s.k === 'for') out.add(s.v);
    else if (s.k === 'reduce') out.add(s.target);
    else if (s.k === 'destructure') for (const n of s.names) out.add(n);
    else if (s.k === 'effect' && s.e.k === 'runtime') {
      // the arrays the layer runtime's calls copy or fill into
      const c = s.e.call;
      if (c.fn === 'set' || c.fn === 'fill' || c.fn === 'accumulate') out.add(c.dst);
    }
  });
  return out;
}

/** Names a statement list may read (array element reads count as reads of the array). */
export function readsOfStmts(body: Stmt[], out: Set<string> = new Set()): Set<string> {
  forEachStmt(body, (s) => {
    for (const e of ownExprs(s)) readsOf(e, out);
    if (s.k === 'assign' && s.op !== '=') out.add(targetName(s.target));
    if (s.k === 'reduce') out.add(s.partial).add(s.target);
  });
  return out;
}

/** Locals declared (and loop variables bound) anywhere in a statement list. */
export function declaredIn(body: Stmt[], out: Set<string> = new Set()): Set<string> {
  forEachStmt(body, (s) => {
    if (s.k === 'decl' || s.k === 'declare') out.add(s.name);
    else if (s.k === 'for') out.add(s.v);
    else if (s.k === 'destructure' && s.decl) for (const n of s.names) out.add(n);
  });
  return out;
}

/** An expression with every node for which `f` returns a replacement replaced (bottom-up, exact: no simplification). */
export function mapExpr(e: Expr, f: (e: Expr) => Expr | undefined): Expr {
  const inner = ((): Expr => {
    switch (e.k) {
      case 'index':
        return { ...e, index: mapExpr(e.index, f) };
      case 'unary':
        return { ...e, e: mapExpr(e.e, f) };
      case 'binary':
        return { ...e, l: mapExpr(e.l, f), r: mapExpr(e.r, f) };
      case 'cond':
        return { ...e, c: mapExpr(e.c, f), t: mapExpr(e.t, f), f: mapExpr(e.f, f) };
      case 'call':
        return { ...e, args: e.args.map((a) => mapExpr(a, f)) };
      case 'tuple':
        return { ...e, items: e.items.map((a) => mapExpr(a, f)) };
      case 'record':
        return { ...e, fields: e.fields.map((x) => ({ ...x, value: mapExpr(x.value, f) })) };
      case 'runtime':
        return { ...e, call: mapRuntimeOperands(e.call, (a) => mapExpr(a, f)) };
      case 'apply':
        return { ...e, args: e.args.map((a) => mapExpr(a, f)) };
      case 'member':
      case 'cast':
        return { ...e, e: mapExpr(e.e, f) };
      default:
        return e;
    }
  })();
  return f(inner) ?? inner;
}

/** Statements with `f` applied to every expression they evaluate (targets' indices included); `g` may replace a loop. */
export function mapStmts(
  body: Stmt[],
  f: (e: Expr, s: Stmt) => Expr,
  g: (loop: Stmt & { k: 'for' }) => Stmt | undefined = () => undefined,
): Stmt[] {
  return body.map((s): Stmt => {
    switch (s.k) {
      case 'decl':
        return { ...s, init: f(s.init, s) };
      case 'assign':
        return {
          ...s,
          target: s.target.k === 'index' ? { ...s.target, index: f(s.target.index, s) } : s.target,
          value: f(s.value, s),
        };
      case 'if':
        return { ...s, cond: f(s.cond, s), then: mapStmts(s.then, f, g), else: mapStmts(s.else, f, g) };
      case 'for':
        return g(s) ?? { ...s, init: f(s.init, s), bound: f(s.bound, s), body: mapStmts(s.body, f, g) };
      case 'return':
        return s.value ? { ...s, value: f(s.value, s) } : s;
      case 'block':
        return { ...s, body: mapStmts(s.body, f, g) };
      case 'effect':
        return { ...s, e: f(s.e, s) };
      case 'destructure':
        return { ...s, value: f(s.value, s) };
      default:
        return s;
    }
  });
}

/**
 * `s` with each statement list it holds (branches, loop and block bodies, callbacks) replaced by `f`'s
 * result; `s` itself when it holds none. The recursion step of every statement rewriter: a pass
 * handles the kinds it changes and leaves the rest to this.
 */
export function mapBlocks(s: Stmt, f: (body: Stmt[]) => Stmt[]): Stmt {
  switch (s.k) {
    case 'if':
      return { ...s, then: f(s.then), else: f(s.else) };
    case 'for':
    case 'block':
      return { ...s, body: f(s.body) };
    case 'decl':
      return closuresOf(s.init).length ? { ...s, init: mapClosures(s.init, f) } : s;
    case 'assign':
      return closuresOf(s.value).length ? { ...s, value: mapClosures(s.value, f) } : s;
    case 'effect':
      return closuresOf(s.e).length ? { ...s, e: mapClosures(s.e, f) } : s;
    default:
      return s;
  }
}

/** Statements with every assignment (at any depth of branches, loops and blocks) replaced by `f`'s result. */
export function mapAssigns(body: Stmt[], f: (s: Stmt & { k: 'assign' }) => Stmt): Stmt[] {
  return body.map((s): Stmt => (s.k === 'assign' ? f(s) : mapBlocks(s, (b) => mapAssigns(b, f))));
}

/**
 * `body` with each outermost parallel loop (inside branches, blocks and sequential loops) replaced
 * by `f`'s statements.
 */
export function mapParallelLoops(body: Stmt[], f: (loop: ForLoop) => Stmt[]): Stmt[] {
  return body.flatMap((s) => (s.k === 'for' && s.parallel ? f(s) : [mapBlocks(s, (b) => mapParallelLoops(b, f))]));
}

/**
 * Fresh names for a rewrite of `body`: `base` when free, else `base<i>` from `i = first` up, never a
 * name `body` reads, writes or declares, nor one given before.
 */
export function freshNames(body: Stmt[], first = 0): (base: string) => string {
  const used = new Set<string>([...readsOfStmts(body), ...declaredIn(body), ...writesOf(body)]);
  return (base) => {
    let name = base;
    for (let i = first; used.has(name); i++) name = `${base}${i}`;
    used.add(name);
    return name;
  };
}
