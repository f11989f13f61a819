/**
 * `K_d` (and, extremumRecords below, `K_b`) of a max/min reduction of a parallel loop on the GPU
 * (ir/reduction.ts). In JavaScript the tangent `sd` follows the running extremum `s` iteration by
 * iteration; on the GPU the iterations run at once, so the tangent is the tangent of the winning
 * contribution, found in three passes over the loop:
 *
 *   1. the loop without the tangent's update: `s` reduced (a workgroup tree and a CAS max/min);
 *   2. the winning iteration: the earliest (`Math.max(s, e)`: the running value is kept on ties, the
 *      initial one first) or the latest (`Math.max(e, s)`: the contribution wins ties) iteration
 *      whose contribution equals `s`, a min/max reduction of its index (a float: exact below 2²⁴);
 *   3. the winner's tangent: a sum over the iterations of `i == winner ? ėᵢ : 0`;
 *
 * then `sd` is that sum, or stays its initial value when no iteration won. Passes 2 and 3 recompute
 * the body's locals (not its array updates). Where these read an array the body writes, they (and
 * the updates) must read it before the body's first array write: then pass 1 reduces `s` alone,
 * and the body's other work runs after pass 3, so that every pass reads the values from before
 * the writes, as the loop does (readsBeforeWrites).
 */
import type { Expr, ForLoop, Stmt } from '../../ir/types.js';
import { bin, cond, num, readsOf, substitute, v } from '../../ir/build.js';
import { forEachStmt, freshNames, mapExpr, mapParallelLoops, mapStmts, ownExprs, readsOfStmts } from '../../ir/walk.js';
import { reductionUpdate } from '../../ir/reduction.js';
import type { Rewrite } from './unsupported.js';

/** The largest finite f32 (WGSL has no infinity): no iteration number, and a contribution that always loses. */
const BIG = 3.4028234663852886e38;

/**
 * The tangent body with each parallel loop reducing `s` by max/min (`extrema`: the reduced names)
 * split as described above; `d` names the tangent of a scalar.
 */
export function extremumTangents(body: Stmt[], extrema: Set<string>, d: (name: string) => string): Rewrite {
  const fresh = freshNames(body);
  // why the GPU cannot have a loop's tangent (the first reason found); the loop is left as it is
  let why: string | undefined;
  const refuse = (reason: string, loop: ForLoop): Stmt[] => {
    why ??= reason;
    return [loop];
  };
  const split = (loop: ForLoop): Stmt[] => {
    const found = extremumUpdates(loop, extrema);
    if (found.length > 1)
      return refuse(
        `the tangents of the Math.max/min reductions of ${found.map((f) => `'${f.name}'`).join(' and ')} on the GPU: one max/min reduction per parallel loop`,
        loop,
      );
    return found.length ? splitOne(loop, found[0].update, found[0].name, found[0].op, found[0].e) : [loop];
  };
  const splitOne = (loop: ForLoop, update: Stmt & { k: 'assign' }, s: string, op: 'max' | 'min', e: Expr): Stmt[] => {
    const unsupported = (reason: string) =>
      refuse(`the tangent of the Math.${op} reduction of '${s}' on the GPU: ${reason}`, loop);
    if (loop.body.some((t) => t.k === 'for' && t.parallel)) return unsupported('a nest of parallel loops');
    if (loop.step <= 0) return unsupported('a loop counting down');
    const sd = d(s);
    const tangent = loop.body.filter((t) => t.k === 'assign' && t.target.k === 'var' && t.target.name === sd);
    // an inactive extremum: the reduction alone
    if (!tangent.length) return [loop];
    if (tangent.length !== 1 || tangent[0].k !== 'assign' || tangent[0].op !== '=')
      return unsupported(`'${sd}' is not updated once`);
    const tangentUpdate = tangent[0];
    // the locals passes 2 and 3 recompute: declared at the top of the body, never reassigned, reading no array the body writes
    const decls = loop.body.filter((t) => t.k === 'decl');
    const locals = new Set(decls.map((t) => (t as { name: string }).name));
    const { arraysWritten, reassigned } = writesOfLoop(loop, locals);
    if (reassigned) return unsupported(`the local '${reassigned}' is reassigned`);
    const needs = readsOfStmts(decls);
    for (const x of [e, tangentUpdate.value]) readsOf(x, needs);
    // locals reading an array the loop writes: the winner and tangent passes run before the writes
    const stale = [...needs].find((n) => arraysWritten.has(n));
    const early = !!stale && readsBeforeWrites(loop.body, [...decls, update, tangentUpdate], arraysWritten);
    if (stale && !early) return unsupported(`its locals read '${stale}' after the loop writes it`);
    const search = winnerSearch(loop, decls, update, s, e, fresh);
    const { winner, none } = search;
    // the contribution's tangent: the tangent update with the running value losing and its tangent 0
    const losing = num(op === 'max' ? -BIG : BIG);
    const ed = substitute(tangentUpdate.value, (x) =>
      x.k === 'var' && x.name === s ? losing : x.k === 'var' && x.name === sd ? num(0) : undefined,
    );
    const sum = fresh(`_${sd}_w`);
    const i = v(loop.v);
    const pass = (stmt: Stmt): ForLoop => ({ ...loop, body: [...decls, stmt] });
    // with `early`: the reduction alone first, the loop's other work after the winner's passes
    const rest: Stmt[] = early ? [{ ...loop, body: loop.body.filter((x) => x !== tangentUpdate && x !== update) }] : [];
    return [
      search.start,
      early ? pass(update) : { ...loop, body: loop.body.filter((x) => x !== tangentUpdate) },
      ...search.find,
      { k: 'decl', name: sum, mutable: true, init: num(0) },
      pass({
        k: 'assign',
        target: { k: 'var', name: sum },
        op: '+=',
        value: cond(bin('===', i, v(winner)), ed, num(0)),
      }),
      ...rest,
      {
        k: 'assign',
        target: { k: 'var', name: sd },
        op: '=',
        value: cond(bin('!==', v(winner), num(none)), v(sum), v(sd)),
      },
    ];
  };
  const out = mapParallelLoops(body, split);
  return why ? { why } : { body: out };
}

/** The max/min reduction updates of `extrema` among the top-level statements of a parallel loop. */
function extremumUpdates(loop: ForLoop, extrema: Set<string>) {
  return loop.body.flatMap((t) => {
    if (t.k !== 'assign' || t.target.k !== 'var' || !extrema.has(t.target.name)) return [];
    const u = reductionUpdate(t, t.target.name);
    return u && (u.op === 'max' || u.op === 'min') ? [{ update: t, name: t.target.name, op: u.op, e: u.e }] : [];
  });
}

/**
 * The winning iteration of the reduction `update` (`s = Math.max(s, e)` or min) after the loop:
 * `start` keeps s before the loop (`s0`); `find` declares `winner` (`none` when no iteration wins:
 * s0 stayed) and runs a pass over the iterations keeping the first one whose e is the final s, or
 * the last with `Math.max(e, s)` (the sequential loop's tie rule: `Math.max(s, e)` keeps s, the
 * earlier value, on ties).
 */
function winnerSearch(
  loop: ForLoop,
  decls: Stmt[],
  update: Stmt & { k: 'assign' },
  s: string,
  e: Expr,
  fresh: (base: string) => string,
): { winner: string; none: number; start: Stmt; find: Stmt[] } {
  const value = update.value as Expr & { k: 'call' };
  const earlier = value.args[0].k === 'var' && value.args[0].name === s;
  const s0 = fresh(`_${s}_0`);
  const winner = fresh(`_${s}_won`);
  const none = earlier ? BIG : -1;
  const equal = bin('===', e, v(s));
  const candidate = earlier ? bin('&&', equal, bin('!==', v(s), v(s0))) : equal;
  const pick: Stmt = {
    k: 'assign',
    target: { k: 'var', name: winner },
    op: '=',
    value: {
      k: 'call',
      fn: earlier ? 'Math.min' : 'Math.max',
      args: [v(winner), cond(candidate, v(loop.v), num(none))],
    },
  };
  return {
    winner,
    none,
    start: { k: 'decl', name: s0, mutable: false, init: v(s) },
    find: [
      { k: 'decl', name: winner, mutable: true, init: num(none) },
      { ...loop, body: [...decls, pick] },
    ],
  };
}

/** The arrays a loop body writes, and a local of `locals` it reassigns (if any). */
function writesOfLoop(loop: ForLoop, locals: Set<string>): { arraysWritten: Set<string>; reassigned?: string } {
  const arraysWritten = new Set<string>();
  let reassigned: string | undefined;
  forEachStmt(loop.body, (t) => {
    if (t.k === 'assign' && t.target.k === 'index') arraysWritten.add(t.target.array);
    if (t.k === 'assign' && t.target.k === 'var' && locals.has(t.target.name)) reassigned ??= t.target.name;
  });
  return { arraysWritten, reassigned };
}

/**
 * `K_b` of a max/min reduction on the GPU: the forward sweep's loop records the winning iteration
 * (`if (e wins) { won = 1; at = i; }`, in iteration order in JavaScript); here the loop reduces
 * without the record, a second pass finds the winner as for the tangent (extremumTangents), and
 * `won`/`at` are set from it. The reverse sweep is unchanged (it routes the adjoint to `at`).
 */
export function extremumRecords(body: Stmt[], extrema: Set<string>): Rewrite {
  const records: { won: string; at: string; winner: string; none: number }[] = [];
  let why: string | undefined;
  // what the forward sweep pushes on the (host) tape
  const pushed = new Set<string>();
  forEachStmt(body, (s) => {
    if (s.k === 'push') for (const n of readsOf(s.value)) pushed.add(n);
  });
  const fresh = freshNames(body);
  const split = (loop: ForLoop): Stmt[] => {
    const found = extremumUpdates(loop, extrema);
    if (!found.length) return [loop];
    const { update, name: s, op, e } = found[0];
    const unsupported = (reason: string): Stmt[] => {
      why ??= `the adjoint of the Math.${op} reduction of '${s}' on the GPU: ${reason}`;
      return [loop];
    };
    if (found.length > 1) return unsupported('one max/min reduction per parallel loop');
    if (loop.step <= 0) return unsupported('a loop counting down');
    // the record: an if at the top of the body setting a flag to 1 and the winner to the iteration
    const recs = loop.body.filter(
      (t): t is Stmt & { k: 'if' } =>
        t.k === 'if' &&
        !t.else.length &&
        t.then.length === 2 &&
        t.then.every((a) => a.k === 'assign' && a.target.k === 'var' && a.op === '='),
    );
    if (recs.length !== 1) return unsupported('the forward sweep does not record the winner once');
    const record = recs[0];
    const [wonStmt, atStmt] = record.then as (Stmt & { k: 'assign' })[];
    if (
      !(wonStmt.value.k === 'num' && wonStmt.value.value === 1) ||
      !(atStmt.value.k === 'var' && atStmt.value.name === loop.v)
    )
      return unsupported('the forward sweep does not record the winner as a flag and an iteration');
    const won = (wonStmt.target as { name: string }).name;
    const at = (atStmt.target as { name: string }).name;
    // a nest inside a sequential loop or a branch: the forward sweep pushes the record on the tape
    // once per time step, so the record must hold this step's winner when it is pushed: won and at
    // become device scalars (f32), set from the winner after the nest, and records.ts puts them on
    // the device's tape. At the top level the reverse sweep reads the winner itself (below).
    const taped = pushed.has(won) || pushed.has(at);
    const decls = loop.body.filter((t) => t.k === 'decl');
    const locals = new Set(decls.map((t) => (t as { name: string }).name));
    const { arraysWritten, reassigned } = writesOfLoop(loop, locals);
    if (reassigned) return unsupported(`the local '${reassigned}' is reassigned`);
    const needs = readsOfStmts(decls);
    readsOf(e, needs);
    // locals reading an array the loop writes: the winner pass runs before the writes
    const stale = [...needs].find((n) => arraysWritten.has(n));
    const early = !!stale && readsBeforeWrites(loop.body, [...decls, update], arraysWritten);
    if (stale && !early) return unsupported(`its locals read '${stale}' after the loop writes it`);
    const search = winnerSearch(loop, decls, update, s, e, fresh);
    const { winner, none } = search;
    const won0 = bin('!==', v(winner), num(none));
    const set = (name: string, value: Expr): Stmt => ({
      k: 'assign',
      target: { k: 'var', name },
      op: '=',
      value: cond(won0, value, v(name)),
    });
    if (taped) floats.add(won).add(at);
    else records.push({ won, at, winner, none });
    return [
      search.start,
      // with `early`: the reduction alone first, the loop's other work after the winner's pass
      early ? { ...loop, body: [...decls, update] } : { ...loop, body: loop.body.filter((x) => x !== record) },
      ...search.find,
      ...(early ? [{ ...loop, body: loop.body.filter((x) => x !== record && x !== update) }] : []),
      ...(taped ? [set(won, num(1)), set(at, v(winner))] : []),
    ];
  };
  // the record's flag and iteration, read where the reverse sweep reads them (integers on the host
  // cannot be computed from device values): `winner found ? 1 : won`, `winner found ? winner : at`
  const floats = new Set<string>();
  const walked = mapParallelLoops(body, split);
  // the taped records' flag and iteration hold device values: f32 (exact below 2^24)
  const typed = (stmts: Stmt[]): Stmt[] =>
    stmts.map((st): Stmt => {
      if (st.k === 'decl' && floats.has(st.name)) return { ...st, type: 'f32' };
      if (st.k === 'if') return { ...st, then: typed(st.then), else: typed(st.else) };
      if (st.k === 'for' || st.k === 'block') return { ...st, body: typed(st.body) };
      return st;
    });
  if (why) return { why };
  const out = floats.size ? typed(walked) : walked;
  if (!records.length) return { body: out };
  const subst = (x: Expr): Expr =>
    mapExpr(x, (y) => {
      if (y.k !== 'var') return undefined;
      const r = records.find((q) => q.won === y.name || q.at === y.name);
      if (!r) return undefined;
      const found = bin('!==', v(r.winner), num(r.none));
      return cond(found, r.won === y.name ? num(1) : v(r.winner), y);
    });
  return {
    body: mapStmts(out, (x, st) =>
      st.k === 'decl' && records.some((r) => r.won === st.name || r.at === st.name) ? x : subst(x),
    ),
  };
}

/**
 * Whether the passes recomputing a loop's locals (`uses`: its top-level declarations and the
 * reduction's updates) may run before the loop's own pass, although they read arrays it writes
 * (`written`): yes when each of them that reads such an array stands before the body's first
 * statement writing an array, so that in the loop too it reads the values from before the writes
 * (the iterations of a parallel loop do not read what other iterations write).
 */
function readsBeforeWrites(body: Stmt[], uses: Stmt[], written: Set<string>): boolean {
  const writes = (t: Stmt) => {
    let w = false;
    forEachStmt([t], (x) => {
      if (x.k === 'assign' && x.target.k === 'index') w = true;
    });
    return w;
  };
  const first = body.findIndex(writes);
  return uses.every((u) => {
    const at = body.indexOf(u);
    if (at < 0) return false;
    const reads = new Set<string>();
    for (const e of ownExprs(u)) readsOf(e, reads);
    return at < first || ![...reads].some((n) => written.has(n));
  });
}
