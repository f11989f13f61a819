/**
 * Schedules the adjoint of a parallel loop nest by the strategy the exclusive-read analysis chose
 * for each array (or float scalar) the nest reads:
 *   direct     the adjoint nest stays as generated: `xb[f(it)] +=` by the iteration itself
 *   gather     TF-MAD: the nest without those updates (staging the values they need), then a loop
 *              over xb's elements gathering them (gather.ts)
 *   reduction  private copies of xb per block of iterations, combined by a tree (reduction.ts)
 *   atomic     as direct in JS (sequential); atomic updates on the GPU
 *   versioned  `if (condition) <direct> else <safe>`, the condition from the analysis
 * A strategy that does not apply falls back (gather → reduction → atomic), and the report says why.
 * Delinearization conditions the analysis could not prove are checked at run time, with the
 * scatter as the alternative.
 */
import type { Expr, ForLoop, Stmt } from '../ir/types.js';
import type { ReadReport, Strategy } from '../analysis/exclusive/index.js';
import type { Names } from '../naming.js';
import { call, div, mul, num, v, bin, readsOf } from '../ir/build.js';
import { declaredIn, forEachStmt } from '../ir/walk.js';
import { IndexForms, intDefinitions, rectangular, tripCount, flatIndex } from './space.js';
import { planGather, gatherPass, stripSites, needsStaging, type GatherPlan, type Staging } from './gather.js';
import { REDUCTION_BLOCKS, reductionApplies, privatize, combine } from './reduction.js';

/** The most private copies a GPU reduction uses (and invocations its nest's pass runs): 64 Ki. */
export const GPU_COPIES = 65536;

export interface NestInput {
  /** the nest's loops as written, outermost first */
  nest: ForLoop[];
  /** the generated adjoint of the nest (same loops, adjoint body) */
  pass: ForLoop;
  /** the analysis' verdicts for the nest (strategy and reason are updated to what is emitted) */
  reads: ReadReport[];
  names: Names;
  /** the kernel body (integer definitions) */
  kernelBody: Stmt[];
  isArray: (name: string) => boolean;
  /** strategy forced for every read (testing, experiments) */
  force?: Strategy;
  /**
   * Schedule for the GPU (the WGSL adjoint): reductions in a grid-stride nest of at most
   * GPU_COPIES invocations, each with its own private copy, combined by a `reduce` statement (a
   * workgroup-memory tree on the device); updates that other iterations make too (atomic strategy,
   * or direct forced on reads that are not exclusive) marked atomic.
   */
  gpu?: boolean;
}

interface Choice {
  read: ReadReport;
  adjoint: string;
  gather?: GatherPlan;
  reduce?: boolean;
}

export function scheduleNest(input: NestInput): Stmt[] {
  const out = scheduleStrategies(input);
  if (!input.gpu) return out;
  // on the GPU, the updates of reads left to atomics (or forced direct where reads are shared)
  const shared = new Set(input.reads.filter((r) => r.strategy === 'atomic' || (r.strategy === 'direct' && r.exclusiveRead !== 'yes' && !r.assumed)).map((r) => input.names.b(r.name)));
  return shared.size ? markAtomic(out, shared) : out;
}

function scheduleStrategies(input: NestInput): Stmt[] {
  const { nest, pass, names } = input;
  const inner = innermost(pass, nest.length);
  const body = inner.body;
  const forms = new IndexForms(intDefinitions([input.kernelBody, body]), body);
  const flat = rectangular(nest, forms);
  const ctx = { nest, body, forms, declared: declaredIn(body) };

  const safe: Choice[] = [];
  const versioned: Choice[] = [];
  const condition: string[] = [];
  for (const read of input.reads) {
    const wanted = input.force && input.force !== 'versioned' ? input.force : read.strategy;
    if (input.force) read.strategy = wanted;
    if (wanted === 'direct' || wanted === 'atomic') continue;
    const c: Choice = { read, adjoint: names.b(read.name) };
    const fallback = (why: string, to: Strategy) => {
      read.reason += `; ${wanted === 'versioned' ? 'the safe version' : wanted} cannot be used (${why}): ${to}`;
      if (wanted !== 'versioned') read.strategy = to;
    };
    if (wanted === 'gather' || wanted === 'versioned') {
      const plan = input.isArray(read.name) ? planGather(ctx, c.adjoint) : `${read.name} is a scalar`;
      if (typeof plan !== 'string' && (flat || !needsStaging([plan]))) c.gather = plan;
      else fallback(typeof plan === 'string' ? plan : 'the iteration space is not rectangular', 'reduction');
    }
    if (!c.gather) {
      let why = flat ? reductionApplies(body, c.adjoint) : 'the iteration space is not rectangular';
      // a private copy per iteration of an adjoint whose elements move with the loops would hold all of them in every copy
      if (!why && input.gpu && movesWithLoops(body, c.adjoint, nest)) why = `the elements of ${c.adjoint} move with the parallel loops: on the GPU each iteration's private copy would hold all of them`;
      const plan = why && input.gpu && input.isArray(read.name) ? planGather(ctx, c.adjoint) : undefined;
      if (!why) c.reduce = true;
      else if (plan && typeof plan !== 'string' && (flat || !needsStaging([plan]))) {
        fallback(why, 'gather');
        c.gather = plan;
      } else {
        fallback(why, 'atomic');
        continue;
      }
    }
    if (wanted === 'versioned' && read.condition) {
      versioned.push(c);
      condition.push(read.condition);
    } else safe.push(c);
  }
  if (!safe.length && !versioned.length) return [pass];

  const withChecks = (choices: Choice[]): Stmt[] => {
    const conds = choices.flatMap((c) => c.gather?.conditions ?? []);
    if (!conds.length) return build(choices);
    // the decomposition of the gathered index is unique only under these conditions
    // otherwise the scatter, whose updates race on the GPU
    const scatter = input.gpu ? markAtomic([pass], new Set(choices.map((c) => c.adjoint))) : [pass];
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
      pre.push({ k: 'decl', name: count, mutable: false, init: st.trips.map((t) => v(t) as Expr).reduce((a, b) => mul(a, b)) });
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
        pre.push({ k: 'decl', name: size, mutable: false, init: call('Math.ceil', div(v(count), num(REDUCTION_BLOCKS))) });
        head.push({ k: 'decl', name: blk, mutable: false, init: call('Math.floor', div(v(it), v(size))) });
      }
      for (const c of reduced) {
        const partial = names.partials(c.adjoint);
        const len: Expr | undefined = input.isArray(c.read.name) ? { k: 'length', array: c.adjoint } : undefined;
        pre.push({ k: 'decl', name: partial, mutable: false, init: { k: 'raw', text: `new Float64Array(${copies}${len ? ` * ${c.adjoint}.length` : ''})` } });
        newBody = privatize(newBody, c.adjoint, partial, blk, len);
        if (input.gpu) post.push({ k: 'reduce', partial, copies: v(copies), len, target: c.adjoint });
        else post.push(...combine(c.adjoint, partial, len, (p) => names.temp(p)));
      }
    }
    for (const a of st.arrays.values()) pre.push({ k: 'decl', name: a, mutable: false, init: { k: 'raw', text: `new Float64Array(${count})` } });
    for (const g of gathers) post.push(...gatherPass(g, nest, st, names));
    const what = choices.map((c) => `${c.adjoint} by ${c.gather ? 'gather' : 'reduction'}`).join(', ');
    const scheduled = replaceInnermost(pass, nest.length, [...head, ...newBody]);
    return [{ k: 'comment', text: `adjoint strategies of this loop: ${what}` }, ...pre, gridStride ? { ...scheduled, gridStride } : scheduled, ...post];
  };

  if (!versioned.length) return withChecks(safe);
  // exclusive under the analysis' condition: the direct version; otherwise the safe one
  const cond: Expr = { k: 'raw', text: condition.length === 1 ? condition[0] : condition.map((c) => `(${c})`).join(' && ') };
  const fast: Stmt = { k: 'comment', text: `exclusive reads of ${versioned.map((c) => c.read.name).join(', ')} when ${cond.text}: direct updates` };
  return [{ k: 'if', cond, then: [fast, ...withChecks(safe)], else: withChecks([...safe, ...versioned]) }];
}

/**
 * Does an update of `target` in `body` index it by a variable of the nest (or a local, which may
 * hold one)? Inner loop variables alone are fine: the copies then hold that loop's range (a filter
 * size, a degree).
 */
function movesWithLoops(body: Stmt[], target: string, nest: ForLoop[]): boolean {
  const loops = new Set(nest.map((l) => l.v));
  forEachStmt(body, (s) => { if (s.k === 'decl') loops.add(s.name); });
  let moves = false;
  forEachStmt(body, (s) => {
    if (s.k === 'assign' && s.target.k === 'index' && s.target.array === target && [...readsOf(s.target.index)].some((n) => loops.has(n))) moves = true;
  });
  return moves;
}

/** `+=`/`-=` updates of `targets` marked atomic. */
function markAtomic(body: Stmt[], targets: Set<string>): Stmt[] {
  return body.map((s): Stmt => {
    switch (s.k) {
      case 'assign': return s.op !== '=' && targets.has(s.target.k === 'var' ? s.target.name : s.target.array) ? { ...s, atomic: true } : s;
      case 'if': return { ...s, then: markAtomic(s.then, targets), else: markAtomic(s.else, targets) };
      case 'for': case 'block': return { ...s, body: markAtomic(s.body, targets) };
      default: return s;
    }
  });
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
