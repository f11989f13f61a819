/**
 * The schedule phase: lowers each parallel nest's adjoint (a `nestAdjoint` statement left by
 * differentiate/adjoint.ts: one pass with direct updates) for a target, choosing per read of the
 * nest how its adjoint updates are made:
 *   direct     the adjoint nest stays as generated: `xb[f(it)] +=` by the iteration itself
 *   gather     TF-MAD: the nest without those updates (staging the values they need), then a loop
 *              over xb's elements gathering them (gather.ts)
 *   reduction  private copies of xb per block of iterations, combined by a tree (reduction.ts)
 *   atomic     as direct in JS (sequential); atomic updates on the GPU
 *   versioned  `if (condition) <direct> else <safe>`, the condition from the analysis
 * The choice is a cost model per target (`decide`): on the sequential JavaScript target every
 * update is race-free and the plain scatter does the least work; on the GPU the cheapest correct
 * form among direct, gather (only when its work per element is bounded by the fan-in), reduction
 * and, last, atomics. A strategy that does not apply falls back, and the decision says why.
 * Pure: the analysis' reports are read, never changed; the decisions are returned beside the IR.
 * Delinearization conditions the analysis could not prove are checked at run time, with the
 * scatter as the alternative.
 */
import type { Expr, ForLoop, Kernel, Stmt } from '../ir/types.js';
import type { LoopReport, ReadReport, Strategy } from '../analysis/exclusive/index.js';
import type { Names } from '../naming.js';
import type { FunctionIR } from '../differentiate/function.js';
import { call, div, mul, num, v, bin, readsOf, walkExpr, isTapeDecl } from '../ir/build.js';
import {
  declaredIn,
  forEachStmt,
  ownExprs,
  writesOf,
  mapExpr,
  mapStmts,
  mapAssigns,
  mapBlocks,
  targetName,
} from '../ir/walk.js';
import { IndexForms, intDefinitions, rectangular, tripCount, flatIndex, conditionExpr } from './space.js';
import { allOf, printCondition, type Condition } from '../analysis/exclusive/condition.js';
import { planGather, gatherPass, stripSites, needsStaging, type GatherPlan, type Staging } from './gather.js';
import { forwardCommutingLoops } from './loop-order.js';
import { hoistInvariantDecls } from './hoist.js';
import { removeDeadCode } from '../ir/dead.js';
import { REDUCTION_BLOCKS, reductionApplies, privatize, combine } from './reduction.js';
import { mergeUpdates } from './merge.js';
import { tapeInLocals } from './locals.js';
import { tapeInArray } from './stack.js';
import { nestReductions, OP_TEXT } from '../ir/reduction.js';

/** The most private copies a GPU reduction uses (and invocations its nest's pass runs): 64 Ki. */
export const GPU_COPIES = 65536;

export type Target = 'ts' | 'wgsl';

/** What the schedule chose for one read of a nest, and why. */
export interface ReadDecision {
  name: string;
  strategy: Strategy;
  reason: string;
}

/** The decisions for one nest (its outermost loop's source line), reads in the analysis' order. */
export interface LoopDecisions {
  line: number;
  reads: ReadDecision[];
}

export interface ScheduleOptions {
  kernel: Kernel;
  /** the exclusive-read analysis, by the nest's outermost loop */
  reports: Map<ForLoop, LoopReport>;
  names: Names;
  target: Target;
  /** strategy forced for every read (testing, experiments) */
  force?: Strategy;
  /**
   * The JavaScript target scheduled as a parallel machine needs it (the analysis' strategies:
   * gathers, reductions; atomics as plain updates) instead of the sequential default.
   */
  parallel?: boolean;
}

export interface Scheduled {
  fn: FunctionIR;
  /** runtime values the scheduled function uses, as the module imports them (`scratch`, `scratch as scratch1`) */
  runtime: string[];
  /** per nest, by its outermost loop */
  decisions: Map<ForLoop, LoopDecisions>;
}

/** Replaces every `nestAdjoint` of `fn` by its schedule for the target. */
export function scheduleAdjoint(fn: FunctionIR, opts: ScheduleOptions): Scheduled {
  const decisions = new Map<ForLoop, LoopDecisions>();
  const runtime = new Set<string>();
  // JavaScript: scratch arrays (staging, private copies) from the runtime's pool, one slot per
  // array of the function, reused across calls; WebGPU: device scratch buffers (emit/wgsl/device.ts)
  let slot = 0;
  const alloc = (length: Expr, zero: boolean): Expr => {
    if (opts.target === 'wgsl') return { k: 'runtime', call: { fn: 'array', type: 'Float64Array', length } };
    const as = opts.names.scratch();
    runtime.add(as === 'scratch' ? as : `scratch as ${as}`);
    const call = { fn: 'scratch', as, owner: fn.name, slot: slot++, length } as const;
    return { k: 'runtime', call: zero ? { ...call, fill: 0 } : call };
  };
  const isArray = (n: string) => opts.kernel.params.some((p) => p.name === n && p.kind === 'array');
  const lower = (body: Stmt[]): Stmt[] =>
    body.flatMap((s): Stmt[] => {
      switch (s.k) {
        case 'nestAdjoint': {
          const report = opts.reports.get(s.loop);
          const reads = report?.reads ?? [];
          const { stmts, chosen } = scheduleNest({
            nest: s.nest,
            pass: s.pass,
            reads,
            names: opts.names,
            kernelBody: opts.kernel.body,
            isArray,
            force: opts.force,
            pragma: s.loop.pragma?.strategy,
            gpu: opts.target === 'wgsl',
            parallel: opts.parallel,
            alloc,
          });
          decisions.set(s.loop, { line: report?.line ?? s.loop.loc?.line ?? 0, reads: chosen });
          return stmts;
        }
        default:
          return [mapBlocks(s, lower)];
      }
    });
  const body = withoutUnusedTape(removeDeadCode(forwardCommutingLoops(lower(fn.body), opts.names)));
  if (body.some(isTapeDecl)) runtime.add('Tape');
  return { fn: { ...fn, body }, decisions, runtime: [...runtime] };
}

/**
 * `body` without its tape when the schedule left nothing that pushes to it or pops from it (an
 * iteration's values kept in locals, dead pushes removed): no `new Tape()` per call for nothing.
 */
function withoutUnusedTape(body: Stmt[]): Stmt[] {
  const decl = body.find(isTapeDecl);
  if (!decl || decl.k !== 'decl') return body;
  let used = false;
  forEachStmt(body, (s) => {
    if (s === decl) return;
    if ((s.k === 'push' || s.k === 'pushArray' || s.k === 'popArray') && s.tape === decl.name) used = true;
    for (const e of ownExprs(s))
      walkExpr(e, (x) => {
        if (x.k === 'pop' && x.tape === decl.name) used = true;
        if (x.k === 'var' && x.name === decl.name) used = true;
      });
  });
  return used ? body : body.filter((s) => s !== decl);
}

export interface NestInput {
  /** the nest's loops as written, outermost first */
  nest: ForLoop[];
  /** the generated adjoint of the nest (same loops, adjoint body) */
  pass: ForLoop;
  /** the analysis' verdicts for the nest (read only) */
  reads: ReadReport[];
  names: Names;
  /** the kernel body (integer definitions) */
  kernelBody: Stmt[];
  isArray: (name: string) => boolean;
  /** strategy forced for every read (testing, experiments) */
  force?: Strategy;
  /** strategy the loop's pragma asks for (`// @parallel adjoint=gather`) */
  pragma?: Strategy;
  /** JavaScript scheduled like a parallel target (see ScheduleOptions.parallel) */
  parallel?: boolean;
  /**
   * Schedule for the GPU (the WGSL adjoint): reductions in a grid-stride nest of at most
   * GPU_COPIES invocations, each with its own private copy, combined by a `reduce` statement (a
   * workgroup-memory tree on the device); updates that other iterations make too (atomic strategy,
   * or direct forced on reads that are not exclusive) marked atomic.
   * Otherwise the sequential JavaScript target.
   */
  gpu?: boolean;
  /** a scratch array of `size` elements (zeroed when `zero`), as the target allocates it */
  alloc: (size: Expr, zero: boolean) => Expr;
}

interface Choice {
  read: ReadReport;
  decision: ReadDecision;
  adjoint: string;
  gather?: GatherPlan;
  reduce?: boolean;
}

function scheduleNest(given: NestInput): { stmts: Stmt[]; chosen: ReadDecision[] } {
  // what an iteration pushes and pops itself kept in its locals (locals.ts), on every target
  // and the updates each iteration makes to one element summed in a local first (merge.ts): a
  // chain of statements reading x at a few offsets stages, gathers or updates once per offset
  const inner = innermost(given.pass, given.nest.length);
  const inLocals = tapeInLocals(inner.body, given.names);
  // JavaScript: what it pushes and pops itself inside inner loops on an array of the iteration's
  // own (stack.ts); on the GPU the lowering gives it private memory or a region of a device buffer
  const nestVars = new Set(given.nest.map((l) => l.v));
  const changed = writesOf(inLocals);
  const inArray = given.gpu
    ? undefined
    : tapeInArray(inLocals, given.names, (n) => !nestVars.has(n) && !changed.has(n));
  const ownTape = inArray?.body ?? inLocals;
  const pre: Stmt[] = inArray
    ? [{ k: 'decl', name: inArray.array, mutable: false, init: given.alloc(inArray.bound, false) }]
    : [];
  const arrays = new Set(given.reads.filter((r) => given.isArray(r.name)).map((r) => given.names.b(r.name)));
  const forms = new IndexForms(intDefinitions([given.kernelBody, ownTape]), ownTape);
  const body = mergeUpdates(ownTape, arrays, forms, new Set(given.nest.map((l) => l.v)), given.names);
  const input = body === inner.body ? given : { ...given, pass: replaceInnermost(given.pass, given.nest.length, body) };
  const chosen: ReadDecision[] = input.reads.map((r) => ({ name: r.name, strategy: r.strategy, reason: r.reason }));
  const stmts = scheduleStrategies(input, chosen);
  if (!input.gpu && !input.parallel && stmts.length === 1 && stmts[0] === input.pass) {
    const pass = hoistInvariantReads(input.pass, input.names);
    return {
      stmts: [
        ...pre,
        ...pass.before,
        ...accumulateInLocals(
          hoistInvariantDecls(pass.loop),
          new Set(input.reads.filter((r) => input.isArray(r.name)).map((r) => input.names.b(r.name))),
          input.names,
        ),
      ],
      chosen,
    };
  }
  if (!input.gpu) return { stmts: [...pre, ...stmts], chosen };
  // on the GPU, the updates of reads left to atomics (or forced direct where reads are shared)
  const shared = new Set(
    input.reads
      .filter(
        (r, i) =>
          chosen[i].strategy === 'atomic' ||
          (chosen[i].strategy === 'direct' && r.exclusiveRead !== 'yes' && !r.assumed),
      )
      .map((r) => input.names.b(r.name)),
  );
  return { stmts: shared.size ? markAtomic(stmts, shared) : stmts, chosen };
}

/**
 * The strategy a read asks for before the schedule checks it applies: forced (option, then
 * pragma) as given; on the sequential target the scatter, which is race-free there and does the
 * least work; on the GPU (and JavaScript scheduled as parallel) the analysis' strategy.
 */
function wanted(read: ReadReport, input: NestInput): { strategy: Strategy; reason: string } {
  if (input.force) return { strategy: input.force, reason: `forced (${input.force}); ${read.reason}` };
  if (input.pragma) return { strategy: input.pragma, reason: `adjoint=${input.pragma} (pragma); ${read.reason}` };
  // reads the analysis could not decide: a gather or private copies are right whatever iterations
  // read, and cheaper than atomics on the GPU (the fallbacks end at atomic where neither applies)
  if (input.gpu && read.strategy === 'atomic' && read.exclusiveRead === 'unknown' && !read.assumed)
    return { strategy: 'gather', reason: read.reason };
  if (input.gpu || input.parallel) return { strategy: read.strategy, reason: read.reason };
  if (read.exclusiveRead === 'yes') return { strategy: 'direct', reason: read.reason };
  return {
    strategy: 'direct',
    reason: `sequential target: plain updates cannot race and do the least work (exclusive read: ${read.exclusiveRead}${read.assumed ? ', assumed' : ''})`,
  };
}

function scheduleStrategies(input: NestInput, chosen: ReadDecision[]): Stmt[] {
  const { nest, pass, names } = input;
  const inner = innermost(pass, nest.length);
  const body = inner.body;
  const forms = new IndexForms(intDefinitions([input.kernelBody, body]), body);
  const flat = rectangular(nest, forms);
  const ctx = { nest, body, forms, declared: declaredIn(body) };
  const nestVars = new Set(nest.map((l) => l.v));
  const forcedStrategy = input.force ?? input.pragma;
  /** a gather plan, or why it cannot be used; `lastResort`: as the alternative to atomics */
  const gatherOf = (read: ReadReport, adjoint: string, lastResort = false): GatherPlan | string => {
    if (!input.isArray(read.name)) return `${read.name} is a scalar`;
    const plan = planGather(ctx, adjoint);
    if (typeof plan === 'string') return plan;
    if (!flat && needsStaging([plan])) return 'the iteration space is not rectangular';
    // work per element bounded by the fan-in (gather.ts's `bounded`); otherwise each element would
    // scan the iterations, |x| · |iterations| in all: the quadratic cliff
    if (!plan.bounded) return plan.why ?? `each element of ${plan.target} would scan the iterations`;
    // contributions staged per inner iteration to elements that no variable of the parallel loops
    // selects (a Horner recurrence's coefficients, a layer norm's gamma): each element would sum
    // every iteration's slot, with no more parallelism than the elements; private copies first
    if (
      !forcedStrategy &&
      !lastResort &&
      plan.note &&
      plan.sites.every((s) => !s.solved.some((x) => nestVars.has(x.v)))
    )
      return `${plan.note}, but every iteration updates each element of ${adjoint}: no parallelism beyond its elements`;
    return plan;
  };

  const safe: Choice[] = [];
  const versioned: Choice[] = [];
  const condition: Condition[] = [];
  const reductions = nestReductions(nest, input.isArray).reductions;
  input.reads.forEach((read, i) => {
    const decision = chosen[i];
    const red = reductions.find((r) => r.name === read.name);
    if (red) {
      // ir/reduction.ts: the iterations' adjoints read the reduced scalar's adjoint, none updates it
      decision.strategy = 'direct';
      const forced = input.force ?? input.pragma;
      decision.reason = `a ${OP_TEXT[red.op]} reduction of the parallel loop: each iteration's adjoint reads ${names.b(read.name)} and updates nothing${forced && forced !== 'direct' ? ` (${forced} cannot be used: there is no update)` : ''}`;
      return;
    }
    const want = input.force === 'versioned' ? { strategy: read.strategy, reason: read.reason } : wanted(read, input);
    decision.strategy = want.strategy;
    decision.reason = want.reason;
    if (want.strategy === 'direct' || want.strategy === 'atomic') return;
    const c: Choice = { read, decision, adjoint: names.b(read.name) };
    const fallback = (why: string, to: Strategy) => {
      decision.reason += `; ${want.strategy === 'versioned' ? 'the safe version' : want.strategy} cannot be used (${why}): ${to}`;
      if (want.strategy !== 'versioned') decision.strategy = to;
    };
    if (want.strategy === 'gather' || want.strategy === 'versioned') {
      const plan = gatherOf(read, c.adjoint);
      if (typeof plan !== 'string') c.gather = plan;
      else fallback(plan, 'reduction');
    }
    if (!c.gather) {
      let why = flat ? reductionApplies(body, c.adjoint) : 'the iteration space is not rectangular';
      // a private copy per iteration of an adjoint whose elements move with the loops would hold all of them in every copy
      if (!why && input.gpu && movesWithLoops(body, c.adjoint, nest))
        why = `the elements of ${c.adjoint} move with the parallel loops: on the GPU each iteration's private copy would hold all of them`;
      const plan = why && input.gpu ? gatherOf(read, c.adjoint, true) : undefined;
      if (!why) c.reduce = true;
      else if (plan && typeof plan !== 'string') {
        fallback(why, 'gather');
        c.gather = plan;
      } else {
        fallback(typeof plan === 'string' && input.isArray(read.name) ? `${why}; a gather: ${plan}` : why, 'atomic');
        return;
      }
    }
    if (want.strategy === 'versioned' && read.when) {
      versioned.push(c);
      condition.push(read.when);
    } else safe.push(c);
  });
  if (!safe.length && !versioned.length) return [pass];
  for (const c of [...safe, ...versioned]) if (c.gather?.note) c.decision.reason += `; ${c.gather.note}`;

  const withChecks = (choices: Choice[]): Stmt[] => {
    const conds = choices.flatMap((c) => c.gather?.conditions ?? []);
    if (!conds.length) return build(choices);
    // the decomposition of the gathered index is unique only under these conditions
    // otherwise the scatter, whose updates race on the GPU
    const scatter = input.gpu ? markAtomic([pass], new Set(choices.map((c) => c.adjoint))) : [pass];
    const otherwise = input.gpu ? 'atomic updates' : 'direct updates';
    // (conv2d with OH, OW and the stride passed in: (OH - 1)·stride + K <= H)
    for (const c of choices) {
      if (!c.decision.reason.includes(otherwise))
        c.decision.reason += `; a gather's index decomposition is checked at run time, ${otherwise} otherwise`;
    }
    return [{ k: 'if', cond: conds.reduce((a, b) => bin('&&', a, b)), then: build(choices), else: scatter }];
  };

  const build = (choices: Choice[]): Stmt[] => {
    if (!choices.length) return [pass];
    const gathers = choices.flatMap((c) => (c.gather ? [c.gather] : []));
    const reduced = choices.filter((c) => c.reduce);
    const pre: Stmt[] = [];
    const post: Stmt[] = [];
    const st: Staging = { body, trips: [], arrays: new Map() };
    const numbered = reduced.length > 0 || needsStaging(gathers);
    const it = numbered ? names.temp('it') : '';
    const count = numbered ? names.temp('n') : '';
    if (numbered) {
      st.trips = nest.map(() => names.temp('n'));
      nest.forEach((l, d) => pre.push({ k: 'decl', name: st.trips[d], mutable: false, init: tripCount(l) }));
      pre.push({
        k: 'decl',
        name: count,
        mutable: false,
        init: st.trips.map((t) => v(t) as Expr).reduce((a, b) => mul(a, b)),
      });
    }
    let newBody = stripSites(body, gathers, st, names, it);
    const head: Stmt[] = numbered ? [{ k: 'decl', name: it, mutable: false, init: flatIndex(nest, st.trips) }] : [];
    let gridStride: string | undefined;
    if (reduced.length) {
      // JS: a copy per block of iterations. GPU: at most GPU_COPIES invocations, each running the
      // iterations it ≡ its number (mod their count) in turn (a grid-stride loop), with its own copy
      let blk: string;
      let copies: string;
      if (input.gpu) {
        copies = names.temp('np');
        blk = names.temp('blk');
        pre.push({ k: 'decl', name: copies, mutable: false, init: call('Math.min', v(count), num(GPU_COPIES)) });
        head.push({ k: 'decl', name: blk, mutable: false, init: bin('%', v(it), v(copies)) });
        gridStride = copies;
      } else {
        const size = names.temp('bs');
        blk = names.temp('blk');
        copies = String(REDUCTION_BLOCKS);
        pre.push({
          k: 'decl',
          name: size,
          mutable: false,
          init: call('Math.ceil', div(v(count), num(REDUCTION_BLOCKS))),
        });
        head.push({ k: 'decl', name: blk, mutable: false, init: call('Math.floor', div(v(it), v(size))) });
      }
      const copiesExpr = input.gpu ? v(copies) : num(REDUCTION_BLOCKS);
      for (const c of reduced) {
        const partial = names.partials(c.adjoint);
        const len: Expr | undefined = input.isArray(c.read.name) ? { k: 'length', array: c.adjoint } : undefined;
        pre.push({
          k: 'decl',
          name: partial,
          mutable: false,
          init: input.alloc(len ? mul(copiesExpr, len) : copiesExpr, true),
        });
        newBody = privatize(newBody, c.adjoint, partial, blk, len);
        if (input.gpu) post.push({ k: 'reduce', partial, copies: v(copies), len, target: c.adjoint });
        else post.push(...combine(c.adjoint, partial, len, (p) => names.temp(p)));
      }
    }
    for (const a of st.arrays.values())
      pre.push({ k: 'decl', name: a, mutable: false, init: input.alloc(v(count), false) });
    // contributions staged per inner iteration: a slot per (iteration, inner iteration)
    for (const a of st.inner?.values() ?? [])
      pre.push(...a.decls, {
        k: 'decl',
        name: a.array,
        mutable: false,
        init: input.alloc(mul(v(count), a.per), a.zero),
      });
    // JavaScript: the boundary peeled (loops without range tests inside); GPU: one pass per gather,
    // where a range test is a predicated compare and two more dispatches would cost more
    for (const g of gathers) post.push(...gatherPass(g, nest, st, names, !input.gpu));
    const what = choices.map((c) => `${c.adjoint} by ${c.gather ? 'gather' : 'reduction'}`).join(', ');
    const scheduled = replaceInnermost(pass, nest.length, [...head, ...newBody]);
    return [
      { k: 'comment', text: `adjoint strategies of this loop: ${what}` },
      ...pre,
      gridStride ? { ...scheduled, gridStride } : scheduled,
      ...post,
    ];
  };

  if (!versioned.length) return withChecks(safe);
  // exclusive under the analysis' condition: the direct version; otherwise the safe one
  const when = allOf(condition);
  const cond = conditionExpr(when);
  const fast: Stmt = {
    k: 'comment',
    text: `exclusive reads of ${versioned.map((c) => c.read.name).join(', ')} when ${printCondition(when)}: direct updates`,
  };
  return [{ k: 'if', cond, then: [fast, ...withChecks(safe)], else: withChecks([...safe, ...versioned]) }];
}

/**
 * Does an update of `target` in `body` index it by a variable of the nest (or a local, which may
 * hold one)? Inner loop variables alone are fine: the copies then hold that loop's range (a filter
 * size, a degree).
 */
function movesWithLoops(body: Stmt[], target: string, nest: ForLoop[]): boolean {
  const loops = new Set(nest.map((l) => l.v));
  forEachStmt(body, (s) => {
    if (s.k === 'decl') loops.add(s.name);
  });
  let moves = false;
  forEachStmt(body, (s) => {
    if (
      s.k === 'assign' &&
      s.target.k === 'index' &&
      s.target.array === target &&
      [...readsOf(s.target.index)].some((n) => loops.has(n))
    )
      moves = true;
  });
  return moves;
}

/**
 * Sequential target: elements at constant indices of arrays the nest never writes (`w[0]` of a
 * stencil's weights) read once into locals before it, as hand-written code does: the engine cannot
 * hoist the loads itself, since for all it knows a store into another array may change them.
 */
function hoistInvariantReads(pass: ForLoop, names: Names): { before: Stmt[]; loop: ForLoop } {
  const written = writesOf([pass]);
  const found = new Map<string, { array: string; index: number }>();
  forEachStmt([pass], (s) => {
    for (const e of ownExprs(s)) {
      walkExpr(e, (x) => {
        if (x.k === 'index' && x.index.k === 'num' && Number.isInteger(x.index.value) && !written.has(x.array))
          found.set(`${x.array}[${x.index.value}]`, { array: x.array, index: x.index.value });
      });
    }
  });
  if (!found.size) return { before: [], loop: pass };
  const local = new Map<string, string>();
  const before: Stmt[] = [];
  for (const [key, { array, index }] of [...found].sort(([a], [b]) => a.localeCompare(b))) {
    const t = names.invariant(array, index);
    local.set(key, t);
    before.push({ k: 'decl', name: t, mutable: false, init: { k: 'index', array, index: num(index) } });
  }
  const swap = (e: Expr) =>
    mapExpr(e, (x) =>
      x.k === 'index' && x.index.k === 'num' && local.has(`${x.array}[${x.index.value}]`)
        ? v(local.get(`${x.array}[${x.index.value}]`)!)
        : undefined,
    );
  const [loop] = mapStmts([pass], (e) => swap(e)) as ForLoop[];
  return { before, loop };
}

/**
 * Sequential target: the updates of an adjoint element at a constant index (`wb[0] += u[i - 1] * s`,
 * every iteration the same element) summed in a local across the nest and added once after it, as
 * hand-written code does, instead of a load and a store per iteration. Only for adjoint arrays the
 * nest touches through such updates alone.
 */
function accumulateInLocals(pass: ForLoop, adjoints: Set<string>, names: Names): Stmt[] {
  const sites = new Map<string, Set<number>>();
  const other = new Set<string>();
  const visit = (e: Expr) =>
    walkExpr(e, (x) => {
      if ((x.k === 'index' || x.k === 'length') && adjoints.has(x.array)) other.add(x.array);
    });
  forEachStmt([pass], (s) => {
    if (s.k === 'assign' && s.target.k === 'index' && adjoints.has(s.target.array)) {
      const i = s.target.index;
      if ((s.op === '+=' || s.op === '-=') && i.k === 'num' && Number.isInteger(i.value) && !s.atomic) {
        const set = sites.get(s.target.array) ?? new Set<number>();
        sites.set(s.target.array, set.add(i.value));
        visit(s.value);
        return;
      }
      other.add(s.target.array);
    }
    for (const e of ownExprs(s)) visit(e);
  });
  for (const a of other) sites.delete(a);
  if (!sites.size) return [pass];
  const local = new Map<string, string>();
  const before: Stmt[] = [];
  const after: Stmt[] = [];
  for (const [a, indices] of [...sites].sort(([x], [y]) => x.localeCompare(y))) {
    for (const k of [...indices].sort((x, y) => x - y)) {
      const t = names.accumulator(a, k);
      local.set(`${a}[${k}]`, t);
      before.push({ k: 'decl', name: t, mutable: true, init: num(0) });
      after.push({ k: 'assign', target: { k: 'index', array: a, index: num(k) }, op: '+=', value: v(t) });
    }
  }
  const rewrite = (s: Stmt & { k: 'assign' }): Stmt => {
    const t =
      s.target.k === 'index' && s.target.index.k === 'num'
        ? local.get(`${s.target.array}[${s.target.index.value}]`)
        : undefined;
    return t ? { ...s, target: { k: 'var', name: t } } : s;
  };
  return [...before, mapAssigns([pass], rewrite)[0], ...after];
}

/** `+=`/`-=` updates of `targets` marked atomic. */
function markAtomic(body: Stmt[], targets: Set<string>): Stmt[] {
  return mapAssigns(body, (s) => (s.op !== '=' && targets.has(targetName(s.target)) ? { ...s, atomic: true } : s));
}

function innermost(loop: ForLoop, depth: number): ForLoop {
  let l = loop;
  for (let d = 1; d < depth; d++) l = l.body[0] as ForLoop;
  return l;
}

function replaceInnermost(loop: ForLoop, depth: number, body: Stmt[]): ForLoop {
  if (depth === 1) return { ...loop, body };
  return { ...loop, body: [replaceInnermost(loop.body[0] as ForLoop, depth - 1, body)] };
}
