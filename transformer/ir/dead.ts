/**
 * Dead code of generated functions: assignments to locals whose value nothing reads afterwards
 * (backward liveness over the structured IR, loops to a fixed point), then loops, branches and
 * blocks left without statements, then declarations of locals nothing mentions any more; repeated
 * until nothing changes. A transposed convolution's adjoint recomputed `t = o - k` in a loop of its
 * own before the reversed loop that recomputes it again; that loop goes.
 *
 * Only locals the function declares are touched; arrays, parameters, the tape and effects stay,
 * and so does every statement whose expressions have effects (`tape.pop()`) or are opaque (raw
 * text: its identifiers count as reads). A function passing callbacks to the runtime (a layer's
 * checkpointed loop) is left alone: they run when the runtime calls them, not in statement order.
 */
import type { Expr, Stmt } from './types.js';
import { readsOf, walkExpr } from './build.js';
import { childBlocks, closuresOf, forEachStmt, mapBlocks, ownExprs, targetName } from './walk.js';

/** Names an expression reads. */
const reads = (e: Expr, out: Set<string>): Set<string> => readsOf(e, out);

function pure(e: Expr): boolean {
  let ok = true;
  walkExpr(e, (x) => {
    if (x.k === 'pop' || x.k === 'runtime') ok = false;
  });
  return ok;
}

/** Names a statement reads itself (not its nested statements). */
function ownReads(s: Stmt): Set<string> {
  const out = new Set<string>();
  for (const e of ownExprs(s)) reads(e, out);
  if (s.k === 'assign' && s.op !== '=') out.add(targetName(s.target));
  if (s.k === 'reduce') out.add(s.partial).add(s.target);
  if (s.k === 'push' || s.k === 'pushArray' || s.k === 'popArray' || s.k === 'saveArray' || s.k === 'restoreArray') {
    if ('array' in s) out.add(s.array);
    if ('name' in s) out.add(s.name);
  }
  if (s.k === 'for' && s.gridStride) out.add(s.gridStride);
  return out;
}

const union = (a: Set<string>, b: Iterable<string>): Set<string> => {
  const out = new Set(a);
  for (const x of b) out.add(x);
  return out;
};

/** `body` without its dead stores of the locals `locals`. */
export function removeDeadCode(body: Stmt[]): Stmt[] {
  let opaque = false;
  const locals = new Set<string>();
  forEachStmt(body, (s) => {
    if (ownExprs(s).some((e) => closuresOf(e).length)) opaque = true;
    if (s.k === 'decl') locals.add(s.name);
  });
  if (opaque || !locals.size) return body;
  for (let round = 0; round < 8; round++) {
    const swept = sweep(body, new Set(), locals);
    const next = dropDecls(swept.body);
    if (!swept.changed && next === swept.body) return body;
    body = next;
  }
  return body;
}

/** Names live before `body` given those live after it. */
function liveIn(body: Stmt[], out: Set<string>, locals: Set<string>): Set<string> {
  return sweep(body, out, locals, false).live;
}

/**
 * Backward over `body` with the names live after it: the statements kept (when `rebuild`), and
 * the names live before it.
 */
function sweep(
  body: Stmt[],
  out: Set<string>,
  locals: Set<string>,
  rebuild = true,
): { body: Stmt[]; live: Set<string>; changed: boolean } {
  let live = new Set(out);
  const kept: Stmt[] = [];
  let changed = false;
  // names a nested scope declares do not kill the outer ones of the same name
  const nested = (inner: Stmt[], after: Set<string>): { body: Stmt[]; live: Set<string>; changed: boolean } => {
    const r = rebuild
      ? sweep(inner, after, locals)
      : { body: inner, live: liveIn(inner, after, locals), changed: false };
    const declared = inner.flatMap((s) => (s.k === 'decl' ? [s.name] : []));
    for (const d of declared) if (after.has(d)) r.live.add(d);
    return r;
  };
  for (let i = body.length - 1; i >= 0; i--) {
    const s = body[i];
    if ((s.k === 'assign' && s.target.k === 'var') || s.k === 'decl') {
      const t = s.k === 'decl' ? s.name : targetName(s.target);
      const value = s.k === 'decl' ? s.init : s.value;
      if (s.k === 'assign' && locals.has(t) && !live.has(t) && pure(value)) {
        changed = true;
        continue;
      }
      if (s.k === 'decl' || s.op === '=') live.delete(t);
      for (const x of ownReads(s)) live.add(x); // in place: `live` is this sweep's own set
      kept.push(s);
      continue;
    }
    if (s.k === 'if') {
      const a = nested(s.then, live);
      const b = nested(s.else, live);
      changed ||= a.changed || b.changed;
      if (!a.body.length && !b.body.length && pure(s.cond)) {
        changed = true;
        continue;
      }
      live = union(union(a.live, b.live), ownReads(s));
      kept.push(rebuild ? { ...s, then: a.body, else: b.body } : s);
      continue;
    }
    if (s.k === 'for') {
      // the body's live-out: after the loop, or before the next iteration (a fixed point); the
      // sweep that confirms it is the one kept (a sweep per round, not one more after them: nests
      // of depth d cost 2^d sweeps of their innermost body, not 3^d)
      let end = new Set(live);
      let r = nested(s.body, end);
      for (;;) {
        r.live.delete(s.v);
        const next = union(end, r.live);
        if (next.size === end.size) break;
        end = next;
        r = nested(s.body, end);
      }
      changed ||= r.changed;
      if (!r.body.length && pure(s.init) && pure(s.bound)) {
        changed = true;
        continue;
      }
      live = union(union(live, r.live), ownReads(s));
      kept.push(rebuild ? { ...s, body: r.body } : s);
      continue;
    }
    if (s.k === 'block') {
      const r = nested(s.body, live);
      changed ||= r.changed;
      if (!r.body.length) {
        changed = true;
        continue;
      }
      live = r.live;
      kept.push(rebuild ? { ...s, body: r.body } : s);
      continue;
    }
    if (s.k === 'nestAdjoint') {
      const r = nested([s.pass], live);
      live = union(r.live, []);
      changed ||= r.changed;
      kept.push(rebuild && r.body[0]?.k === 'for' ? { ...s, pass: r.body[0] } : s);
      continue;
    }
    // anything else (array updates, tape traffic, returns, reductions): kept, reads its names
    for (const c of childBlocks(s)) for (const x of liveIn(c, live, locals)) live.add(x);
    for (const x of ownReads(s)) live.add(x);
    kept.push(s);
  }
  return { body: kept.reverse(), live, changed };
}

/** Declarations of locals that nothing else mentions (read or assigned), when their value is pure. */
function dropDecls(body: Stmt[]): Stmt[] {
  const mentioned = new Map<string, number>();
  const mention = (n: string) => mentioned.set(n, (mentioned.get(n) ?? 0) + 1);
  forEachStmt(body, (s) => {
    for (const n of ownReads(s)) mention(n);
    if (s.k === 'assign') mention(targetName(s.target));
  });
  let dropped = false;
  const drop = (block: Stmt[]): Stmt[] =>
    block.flatMap((s): Stmt[] => {
      if (s.k === 'decl' && !mentioned.has(s.name) && pure(s.init)) {
        dropped = true;
        return [];
      }
      return [mapBlocks(s, drop)];
    });
  const next = drop(body);
  return dropped ? next : body;
}
