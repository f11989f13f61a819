/**
 * Exclusive-read analysis: for each parallel loop nest and each active array or float scalar read
 * in it, can two different iterations read the same element? The adjoint turns every read into an
 * update of the adjoint, so only an exclusive read keeps the adjoint loop parallel with direct
 * writes; otherwise it needs a gather (TF-MAD), a reduction, a run-time choice, or atomics.
 * Also checks the nest is parallel at all (no element written by two iterations, or written by one
 * and read by another). Returns a side table with a printer.
 */
import type { AdjointStrategy, ForLoop, Kernel, ParallelPragma } from '../../ir/types.js';
import type { Activity } from '../activity.js';
import { modelNests, type NestModel, type Site } from './model.js';
import { findConflict, conditionOf } from './query.js';
import type { Witness, Outcome } from './types.js';
import { baseSymbols, symbolsOf } from './poly.js';
import { fastVerdict, smallConflict, guessedCondition, distinctSites } from './fast.js';
import { offsetVerdict } from './offsets.js';
import { printCondition, type Condition } from './condition.js';

export type Verdict = 'yes' | 'no' | 'depends' | 'unknown';
export type Strategy = AdjointStrategy;

export interface ReadReport {
  name: string;
  exclusiveRead: Verdict;
  strategy: Strategy;
  /** for `depends`: the condition (over integer parameters) under which reads are exclusive, printed */
  condition: string | null;
  /** the same condition as data (the schedule's versioned adjoint tests it) */
  when: Condition | null;
  /**
   * two iterations reading one element: for `no` and `depends` a real one; for `unknown` one that
   * may happen (accesses under data-dependent branches), enough to rule out suggesting a pragma
   */
  witness: Witness | null;
  /** stated by a pragma, not proven */
  assumed: boolean;
  reason: string;
  /** the schedule's decision per target (filled by compile's schedule phase, not by the analysis) */
  targets?: Partial<Record<'ts' | 'wgsl', { strategy: Strategy; reason: string }>>;
}

export interface RaceReport {
  array: string;
  kind: 'write-write' | 'read-write';
  verdict: 'race' | 'unknown';
  witness: Witness | null;
  reason: string;
}

export interface LoopReport {
  line: number;
  indices: string[];
  reads: ReadReport[];
  races: RaceReport[];
  /**
   * z3 failed on these queries of the nest (crashed, ran out of memory, did not answer in time):
   * what each would have decided is left undecided (PARAD2004). Absent when none failed.
   */
  solverFailures?: string[];
}

export interface KernelReport {
  name: string;
  loops: LoopReport[];
}

/** "iterations i=3 and i=4 both read c[4] when n=8" */
export function describeWitness(w: Witness, verb: string, name: string): string {
  const it = (x: Record<string, number>) =>
    Object.entries(x)
      .map(([k, v]) => `${k}=${v}`)
      .join(', ');
  const params = Object.entries(w.params)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
  const element = w.accesses[0] === name ? name : `${name}[${w.element}]`;
  const when = params ? ` when ${params}` : '';
  return `iterations ${it(w.iterations[0])} and ${it(w.iterations[1])} both ${verb} ${element}${when}`;
}

/**
 * Reads of the same few elements by every iteration (a scalar, a bias `b[k]`): their adjoints are
 * reduced. A shared read that moves with an inner loop (`x[k]` in a dot product) is gathered: each
 * element sums over the iterations, in parallel over the elements.
 */
const fixedElements = (m: NestModel, sites: Site[]): boolean => {
  const nest = new Set(m.loops.map((l) => l.v));
  return sites.every(
    (s) => s.index && [...baseSymbols(s.index, m.defs)].every((v) => !nest.has(v) && !s.inner.some((r) => r.v === v)),
  );
};

/**
 * Does every iteration read one element through one of the accesses (an unguarded read at an index
 * of parameters only)?
 */
const sameEverywhere = (m: NestModel, sites: Site[]): boolean => {
  const nest = new Set(m.loops.map((l) => l.v));
  if (
    m.loops.some(
      (l) => l.step === 0 || [...baseSymbols(l.lo, m.defs), ...baseSymbols(l.bound, m.defs)].some((v) => nest.has(v)),
    )
  )
    return false;
  return sites.some(
    (s) =>
      s.index &&
      s.certain &&
      !s.guards.length &&
      !s.inner.length &&
      [...symbolsOf(s.index)].every((v) => m.params.has(v)),
  );
};

/** A nest loop whose bounds have no polynomial form: the solver could only guess (the reason why). */
const unboundedLoop = (m: NestModel): string | undefined => {
  const l = m.loops.find((r) => r.step === 0);
  return l && `the bounds of the loop over ${l.v} have no affine form (e.g. a division): not decidable statically`;
};

/** `failures`: where z3's failures on the read's queries go (the loop's `solverFailures`). */
async function readVerdict(
  m: NestModel,
  name: string,
  sites: Site[],
  pragma: ParallelPragma,
  failures: string[],
): Promise<ReadReport> {
  const base = { name, condition: null, when: null, witness: null, assumed: false };
  const forced = pragma.strategy;
  // a read through an index array the pragma declares a permutation
  const viaAssumed = sites.every(
    (s) => s.index === undefined && pragma.exclusive.some((p) => s.text.includes(`[${p}[`)),
  );
  if (pragma.exclusive.includes(name) || (sites.some((s) => !s.index) && viaAssumed && pragma.exclusive.length)) {
    return {
      ...base,
      exclusiveRead: 'yes',
      strategy: forced ?? 'direct',
      assumed: true,
      reason: 'declared by exclusive-read(…) (assumed, not proven)',
    };
  }
  const fast = fastVerdict(m, sites);
  if (fast?.verdict === 'none') {
    return {
      ...base,
      exclusiveRead: 'yes',
      strategy: forced ?? 'direct',
      reason: 'different iterations read different elements (proven from the index form)',
    };
  }
  if (fast?.verdict === 'conflict') {
    // every iteration reads the same elements: never exclusive once there are two iterations
    return {
      ...base,
      exclusiveRead: 'no',
      strategy: forced ?? (fixedElements(m, sites) ? 'reduction' : 'gather'),
      witness: fast.witness,
      reason: describeWitness(fast.witness, 'read', name),
    };
  }
  // not decidable: atomics, unless the reads touch the same elements in every iteration (a scalar,
  // w[0]): private copies reduced afterwards are right whichever iterations do read them
  const undecided = forced ?? (fixedElements(m, sites) ? 'reduction' : 'atomic');
  const vague = unboundedLoop(m);
  if (vague) return { ...base, exclusiveRead: 'unknown', strategy: undecided, reason: vague };
  // one loop reading at constant offsets: decided from the offsets' differences
  const offsets = offsetVerdict(m, sites);
  if (offsets?.verdict === 'none') {
    return {
      ...base,
      exclusiveRead: 'yes',
      strategy: forced ?? 'direct',
      reason: 'different iterations read different elements (proven from the offsets)',
    };
  }
  if (offsets?.verdict === 'conflict') {
    return {
      ...base,
      exclusiveRead: 'no',
      strategy: forced ?? (fixedElements(m, sites) ? 'reduction' : 'gather'),
      witness: offsets.witness,
      reason: describeWitness(offsets.witness, 'read', name),
    };
  }
  const small = smallConflict(m, sites, sites) ?? offsets?.witness;
  let outcome: Outcome = small
    ? { verdict: 'conflict', witness: small, certain: true, uncertainty: '' }
    : await findConflict(m, sites, sites);
  // a conflict the accesses under branches may not make: is there one the others make for sure?
  // (which conflict the solver finds first varies; the verdict must not)
  const sure = sites.filter((s) => s.certain);
  if (outcome.verdict === 'conflict' && !outcome.certain && sure.length && sure.length < sites.length) {
    const w = smallConflict(m, sure, sure);
    const again: Outcome = w
      ? { verdict: 'conflict', witness: w, certain: true, uncertainty: '' }
      : await findConflict(m, sure, sure);
    if (again.verdict === 'conflict' && again.certain) outcome = again;
  }
  if (outcome.verdict === 'none') {
    return {
      ...base,
      exclusiveRead: 'yes',
      strategy: forced ?? 'direct',
      reason: 'no two iterations read the same element (proven)',
    };
  }
  if (outcome.verdict === 'unknown') {
    if (outcome.failure)
      failures.push(`z3 failed on the exclusive-read query for ${name}, now undecided: ${outcome.failure}`);
    return { ...base, exclusiveRead: 'unknown', strategy: undecided, reason: outcome.reason };
  }
  const text = describeWitness(outcome.witness, 'read', name);
  if (!outcome.certain) {
    return {
      ...base,
      exclusiveRead: 'unknown',
      strategy: undecided,
      witness: outcome.witness,
      reason: `${text} may happen (${outcome.uncertainty}): not decidable statically`,
    };
  }
  // a read of the same element by every iteration (w[0], a scalar) conflicts at every size where
  // the nest runs twice: no condition to look for (no quantifier elimination)
  const same = sameEverywhere(m, sites);
  let condition = same ? undefined : (guessedCondition(m, sites) ?? offsets?.condition);
  if (!condition && !same) {
    const asked = await conditionOf(m, sites);
    if (asked.failure)
      failures.push(
        `z3 failed on the exclusive-read condition for ${name}, so its adjoint is not versioned: ${asked.failure}`,
      );
    condition = asked.condition;
  }
  if (condition) {
    const printed = printCondition(condition);
    return {
      ...base,
      exclusiveRead: 'depends',
      strategy: forced ?? 'versioned',
      condition: printed,
      when: condition,
      witness: outcome.witness,
      reason: `exclusive iff ${printed}; otherwise ${text}`,
    };
  }
  const strategy = forced ?? (fixedElements(m, sites) ? 'reduction' : 'gather');
  return { ...base, exclusiveRead: 'no', strategy, witness: outcome.witness, reason: text };
}

async function races(m: NestModel, failures: string[]): Promise<RaceReport[]> {
  const out: RaceReport[] = [];
  const written = [...new Set(m.sites.filter((s) => s.kind === 'write').map((s) => s.name))].sort();
  for (const array of written) {
    const writes = distinctSites(m.sites.filter((s) => s.kind === 'write' && s.name === array));
    const reads = distinctSites(m.sites.filter((s) => s.kind === 'read' && s.name === array));
    for (const [kind, second] of [
      ['write-write', writes],
      ['read-write', reads],
    ] as const) {
      if (!second.length) continue;
      // one injective index for all these accesses: only the same iteration touches an element
      if (fastVerdict(m, kind === 'write-write' ? writes : [...writes, ...second])?.verdict === 'none') continue;
      const vague = unboundedLoop(m);
      if (vague) {
        out.push({ array, kind, verdict: 'unknown', witness: null, reason: vague });
        continue;
      }
      const small = smallConflict(m, writes, second);
      const o: Outcome = small
        ? { verdict: 'conflict', witness: small, certain: true, uncertainty: '' }
        : await findConflict(m, writes, second);
      if (o.verdict === 'none') continue;
      if (o.verdict === 'unknown' && o.failure)
        failures.push(`z3 failed on the ${kind} query for ${array}, now undecided: ${o.failure}`);
      if (o.verdict === 'conflict' && o.certain) {
        const verb = kind === 'write-write' ? 'write' : 'access (one writes, the other reads)';
        out.push({ array, kind, verdict: 'race', witness: o.witness, reason: describeWitness(o.witness, verb, array) });
        // two iterations writing one element: their reads of it would repeat the same race
        if (kind === 'write-write') break;
      } else {
        const reason =
          o.verdict === 'unknown'
            ? o.reason
            : `${describeWitness(o.witness, 'may access', array)} (under data-dependent branches)`;
        out.push({ array, kind, verdict: 'unknown', witness: o.verdict === 'conflict' ? o.witness : null, reason });
      }
    }
  }
  return out;
}

/** The report, and the side table from each nest's outermost loop to its part of the report. */
export async function analyzeNests(
  k: Kernel,
  activity: Activity,
  opts: { races?: boolean } = {},
): Promise<{ report: KernelReport; byLoop: Map<ForLoop, LoopReport> }> {
  const loops: LoopReport[] = [];
  const byLoop = new Map<ForLoop, LoopReport>();
  for (const m of modelNests(k, activity)) {
    const pragma: ParallelPragma = m.loop.pragma ?? { exclusive: [] };
    const names = [
      ...new Set(m.sites.filter((s) => s.kind === 'read' && m.active.has(s.name)).map((s) => s.name)),
    ].sort();
    const reads: ReadReport[] = [];
    const failures: string[] = [];
    for (const name of names)
      reads.push(
        await readVerdict(
          m,
          name,
          distinctSites(m.sites.filter((s) => s.kind === 'read' && s.name === name)),
          pragma,
          failures,
        ),
      );
    const loop: LoopReport = {
      line: m.loop.loc?.line ?? 0,
      indices: m.loops.map((l) => l.v),
      reads,
      races: opts.races === false ? [] : await races(m, failures),
    };
    if (failures.length) loop.solverFailures = failures;
    loops.push(loop);
    byLoop.set(m.loop, loop);
  }
  return { report: { name: k.name, loops }, byLoop };
}

/**
 * A table per kernel: loop, array, verdict, the strategy for a parallel target (WebGPU), the one
 * for sequential JavaScript when it differs, and the reason.
 */
export function printReport(file: string, kernels: KernelReport[]): string {
  const rows: string[][] = [['kernel', 'loop', 'read', 'exclusive', 'strategy', 'js', 'reason']];
  for (const k of kernels) {
    for (const l of k.loops) {
      const at = `${file}:${l.line} (${l.indices.join(', ')})`;
      for (const r of l.reads) {
        const js = r.targets?.ts?.strategy ?? r.strategy;
        rows.push([
          k.name,
          at,
          r.name,
          r.exclusiveRead + (r.assumed ? ' (assumed)' : ''),
          r.strategy,
          js === r.strategy ? '=' : js,
          r.reason,
        ]);
      }
      if (!l.reads.length) rows.push([k.name, at, '-', '-', '-', '-', 'no active reads']);
    }
  }
  const last = rows[0].length - 1;
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => (c === last ? 0 : r[c].length))));
  return rows.map((r) => r.map((cell, c) => (c === last ? cell : cell.padEnd(widths[c]))).join('  ')).join('\n');
}
