/**
 * Optimal checkpointing of a chain of steps (docs/checkpointing.md): the schedule that reverses a
 * chain with a bounded number of stored states and the fewest forward steps recomputed, and an
 * executor that runs it through user callbacks (the generated `L_b` of a `@layer` function).
 *
 * Convention. A chain has `l` steps s_1..s_l; step i maps state x_{i-1} to x_i. The adjoint reverses
 * steps l, l-1, ..., 1; reversing step i (its `_b`, which runs step i's forward with taping and then
 * its adjoint) needs x_{i-1} as the working state and leaves the working state undefined. Besides
 * the working state (the live state arrays, which the program holds anyway) there are `c` slots,
 * each holding one stored copy of a state; x_0 is one of them (slot 0) for the whole run, as it
 * cannot be recomputed. So "c slots" = at most c stored copies at any time, x_0's included, and the
 * reverse steps' own tapes are not counted. `forwardSteps` counts every untaped step execution,
 * the first advance from x_0 included: store-all (c >= l - 1) takes l - 1, one slot l(l-1)/2.
 *
 * Dynamic program (Shilova et al.'s Opt_0 with their chain of l forward steps being ours of l + 1
 * steps, generalized to per-step forward costs f_i and per-state sizes): C(a, b, M) is the least
 * forward cost of reversing steps b..a+1 when x_a is stored and M size units are free for more
 * copies. C(a, a+1, M) = 0, and for b - a >= 2
 *
 *   C(a, b, M) = min over a < m < b, with m = b-1 or size(x_m) <= M, of
 *                F(a, m) + C(m, b, M - size(x_m) [not paid when m = b-1]) + C(a, m, M)
 *
 * (advance to x_m, store it, reverse m+1..b, free it, reverse a+1..m from x_a). m = b-1 needs no
 * copy: step b is reversed at once, so M = 0 gives the one-slot sweep. The schedule is
 * C(0, l, c - 1) with x_0 in slot 0 (with sizes, C(0, l, budget - size(x_0))). With unit costs and sizes it is Griewank's binomial optimum
 * t(l, c) (revolve), which plans in closed form. The recursion keeps every copy until the steps
 * after it are reversed ("persistent" schedules): with unit sizes that loses nothing (revolve's
 * theorem; per-step costs: exhaustive search on random chains agrees), with sizes a schedule that
 * drops a copy early and recomputes it later is sometimes cheaper (docs/checkpointing.md).
 */

/** One action of a schedule; `state` k is x_k, `step` i is s_i (1-based). */
export type CheckpointAction =
  /** copy the working state (it is x_state) into the free slot `slot` */
  | { kind: 'store'; slot: number; state: number }
  /** make the working state a copy of slot `slot`, which holds x_state */
  | { kind: 'restore'; slot: number; state: number }
  /** advance the working state from x_from to x_to: steps from+1..to, untaped */
  | { kind: 'forward'; from: number; to: number }
  /** reverse step `step` from the working state x_{step-1}; the working state is undefined after it */
  | { kind: 'reverse'; step: number }
  /** release slot `slot` */
  | { kind: 'free'; slot: number };

/** A heterogeneous chain: entry i - 1 of each array belongs to step s_i (costs) or state x_{i-1} (sizes). */
export interface ChainCosts {
  /** f_i >= 0, the cost of one untaped run of step i; length l */
  forwardCost: number[];
  /** the cost of reversing step i (run once each whatever the schedule: it adds to `cost` only) */
  backwardCost?: number[];
  /**
   * Sizes of x_0..x_{l-1} as positive integers (x_l is never stored). With sizes, the second
   * argument of `checkpointSchedule` is a budget in these units for the stored copies (x_0's
   * included) instead of a slot count, and the schedule is the best persistent one.
   */
  stateSize?: number[];
}

export interface Schedule {
  /** l, the chain's length */
  steps: number;
  /** the slot count (or size budget) it was planned for */
  budget: number;
  actions: CheckpointAction[];
  /** untaped step executions, the first advance from x_0 included */
  forwardSteps: number;
  /** forwardSteps - (l - 1): what checkpointing adds to storing every state */
  recomputed: number;
  /** most slots in use at once (x_0's included) */
  peakSlots: number;
  /** most size units in use at once (= peakSlots without `stateSize`) */
  peakSize: number;
  /** the optimal forward cost (1 a step for a plain length), plus every backward cost */
  cost: number;
}

/** What `runCheckpointed` calls: the working state lives in the callbacks' arrays. */
export interface CheckpointOps {
  /** copy the working state (x_state) into slot `slot` */
  save(slot: number, state: number): void;
  /** copy slot `slot` (x_state) into the working state */
  restore(slot: number, state: number): void;
  /** run step `step`'s primal in place: x_{step-1} -> x_step */
  forward(step: number): void;
  /** run step `step`'s adjoint (`_b`) from x_{step-1}; it may leave the working state changed */
  reverse(step: number): void;
  /** slot `slot` is no longer needed */
  free?(slot: number): void;
}

export interface CheckpointStats {
  steps: number;
  /** untaped step executions, as in `Schedule.forwardSteps` */
  forwardSteps: number;
  /** forwardSteps - (steps - 1) */
  recomputed: number;
  reverseSteps: number;
  stores: number;
  restores: number;
  /** most slots held at once */
  peakSlots: number;
}

/** Largest l^3 budget / 6 the dynamic program takes on (about two seconds). */
const DP_WORK_LIMIT = 5e8;

/** The recursion's choices: what the emitter unrolls into actions. */
interface Planner {
  /** for b - a >= 2, x_a stored and `budget` units free: the state x_m (a < m < b) to advance to next */
  split(a: number, b: number, budget: number): number;
  /** the size of x_m's copy */
  size(m: number): number;
  /** the optimal forward cost of the whole chain */
  total: number;
}

/**
 * The optimal schedule for a chain of `steps` unit-cost steps with `slots` slots, or for a chain
 * with per-step costs (and, with `stateSize`, a size budget). Uniform costs without sizes plan in
 * closed form (any length); otherwise the dynamic program takes O(l^3 budget) time and
 * O(l^2 budget) memory (a few hundred steps).
 */
export function checkpointSchedule(steps: number | ChainCosts, slots: number): Schedule {
  const chain = typeof steps === 'number' ? undefined : steps;
  const l = chain ? chain.forwardCost.length : (steps as number);
  if (!Number.isInteger(l) || l < 0)
    throw new RangeError(`parad: chain length must be a non-negative integer, got ${l}`);
  if (!(slots >= 0) || Number.isNaN(slots))
    throw new RangeError(`parad: checkpoint budget must be a non-negative number, got ${slots}`);
  const f = chain?.forwardCost ?? [];
  for (const v of f)
    if (!(v >= 0 && Number.isFinite(v))) throw new RangeError(`parad: forward costs must be finite and >= 0, got ${v}`);
  const sizes = chain?.stateSize;
  if (sizes) {
    if (sizes.length !== l)
      throw new RangeError(`parad: stateSize needs one size per state x_0..x_${l - 1} (${l}), got ${sizes.length}`);
    for (const s of sizes)
      if (!Number.isInteger(s) || s < 1) throw new RangeError(`parad: state sizes must be positive integers, got ${s}`);
  }
  const budget = Math.floor(slots);
  const first = sizes?.[0] ?? 1;
  if (l >= 2 && budget < first) {
    throw new RangeError(`parad: a chain of ${l} steps needs x_0 stored: budget ${budget} < ${first}`);
  }
  const backward = (chain?.backwardCost ?? []).reduce((s, v) => s + v, 0);
  const unit = f.length > 0 && f.every((v) => v === f[0]) ? f[0] : chain ? undefined : 1;
  const planner =
    sizes || unit === undefined
      ? dpPlanner(f, sizes ?? new Array<number>(l).fill(1), budget - first)
      : uniformPlanner(l, Math.min(budget, l), unit);
  const schedule = emit(l, budget, planner);
  schedule.cost = planner.total + backward;
  return schedule;
}

/** Griewank's t(n, c) for unit steps (revolve): r n - C(c + r, c + 1), r least with C(c + r, c) >= n. */
function binomialForwardSteps(n: number, c: number): number {
  if (n <= 1) return 0;
  if (c < 1) return Infinity;
  if (c === 1) return (n * (n - 1)) / 2;
  if (c >= n - 1) return n - 1;
  let r = 0;
  let beta = 1; // C(c + r, c)
  while (beta < n) {
    r++;
    beta = (beta * (c + r)) / r;
  }
  // C(c + r, c + 1) = C(c + r - 1, c) (c + r) / (c + 1), with C(c + r - 1, c) = beta r / (c + r)
  return r * n - Math.round((beta * r) / (c + 1));
}

function uniformPlanner(l: number, c: number, unit: number): Planner {
  const cost = (n: number, m: number, k: number) =>
    m + (m === n - 1 ? 0 : binomialForwardSteps(n - m, k - 1)) + binomialForwardSteps(m, k);
  return {
    split(a, b, budget) {
      const n = b - a;
      const k = budget + 1;
      if (k < 2) return b - 1;
      let best = n - 1;
      let bestCost = cost(n, n - 1, k);
      // n - 1 (advancing to x_{b-1} once) is a lower bound
      for (let m = 1; m < n - 1 && bestCost > n - 1; m++) {
        const v = cost(n, m, k);
        if (v < bestCost) {
          best = m;
          bestCost = v;
        }
      }
      return a + best;
    },
    size: () => 1,
    total: unit * binomialForwardSteps(l, c),
  };
}

function dpPlanner(f: number[], sizes: number[], extra: number): Planner {
  const l = f.length;
  // free budgets beyond a copy of every state are all alike
  let all = 0;
  for (let m = 1; m < l - 1; m++) all += sizes[m];
  const W = Math.max(0, Math.min(extra, all)) + 1;
  if ((l * l * l * W) / 6 > DP_WORK_LIMIT) {
    throw new RangeError(
      `parad: a heterogeneous chain of ${l} steps with budget ${extra} is too large to plan exactly (give uniform costs, or fewer steps)`,
    );
  }
  const P = new Float64Array(l + 1); // P[m] - P[a] = F(a, m), the cost of advancing x_a to x_m
  for (let i = 0; i < l; i++) P[i + 1] = P[i] + f[i];
  // pairs a < b <= l in rows by a, W budgets 0..W-1 each: C(a, b, M) at at(a, b) + M
  const row = new Int32Array(l + 1);
  for (let a = 1; a <= l; a++) row[a] = row[a - 1] + (l - a + 1) * W;
  const at = (a: number, b: number) => row[a] + (b - a - 1) * W;
  const C = new Float64Array(row[l]);
  const split = new Int32Array(row[l]);
  for (let n = 2; n <= l; n++) {
    for (let a = 0; a + n <= l; a++) {
      const b = a + n;
      const base = at(a, b);
      // m = b - 1 (no copy), then every m whose copy fits, budgets in order
      const last = at(a, b - 1);
      for (let M = 0; M < W; M++) {
        C[base + M] = P[b - 1] - P[a] + C[last + M];
        split[base + M] = b - 1;
      }
      for (let m = a + 1; m < b - 1; m++) {
        const s = sizes[m];
        const F = P[m] - P[a];
        const right = at(m, b) - s;
        const left = at(a, m);
        for (let M = s; M < W; M++) {
          const v = F + C[right + M] + C[left + M];
          if (v < C[base + M]) {
            C[base + M] = v;
            split[base + M] = m;
          }
        }
      }
    }
  }
  const cap = (M: number) => Math.min(M, W - 1);
  return {
    split: (a, b, budget) => split[at(a, b) + cap(budget)],
    size: (m) => sizes[m],
    total: l > 1 ? C[at(0, l) + cap(extra)] : 0,
  };
}

type Task = { a: number; b: number; budget: number; slot: number } | { free: number };

/** The planner's recursion unrolled into actions (an explicit stack: chains are long). */
function emit(l: number, budget: number, planner: Planner): Schedule {
  const actions: CheckpointAction[] = [];
  const freeSlots: number[] = [];
  let nextSlot = 0;
  let inUse = 0;
  let used = 0;
  let peakSlots = 0;
  let peakSize = 0;
  const sizeOf = new Map<number, number>();
  const store = (state: number): number => {
    const slot = freeSlots.pop() ?? nextSlot++;
    const s = planner.size(state);
    sizeOf.set(slot, s);
    inUse++;
    used += s;
    peakSlots = Math.max(peakSlots, inUse);
    peakSize = Math.max(peakSize, used);
    actions.push({ kind: 'store', slot, state });
    return slot;
  };
  const release = (slot: number) => {
    inUse--;
    used -= sizeOf.get(slot)!;
    freeSlots.push(slot);
    actions.push({ kind: 'free', slot });
  };
  let forwardSteps = 0;
  let cur = 0; // the working state's index, -1 when undefined
  const tasks: Task[] = [];
  if (l === 1) actions.push({ kind: 'reverse', step: 1 });
  if (l >= 2) {
    const slot0 = store(0);
    tasks.push({ free: slot0 }, { a: 0, b: l, budget: budget - planner.size(0), slot: slot0 });
  }
  while (tasks.length > 0) {
    const t = tasks.pop()!;
    if ('free' in t) {
      release(t.free);
      continue;
    }
    const { a, b, budget: M, slot } = t;
    if (cur !== a) actions.push({ kind: 'restore', slot, state: a });
    const m = b - a === 1 ? a : planner.split(a, b, M);
    if (m > a) {
      actions.push({ kind: 'forward', from: a, to: m });
      forwardSteps += m - a;
    }
    if (m === b - 1) {
      actions.push({ kind: 'reverse', step: b });
      cur = -1;
      if (m > a) tasks.push({ a, b: m, budget: M, slot });
      continue;
    }
    cur = m;
    const slotM = store(m);
    tasks.push({ a, b: m, budget: M, slot }, { free: slotM }, { a: m, b, budget: M - planner.size(m), slot: slotM });
  }
  return {
    steps: l,
    budget,
    actions,
    forwardSteps,
    recomputed: forwardSteps - Math.max(0, l - 1),
    peakSlots,
    peakSize,
    cost: 0,
  };
}

/** Runs `schedule` through `ops`; its statistics are also `lastCheckpointStats()`. */
export function runCheckpointed(schedule: Schedule, ops: CheckpointOps): CheckpointStats {
  const stats: CheckpointStats = {
    steps: schedule.steps,
    forwardSteps: 0,
    recomputed: 0,
    reverseSteps: 0,
    stores: 0,
    restores: 0,
    peakSlots: 0,
  };
  runActions(schedule.actions, 0, schedule.actions.length, ops, stats, { n: 0 });
  stats.recomputed = stats.forwardSteps - Math.max(0, schedule.steps - 1);
  checkpointRuntime.lastStats = stats;
  return stats;
}

/** The statistics of the last `runCheckpointed` (undefined before the first). */
export function lastCheckpointStats(): CheckpointStats | undefined {
  const last = checkpointRuntime.lastStats;
  return last && { ...last };
}

/** How many states of `stateBytes` bytes a budget of `bytes` holds: the slot count to plan with. */
export function slotsForBudget(bytes: number, stateBytes: number): number {
  if (!(stateBytes > 0)) throw new RangeError(`parad: a state's size must be > 0 bytes, got ${stateBytes}`);
  return Math.max(0, Math.floor(bytes / stateBytes));
}

type StateArray = Float32Array | Float64Array | Int32Array | Uint32Array;

/** The bytes of one copy of a state made of `arrays`. */
export function stateBytes(arrays: readonly StateArray[]): number {
  return arrays.reduce((s, a) => s + a.byteLength, 0);
}

/**
 * Slots for a working state made of typed arrays (their lengths fixed): `save` copies them into
 * the slot's buffers (allocated on a slot's first use, then reused), `restore` copies them back.
 */
export function arraySlots(arrays: readonly StateArray[]): Pick<CheckpointOps, 'save' | 'restore' | 'free'> {
  const copies: StateArray[][] = [];
  return {
    save(slot) {
      const c = copies[slot];
      if (c) arrays.forEach((a, i) => c[i].set(a));
      else copies[slot] = arrays.map((a) => a.slice());
    },
    restore(slot) {
      arrays.forEach((a, i) => a.set(copies[slot][i]));
    },
    free() {},
  };
}

// ---------------------------------------------------------------------------------------------
// Checkpointed loops of generated `L_b` functions (`// @checkpoint` on a loop of a @layer)

/** Where a generated checkpointed loop is: its layer, its source line, the pragma's `slots=`. */
export interface CheckpointSite {
  layer: string;
  line: number;
  slots?: number;
}

/** Run-time choice of the slots of checkpointed loops, overriding the pragma's `slots=`. */
export interface CheckpointSettings {
  /** slots (stored states, x_0's included), at least 1 */
  slots?: number;
  /** a memory budget in bytes for the stored states: slots = floor(budget / state bytes) */
  budgetBytes?: number;
}

/**
 * Sets how many states the checkpointed loops of `layer` (of every layer when `layer` is omitted)
 * store from the next call of their `L_b` on; `undefined` goes back to the pragma's `slots=`.
 * A layer's own settings take precedence over the ones for every layer.
 */
export function setCheckpointing(value: CheckpointSettings | undefined, layer?: string): void {
  const key = layer ?? '*';
  if (value === undefined) {
    checkpointRuntime.settings.delete(key);
    return;
  }
  if (value.slots !== undefined && !(Number.isInteger(value.slots) && value.slots >= 1)) {
    throw new RangeError(`parad: checkpoint slots must be an integer >= 1, got ${value.slots}`);
  }
  if (value.budgetBytes !== undefined && !(value.budgetBytes > 0)) {
    throw new RangeError(`parad: a checkpoint budget must be > 0 bytes, got ${value.budgetBytes}`);
  }
  checkpointRuntime.settings.set(key, { ...value });
}

/** Forgets every `setCheckpointing` (the pragmas' `slots=` apply again). */
export function resetCheckpointing(): void {
  checkpointRuntime.settings.clear();
}

/**
 * The slots a checkpointed loop plans with: the run-time settings of its layer, else those for
 * every layer, else the pragma's `slots=`, else ceil(sqrt(steps)).
 */
export function checkpointSlots(site: CheckpointSite, steps: number, bytesPerState: number): number {
  const { settings } = checkpointRuntime;
  const s = settings.get(site.layer) ?? settings.get('*');
  let slots: number;
  if (s?.slots !== undefined) slots = s.slots;
  else if (s?.budgetBytes !== undefined) {
    slots = slotsForBudget(s.budgetBytes, bytesPerState);
    if (slots < 1) {
      throw new RangeError(
        `parad: ${site.layer} (line ${site.line}): a checkpoint budget of ${s.budgetBytes} bytes holds no state of ${bytesPerState} bytes`,
      );
    }
  } else slots = site.slots ?? Math.max(1, Math.ceil(Math.sqrt(steps)));
  return slots;
}

/** What the last checkpointed loop of a generated `L_b` did. */
export interface CheckpointRun {
  layer: string;
  line: number;
  slots: number;
  /** bytes of one stored state */
  stateBytes: number;
  schedule: Schedule;
  stats: CheckpointStats;
}

/** The last checkpointed loop a generated `L_b` ran (its schedule and statistics); undefined before the first. */
export function lastCheckpointRun(): CheckpointRun | undefined {
  const lastRun = checkpointRuntime.lastRun;
  return lastRun && { ...lastRun, stats: { ...lastRun.stats } };
}

/** The schedule for `steps` unit steps, or for steps of these costs (the dynamic program). */
function cachedSchedule(steps: number, slots: number, costs?: number[]): Schedule {
  if (costs && costs.length !== steps) throw new RangeError(`parad: ${costs.length} step costs for ${steps} steps`);
  const uniform = !costs || costs.every((c) => c === costs[0]);
  const key = uniform ? `${steps}/${slots}` : `${slots}/${costs!.join(',')}`;
  const scheduleCache = checkpointRuntime.schedules;
  let s = scheduleCache.get(key);
  if (!s) {
    s = uniform ? checkpointSchedule(steps, slots) : checkpointSchedule({ forwardCost: costs! }, slots);
    if (scheduleCache.size >= 64) scheduleCache.delete(scheduleCache.keys().next().value!);
    scheduleCache.set(key, s);
  }
  return s;
}

/** A checkpointed loop of a generated adjoint, run in two halves: `forward` in its forward sweep, `reverse` in its reverse sweep. */
export interface CheckpointedLoop {
  /** x_0 → x_l, storing the schedule's copies (and x_{l-1}, in slot `slots`, for `reverse`) */
  forward(): void;
  /** from x_l and the adjoint of x_l: the adjoint of x_0, leaving the working state x_0 */
  reverse(): void;
}

/**
 * The generated `L_b`'s driver of a `// @checkpoint` loop of `steps` iterations whose state takes
 * `bytesPerState` bytes (`costs`: each step's, from the pragma's `cost=`; unequal costs plan with
 * the dynamic program). The schedule runs up to its first reverse step (of step l, from x_{l-1})
 * in `forward`, which keeps x_{l-1} in the extra slot `slots` and runs step l for the code after
 * the loop; `reverse` restores x_{l-1}, runs the rest and leaves x_0 as the working state (the
 * reverse steps do not restore their input). So a run holds `slots + 1` copies and the working
 * state; its statistics do not count step l's run in `forward` (a primal run) nor the final restore.
 */
export function checkpointLoop(
  site: CheckpointSite,
  steps: number,
  bytesPerState: number,
  ops: CheckpointOps,
  costs?: number[],
): CheckpointedLoop {
  const slots = checkpointSlots(site, steps, bytesPerState);
  const schedule = costs ? cachedSchedule(steps, slots, costs) : cachedSchedule(steps, slots);
  const stats: CheckpointStats = {
    steps,
    forwardSteps: 0,
    recomputed: 0,
    reverseSteps: 0,
    stores: 0,
    restores: 0,
    peakSlots: 0,
  };
  const first = schedule.actions.findIndex((a) => a.kind === 'reverse');
  const held = { n: 0 };
  let state: 'new' | 'forward' | 'done' = 'new';
  return {
    forward() {
      if (state !== 'new')
        throw new Error(`parad: checkpointed loop of ${site.layer} (line ${site.line}) run forward twice`);
      state = 'forward';
      if (steps === 0) return;
      runActions(schedule.actions, 0, first, ops, stats, held);
      ops.save(slots, steps - 1);
      ops.forward(steps);
    },
    reverse() {
      if (state !== 'forward')
        throw new Error(
          `parad: checkpointed loop of ${site.layer} (line ${site.line}) reversed before its forward sweep`,
        );
      state = 'done';
      if (steps > 0) {
        ops.restore(slots, steps - 1);
        // x_0's slot is freed last: the code before the loop gets the loop's state back as it was
        const x0 = schedule.actions.some((a) => a.kind === 'store' && a.slot === 0) ? 0 : slots;
        const deferred = { ...ops, free: (slot: number) => (slot === x0 ? undefined : ops.free?.(slot)) };
        runActions(schedule.actions, first, schedule.actions.length, deferred, stats, held);
        ops.restore(x0, 0);
        ops.free?.(x0);
        if (x0 !== slots) ops.free?.(slots);
      }
      stats.recomputed = stats.forwardSteps - Math.max(0, steps - 1);
      checkpointRuntime.lastStats = { ...stats };
      const run = {
        layer: site.layer,
        line: site.line,
        slots,
        stateBytes: bytesPerState,
        schedule,
        stats: { ...stats },
      };
      checkpointRuntime.lastRun = run;
    },
  };
}

function runActions(
  actions: CheckpointAction[],
  from: number,
  to: number,
  ops: CheckpointOps,
  stats: CheckpointStats,
  held: { n: number },
): void {
  for (let i = from; i < to; i++) {
    const act = actions[i];
    switch (act.kind) {
      case 'store':
        ops.save(act.slot, act.state);
        stats.stores++;
        stats.peakSlots = Math.max(stats.peakSlots, ++held.n);
        break;
      case 'restore':
        ops.restore(act.slot, act.state);
        stats.restores++;
        break;
      case 'forward':
        for (let s = act.from + 1; s <= act.to; s++) ops.forward(s);
        stats.forwardSteps += act.to - act.from;
        break;
      case 'reverse':
        ops.reverse(act.step);
        stats.reverseSteps++;
        break;
      case 'free':
        ops.free?.(act.slot);
        held.n--;
        break;
    }
  }
}

/** `src` copied into `dst` when `dst` has its type and length, else a (pooled) copy (a slot's buffer, reused). */
export function copyInto<T extends StateArray>(dst: T | undefined, src: T): T {
  if (dst && dst.length === src.length && dst.constructor === src.constructor) {
    dst.set(src);
    return dst;
  }
  if (dst) releaseCopy(dst);
  return pooledCopy(src);
}

// ---------------------------------------------------------------------------------------------
// The save stack of generated `L_b` functions, with a pool of array copies reused across calls

type Ctor = { new (n: number): StateArray };

/** Free array copies by constructor and length, `bytes` in all, at most `limit`. */
class SavePool {
  readonly free = new Map<Ctor, Map<number, StateArray[]>>();
  bytes = 0;
  limit = 512 * 2 ** 20;
}

/**
 * All the state of the checkpointing runtime, in one object: the run-time slot settings, what the
 * last checkpointed run did (for inspection: `lastCheckpointRun`, `lastCheckpointStats`), the
 * schedules planned so far (a cache: planning is pure) and the pool of saved copies. Each
 * checkpointed loop is its own object (`CheckpointedLoop`); generated modules share this one.
 */
export class CheckpointRuntime {
  readonly settings = new Map<string, CheckpointSettings>();
  lastStats: CheckpointStats | undefined;
  lastRun: CheckpointRun | undefined;
  readonly schedules = new Map<string, Schedule>();
  readonly pool = new SavePool();
}

/** The process's checkpointing runtime (the functions of this module read and change it). */
export const checkpointRuntime = new CheckpointRuntime();

/**
 * How many bytes of array copies generated adjoints keep for their next calls (default 512 MiB;
 * 0 keeps none). A store-all adjoint saves about one state per step: reusing those copies, a
 * repeated call (a training loop) does not pay for fresh memory again.
 */
export function setSavePool(bytes: number): void {
  if (!(bytes >= 0)) throw new RangeError(`parad: a pool size must be >= 0 bytes, got ${bytes}`);
  const pool = checkpointRuntime.pool;
  pool.limit = bytes;
  if (pool.bytes > pool.limit) releaseSavePool();
}

/** Drops every pooled copy (the memory goes back to the garbage collector). */
export function releaseSavePool(): void {
  checkpointRuntime.pool.free.clear();
  checkpointRuntime.pool.bytes = 0;
}

/** A copy of `a` in a pooled buffer when one of its type and length is free. */
export function pooledCopy<T extends StateArray>(a: T): T {
  const pool = checkpointRuntime.pool;
  const free = pool.free.get(a.constructor as Ctor)?.get(a.length);
  const c = free?.pop() as T | undefined;
  if (!c) return a.slice() as T;
  pool.bytes -= c.byteLength;
  c.set(a);
  return c;
}

/** Gives a copy back to the pool (the caller no longer uses it). */
export function releaseCopy(a: StateArray): void {
  const pool = checkpointRuntime.pool;
  if (pool.bytes + a.byteLength > pool.limit) return;
  const ctor = a.constructor as Ctor;
  let byLength = pool.free.get(ctor);
  if (!byLength) pool.free.set(ctor, (byLength = new Map()));
  let list = byLength.get(a.length);
  if (!list) byLength.set(a.length, (list = []));
  list.push(a);
  pool.bytes += a.byteLength;
}

/**
 * The stack a generated `L_b` saves on in its forward sweep and pops in its reverse sweep: array
 * copies (`save`, pooled) and plain values (`push`: numbers, array bindings, checkpointed loops).
 */
export class SaveStack {
  private items: unknown[] = [];

  /** Saves a copy of `a`'s elements. */
  save(a: StateArray): void {
    this.items.push(pooledCopy(a));
  }

  push(value: unknown): void {
    this.items.push(value);
  }

  pop(): unknown {
    if (!this.items.length) throw new Error('parad: save stack underflow (generated adjoint is inconsistent)');
    return this.items.pop();
  }

  /** A copy popped from `save` is no longer needed. */
  release(a: StateArray): void {
    releaseCopy(a);
  }

  get size(): number {
    return this.items.length;
  }
}

/** `dst[i] += src[i]` for i < n: the adjoint of a layer's copy `dst.set(src)` (src's adjoint gathers dst's). */
export function accumulate(dst: Float32Array | Float64Array, src: Float32Array | Float64Array, n: number): void {
  for (let i = 0; i < n; i++) dst[i] += src[i];
}
