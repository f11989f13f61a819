/**
 * JavaScript lowering: a generated function too big for V8's optimizing compiler is split into
 * module-local functions of a size it optimizes.
 *
 * V8 leaves a function whose bytecode exceeds 60 KB to its interpreter and baseline compiler
 * (`--max-optimized-bytecode-size`): a kernel of 1,000 statements runs optimized, its adjoint
 * (recompute, save, reverse: ~9 statements per statement) did not, and ran 35× slower than the
 * primal. Here every statement list inside a loop whose estimated bytecode is over `chunk` is cut
 * into runs of consecutive statements, each moved to a function of its own (`_K_b_1(…)`), called in
 * order. A run's free names become its arguments: arrays, the tape and values the list never
 * assigns are passed as they are; numbers the list assigns, and the list's own locals that a later
 * run reads, go through a state array (`_st`, from the runtime's scratch pool): a run loads those it
 * uses at its start and stores those it assigns at its end, and the list stores the enclosing
 * scope's into it before the first run and loads them back after the last. Lists holding code whose
 * names the IR cannot see (verbatim text) or values that are neither numbers nor known objects stay
 * as they are. Only functions over `limit` are touched: the code of ordinary kernels is unchanged.
 */
import type { FunctionIR } from '../differentiate/function.js';
import type { Expr, Stmt } from '../ir/types.js';
import { num, runtimeNames, v, walkExpr } from '../ir/build.js';
import { childBlocks, ownExprs, targetName } from '../ir/walk.js';
import { outlinedName, stateArray } from '../naming.js';

export interface OutlineOptions {
  /** a function whose estimated bytecode (bytes) is at most this stays whole */
  limit: number;
  /** the estimated bytecode (bytes) of one outlined run, at most (a single bigger statement excepted) */
  chunk: number;
}

/** V8 optimizes functions up to 60 KB of bytecode; a margin for the estimate's error. */
export const OUTLINE_DEFAULTS: OutlineOptions = { limit: 36_000, chunk: 6_000 };

/** Estimated bytecode bytes per IR node (measured: V8 12, the adjoint of a 1,000-statement chain). */
const BYTES_PER_NODE = 4;

const exprNodes = (e: Expr): number => {
  let n = 0;
  walkExpr(e, (x) => {
    n += 1;
  });
  return n;
};

/** Estimated bytecode size of statements, in bytes. */
export function estimateSize(body: Stmt[]): number {
  let n = 0;
  for (const s of body) {
    n += 2;
    for (const e of ownExprs(s)) n += exprNodes(e);
    if (s.k === 'assign' && s.target.k === 'index') n += 2;
    for (const child of childBlocks(s)) n += estimateSize(child) / BYTES_PER_NODE;
  }
  return n * BYTES_PER_NODE;
}

/** What the IR says about a name: a number, a boolean, an object of a known type, or unknown. */
type Kind = { k: 'number' } | { k: 'boolean' } | { k: 'object'; type: string } | { k: 'unknown' };

const COMPARISONS = new Set(['<', '<=', '>', '>=', '===', '!==', '==', '!=', '&&', '||']);

function kindOfExpr(e: Expr, kinds: Map<string, Kind>): Kind {
  switch (e.k) {
    case 'runtime':
      switch (e.call.fn) {
        case 'Tape':
          return { k: 'object', type: 'Tape' };
        case 'array':
          return { k: 'object', type: e.call.type };
        case 'scratch':
          return { k: 'object', type: 'Float64Array' };
        case 'report':
          return { k: 'number' };
        default:
          return { k: 'unknown' };
      }
    case 'str':
    case 'apply':
    case 'member':
    case 'cast':
      return { k: 'unknown' };
    case 'binary':
      return COMPARISONS.has(e.op) ? { k: 'boolean' } : { k: 'number' };
    case 'unary':
      return e.op === '!' ? { k: 'boolean' } : { k: 'number' };
    case 'cond': {
      const [t, f] = [kindOfExpr(e.t, kinds), kindOfExpr(e.f, kinds)];
      return t.k === f.k && t.k !== 'object' ? t : { k: 'unknown' };
    }
    case 'var':
      return kinds.get(e.name) ?? { k: 'unknown' };
    case 'tuple':
      return { k: 'unknown' };
    default:
      return { k: 'number' };
  }
}

/** Every name's kind in `fn` (params, declarations, loop variables); a name declared with two kinds is unknown. */
function kindsOf(fn: FunctionIR): Map<string, Kind> {
  const kinds = new Map<string, Kind>();
  const set = (name: string, kind: Kind) => {
    const old = kinds.get(name);
    const same = old && old.k === kind.k && (old.k !== 'object' || (kind.k === 'object' && old.type === kind.type));
    kinds.set(name, !old || same ? kind : { k: 'unknown' });
  };
  for (const p of fn.params) {
    const number = /^(f32|f64|i32|u32|number)$/.test(p.type);
    // arrays, the tape, a replay's reader (a function type): objects of their declared type
    set(p.name, number ? { k: 'number' } : p.type === 'boolean' ? { k: 'boolean' } : { k: 'object', type: p.type });
  }
  const visit = (body: Stmt[]) => {
    for (const s of body) {
      if (s.k === 'decl') set(s.name, kindOfExpr(s.init, kinds));
      else if (s.k === 'for') set(s.v, { k: 'number' });
      else if (s.k === 'saveArray') {
        const of = kinds.get(s.array);
        set(s.name, of?.k === 'object' ? of : { k: 'unknown' });
      }
      for (const child of childBlocks(s)) visit(child);
    }
  };
  visit(fn.body);
  return kinds;
}

/** Names a statement list references (reads or writes), declares at its top level, assigns, and whether it can move. */
interface Uses {
  refs: Set<string>;
  /** declared anywhere inside (loop variables included) */
  declared: Set<string>;
  /** declared at the list's own level (visible to the statements after it) */
  top: Set<string>;
  /** assigned (not declared) anywhere inside */
  assigned: Set<string>;
  /** holds something that cannot move to another function (verbatim code, a return) */
  fixed: boolean;
}

function usesOf(body: Stmt[]): Uses {
  const u: Uses = { refs: new Set(), declared: new Set(), top: new Set(), assigned: new Set(), fixed: false };
  const expr = (e: Expr) =>
    walkExpr(e, (x) => {
      if (x.k === 'var') u.refs.add(x.name);
      else if (x.k === 'index' || x.k === 'length') u.refs.add(x.array);
      else if (x.k === 'pop') u.refs.add(x.tape);
      // the names a runtime call refers to (a replay's reader, a GPU host's context, a save stack, …)
      else if (x.k === 'runtime') for (const n of runtimeNames(x.call)) u.refs.add(n);
      // calls of other functions and callbacks (layer code) stay where they are
      if (x.k === 'apply' || x.k === 'member') u.fixed = true;
      if (x.k === 'runtime' && (x.call.fn === 'checkpointLoop' || x.call.fn === 'arrayFrom')) u.fixed = true;
    });
  const visit = (list: Stmt[], top: boolean) => {
    for (const s of list) {
      for (const e of ownExprs(s)) expr(e);
      switch (s.k) {
        case 'decl':
          u.declared.add(s.name);
          if (top) u.top.add(s.name);
          break;
        case 'for':
          u.declared.add(s.v);
          break;
        case 'assign':
          u.refs.add(targetName(s.target));
          if (s.target.k === 'var') u.assigned.add(s.target.name);
          break;
        case 'push':
          u.refs.add(s.tape);
          break;
        case 'pushArray':
        case 'popArray':
          u.refs.add(s.tape).add(s.array);
          break;
        case 'saveArray':
          u.refs.add(s.array);
          u.declared.add(s.name);
          if (top) u.top.add(s.name);
          break;
        case 'restoreArray':
          u.refs.add(s.array).add(s.name);
          break;
        case 'invoke':
          for (const a of s.args) u.refs.add(a);
          break;
        case 'return':
        case 'declare':
        case 'destructure':
        case 'reduce':
        case 'nestAdjoint':
          u.fixed = true;
          break;
        default:
          break;
      }
      for (const child of childBlocks(s)) visit(child, false);
    }
  };
  visit(body, true);
  return u;
}

/**
 * `fn` with its big loop bodies outlined, preceded by the functions holding them (module-local);
 * `[fn]` itself when it is small enough or nothing in it can move. `scratch` is the name the module
 * imports the runtime's scratch pool as; `runtime`, the imports the result needs.
 */
export function outlineFunction(
  fn: FunctionIR,
  scratch: string,
  opts: OutlineOptions = OUTLINE_DEFAULTS,
): { functions: FunctionIR[]; runtime: string[] } {
  if (estimateSize(fn.body) <= opts.limit) return { functions: [fn], runtime: [] };
  const kinds = kindsOf(fn);
  const taken = new Set(kinds.keys());
  const st = stateArray(taken);
  kinds.set(st, { k: 'object', type: 'Float64Array' });
  const slots = new Map<string, number>();
  const slot = (name: string) => {
    let n = slots.get(name);
    if (n === undefined) slots.set(name, (n = slots.size));
    return n;
  };
  const parts: FunctionIR[] = [];
  const at = (name: string): Expr => ({ k: 'index', array: st, index: num(slot(name)) });
  const load = (name: string): Stmt => ({ k: 'decl', name, mutable: true, init: at(name) });
  const store = (name: string): Stmt => ({
    k: 'assign',
    target: { k: 'index', array: st, index: num(slot(name)) },
    op: '=',
    value: v(name),
  });
  const reload = (name: string): Stmt => ({ k: 'assign', target: { k: 'var', name }, op: '=', value: at(name) });

  /** The list with big statements' blocks split (depth-first), then cut into runs if it is itself big. */
  const visit = (list: Stmt[], inLoop: boolean): Stmt[] => {
    const inner = list.map((s) => {
      if (estimateSize([s]) <= opts.chunk) return s;
      switch (s.k) {
        case 'for':
          return { ...s, body: visit(s.body, true) };
        case 'if':
          return { ...s, then: visit(s.then, inLoop), else: visit(s.else, inLoop) };
        case 'block':
          return { ...s, body: visit(s.body, inLoop) };
        default:
          return s;
      }
    });
    if (!inLoop || estimateSize(inner) <= opts.chunk) return inner;
    return split(inner) ?? inner;
  };

  /** The runs of `list` as calls, or undefined when a name of it cannot be passed. */
  const split = (list: Stmt[]): Stmt[] | undefined => {
    const runs: Stmt[][] = [];
    let size = 0;
    for (const s of list) {
      const n = estimateSize([s]);
      if (!runs.length || size + n > opts.chunk) {
        runs.push([]);
        size = 0;
      }
      runs[runs.length - 1].push(s);
      size += n;
    }
    if (runs.length < 2) return undefined;
    const uses = runs.map(usesOf);
    if (uses.some((u) => u.fixed)) return undefined;
    const whole = usesOf(list);
    const free = uses.map((u) => [...u.refs].filter((n) => !u.declared.has(n)));
    // the list's own locals a later run uses, and the enclosing scope's numbers the list assigns
    const state = new Set<string>();
    const outer = new Set<string>();
    const lastFree = new Map<string, number>();
    free.forEach((f, r) => {
      for (const n of f) lastFree.set(n, r);
    });
    uses.forEach((u, r) => {
      for (const n of u.top) if ((lastFree.get(n) ?? -1) > r) state.add(n);
    });
    for (const n of whole.assigned) {
      if (whole.top.has(n) || !lastFree.has(n)) continue;
      state.add(n);
      outer.add(n);
    }
    for (const n of state) {
      const kind = kinds.get(n);
      if (kind?.k !== 'number') return undefined;
    }
    const calls: Stmt[] = [];
    for (const [r, run] of runs.entries()) {
      const args: string[] = [];
      const params: FunctionIR['params'] = [];
      for (const n of free[r]) {
        if (state.has(n) || n === st) continue;
        const kind = kinds.get(n);
        if (!kind || kind.k === 'unknown') return undefined;
        if (kind.k === 'object' && whole.assigned.has(n)) return undefined;
        args.push(n);
        params.push({ name: n, type: kind.k === 'object' ? kind.type : kind.k });
      }
      const used = free[r].filter((n) => state.has(n));
      const stored = [...uses[r].top, ...used].filter(
        (n) => state.has(n) && (uses[r].top.has(n) || uses[r].assigned.has(n)),
      );
      if (used.length || stored.length || free[r].includes(st)) {
        args.push(st);
        params.push({ name: st, type: 'Float64Array' });
      }
      const name = outlinedName(fn.name, parts.length + 1);
      parts.push({
        name,
        params,
        returnType: 'void',
        comment: [`Part ${parts.length + 1} of ${fn.name}, outlined (V8 optimizes functions up to 60 KB of bytecode).`],
        body: [...used.map(load), ...run, ...stored.map(store)],
        exported: false,
      });
      calls.push({ k: 'invoke', fn: name, args });
    }
    return [...[...outer].map(store), ...calls, ...[...outer].map(reload)];
  };

  const body = visit(fn.body, false);
  if (!parts.length) return { functions: [fn], runtime: [] };
  if (!slots.size) return { functions: [...parts, { ...fn, body }], runtime: [] };
  // the state array from the runtime's scratch pool (owned by the first part): no allocation per call
  const init: Expr = {
    k: 'runtime',
    call: { fn: 'scratch', as: scratch, owner: parts[0].name, slot: 0, length: num(slots.size) },
  };
  const decl: Stmt = { k: 'decl', name: st, mutable: false, init };
  return {
    functions: [...parts, { ...fn, body: [decl, ...body] }],
    runtime: [scratch === 'scratch' ? scratch : `scratch as ${scratch}`],
  };
}
