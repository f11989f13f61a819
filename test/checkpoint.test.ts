/**
 * Checkpointing schedules (runtime/checkpoint.ts, docs/checkpointing.md): every schedule is run
 * through an independent simulator of the slot machine, and its forward steps or cost compared
 * with optima computed without the dynamic program: Griewank's binomial formula for unit chains,
 * an exhaustive search over every sequence of actions for small heterogeneous ones. A numeric
 * chain differentiated with checkpointing must equal its store-all adjoint.
 */
import { describe, expect, test } from 'vitest';
import {
  arraySlots,
  checkpointSchedule,
  lastCheckpointStats,
  runCheckpointed,
  slotsForBudget,
  stateBytes,
  type ChainCosts,
  type Schedule,
} from '../runtime/index.js';

/** Pascal's triangle, rows 0..N. */
const N = 200;
const PASCAL: number[][] = [[1]];
for (let n = 1; n <= N; n++)
  PASCAL.push(Array.from({ length: n + 1 }, (_, k) => (PASCAL[n - 1][k - 1] ?? 0) + (PASCAL[n - 1][k] ?? 0)));
const beta = (s: number, r: number) => (r < 0 ? 0 : PASCAL[s + r][s]);

/**
 * The least number of forward steps that reverse l unit steps with s snapshots (x_0's included):
 * Griewank, "Achieving logarithmic growth of temporal and spatial complexity in reverse automatic
 * differentiation" (1992), and Griewank & Walther, "Algorithm 799: revolve" (ACM TOMS 26, 2000).
 * With no step advanced more than r times, s snapshots reverse at most beta(s, r) = C(s + r, s)
 * steps (beta(s, r) = beta(s - 1, r) + beta(s, r - 1): the first snapshot's right part with s - 1,
 * then its left part with each step one advance fewer), and then
 *   t(l, s) = r l - beta(s + 1, r - 1),  r the least with beta(s, r) >= l.
 * (s = 1: l(l-1)/2; s >= l - 1: l - 1.)
 */
function revolve(l: number, s: number): number {
  if (l <= 1) return 0;
  let r = 0;
  while (beta(s, r) < l) r++;
  return r * l - beta(s + 1, r - 1);
}

interface Chain {
  cost?: number[];
  sizes?: number[];
}

/**
 * Runs a schedule on the slot machine, without trusting it: the working state is known only after
 * a restore or an advance, a store copies it, every step is reversed once in order l..1 from its
 * input, at most `budget` slots (or size units) are held. Returns what it counted.
 */
function simulate(s: Schedule, l: number, budget: number, { cost, sizes }: Chain = {}) {
  const held = new Map<number, number>(); // slot -> state
  let cur: number | undefined = 0;
  let next = l;
  let forwardSteps = 0;
  let forwardCost = 0;
  let used = 0;
  let peakSlots = 0;
  let peakSize = 0;
  const fail = (why: string, i: number) => {
    throw new Error(`action ${i} ${JSON.stringify(s.actions[i])}: ${why}`);
  };
  s.actions.forEach((act, i) => {
    switch (act.kind) {
      case 'store':
        if (held.has(act.slot)) fail('slot in use', i);
        if (!Number.isInteger(act.slot) || act.slot < 0 || (!sizes && act.slot >= budget)) fail('no such slot', i);
        if (cur !== act.state) fail(`working state is x_${cur}`, i);
        held.set(act.slot, act.state);
        used += sizes ? sizes[act.state] : 1;
        peakSlots = Math.max(peakSlots, held.size);
        peakSize = Math.max(peakSize, used);
        if (used > budget) fail(`${used} > ${budget} in use`, i);
        break;
      case 'restore':
        if (held.get(act.slot) !== act.state) fail(`slot holds x_${held.get(act.slot)}`, i);
        cur = act.state;
        break;
      case 'forward':
        if (cur !== act.from || !(act.to > act.from) || act.to > l) fail(`working state is x_${cur}`, i);
        for (let k = act.from + 1; k <= act.to; k++) forwardCost += cost ? cost[k - 1] : 1;
        forwardSteps += act.to - act.from;
        cur = act.to;
        break;
      case 'reverse':
        if (act.step !== next) fail(`step ${next} is next`, i);
        if (cur !== act.step - 1) fail(`working state is x_${cur}`, i);
        next--;
        cur = undefined;
        break;
      case 'free':
        if (!held.has(act.slot)) fail('slot not in use', i);
        used -= sizes ? sizes[held.get(act.slot)!] : 1;
        held.delete(act.slot);
        break;
    }
  });
  if (next !== 0) throw new Error(`steps ${next}..1 not reversed`);
  if (held.size !== 0) throw new Error(`slots ${[...held.keys()]} not freed`);
  return { forwardSteps, forwardCost, peakSlots, peakSize };
}

/**
 * The optimum by exhaustive search (Dijkstra over every configuration: steps left, the set of
 * stored states, the working state), with no assumption on the schedule's shape; `persistent`
 * keeps each stored x_j until step j + 1 is reversed.
 */
function bruteForce(
  l: number,
  budget: number,
  cost: number[],
  sizes = new Array<number>(l).fill(1),
  persistent = false,
): number {
  const B = 1 << l;
  const key = (k: number, mask: number, cur: number) => (k * B + mask) * (l + 1) + cur + 1;
  const dist = new Float64Array((l + 1) * B * (l + 1)).fill(Infinity);
  const heap: [number, number, number, number][] = []; // [dist, k, mask, cur]
  const push = (d: number, k: number, mask: number, cur: number) => {
    const id = key(k, mask, cur);
    if (d >= dist[id]) return;
    dist[id] = d;
    heap.push([d, k, mask, cur]);
    for (let i = heap.length - 1; i > 0; ) {
      const p = (i - 1) >> 1;
      if (heap[p][0] <= heap[i][0]) break;
      [heap[p], heap[i]] = [heap[i], heap[p]];
      i = p;
    }
  };
  const pop = () => {
    const top = heap[0];
    const end = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = end;
      for (let i = 0; ; ) {
        const [lc, rc] = [2 * i + 1, 2 * i + 2];
        let m = i;
        if (lc < heap.length && heap[lc][0] < heap[m][0]) m = lc;
        if (rc < heap.length && heap[rc][0] < heap[m][0]) m = rc;
        if (m === i) break;
        [heap[m], heap[i]] = [heap[i], heap[m]];
        i = m;
      }
    }
    return top;
  };
  const usedBy = (mask: number) => sizes.reduce((s, z, j) => (mask & (1 << j) ? s + z : s), 0);
  push(0, l, 0, 0);
  while (heap.length > 0) {
    const [d, k, mask, cur] = pop();
    if (d > dist[key(k, mask, cur)]) continue;
    if (k === 0) return d;
    if (cur >= 0 && cur + 1 <= k - 1) push(d + cost[cur], k, mask, cur + 1); // advance (states >= k are never needed)
    if (cur >= 0 && !(mask & (1 << cur)) && usedBy(mask) + sizes[cur] <= budget) push(d, k, mask | (1 << cur), cur);
    for (let j = 0; j < l; j++) {
      if (!(mask & (1 << j))) continue;
      if (!persistent || j >= k) push(d, k, mask & ~(1 << j), cur); // free
      push(d, k, mask, j); // restore
    }
    if (cur === k - 1) push(d, k - 1, mask, -1); // reverse step k
  }
  return Infinity;
}

/** A seeded generator (mulberry32). */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const integers = (rnd: () => number, n: number, lo: number, hi: number) =>
  Array.from({ length: n }, () => lo + Math.floor(rnd() * (hi - lo + 1)));

describe('uniform chains', () => {
  test.each([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])('c = %i: valid and revolve-optimal for l <= 60', (c) => {
    for (let l = 1; l <= 60; l++) {
      const s = checkpointSchedule(l, c);
      const sim = simulate(s, l, c);
      expect(sim.forwardSteps, `l = ${l}`).toBe(revolve(l, c));
      expect(s.forwardSteps).toBe(sim.forwardSteps);
      expect(s.cost).toBe(sim.forwardSteps);
      expect(s.recomputed).toBe(sim.forwardSteps - (l - 1));
      expect(s.peakSlots).toBe(sim.peakSlots);
      expect(s.peakSlots).toBeLessThanOrEqual(c);
    }
  });

  test('the dynamic program with unit costs and sizes gives the same optimum (l <= 60, c <= 10)', () => {
    for (let l = 1; l <= 60; l++) {
      const ones = new Array<number>(l).fill(1);
      for (let c = 1; c <= 10; c++) {
        const s = checkpointSchedule({ forwardCost: ones, stateSize: ones }, c);
        const sim = simulate(s, l, c, { sizes: ones });
        expect(sim.forwardSteps, `l = ${l}, c = ${c}`).toBe(revolve(l, c));
        expect(s.cost).toBe(sim.forwardSteps);
        expect(s.peakSlots).toBeLessThanOrEqual(c);
      }
    }
  });

  test("Shilova et al.'s Opt_0(l, c) is the optimum of l + 1 of our steps", () => {
    // their chain: forward steps F_1..F_l, backward steps B_0..B_l; Opt_0(0, c) = u_b (used at i = 1)
    const memo = new Map<string, number>();
    const opt0 = (l: number, c: number, uf: number, ub: number): number => {
      const key = `${l} ${c} ${uf} ${ub}`;
      let v = memo.get(key);
      if (v !== undefined) return v;
      if (l === 0) v = ub;
      else if (c === 1) v = ((l * (l + 1)) / 2) * uf + (l + 1) * ub;
      else if (l === 1) v = uf + 2 * ub;
      else {
        v = Infinity;
        for (let i = 1; i <= l - 1; i++) v = Math.min(v, i * uf + opt0(l - i, c - 1, uf, ub) + opt0(i - 1, c, uf, ub));
      }
      memo.set(key, v);
      return v;
    };
    for (let l = 0; l <= 60; l++) {
      for (let c = 1; c <= 10; c++) {
        expect(opt0(l, c, 1, 0), `l = ${l}, c = ${c}`).toBe(checkpointSchedule(l + 1, c).forwardSteps);
        expect(opt0(l, c, 0, 1)).toBe(l + 1);
      }
    }
  });

  test('the binomial formula is the exhaustive optimum (l <= 8, c <= 4)', () => {
    for (let l = 1; l <= 8; l++) {
      for (let c = 1; c <= 4; c++)
        expect(bruteForce(l, c, new Array<number>(l).fill(1)), `l = ${l}, c = ${c}`).toBe(revolve(l, c));
    }
  });

  test('equal costs plan like unit steps, scaled', () => {
    const s = checkpointSchedule({ forwardCost: new Array<number>(30).fill(2.5) }, 4);
    expect(s.actions).toEqual(checkpointSchedule(30, 4).actions);
    expect(s.cost).toBe(2.5 * revolve(30, 4));
  });

  test('more slots than steps store every state once', () => {
    const s = checkpointSchedule(12, 100);
    expect(s.forwardSteps).toBe(11);
    expect(s.recomputed).toBe(0);
    expect(s.peakSlots).toBe(11);
    expect(checkpointSchedule(12, Infinity).forwardSteps).toBe(11);
  });

  test('the heat equation: T = 1000 steps with 10 slots plans fast', () => {
    const t0 = performance.now();
    const s = checkpointSchedule(1000, 10);
    const ms = performance.now() - t0;
    const sim = simulate(s, 1000, 10);
    expect(sim.forwardSteps).toBe(revolve(1000, 10));
    expect(s.forwardSteps).toBe(3636);
    expect(s.recomputed).toBe(2637);
    expect(s.peakSlots).toBe(10);
    expect(ms).toBeLessThan(500);
    const big = checkpointSchedule(5000, 100);
    expect(simulate(big, 5000, 100).forwardSteps).toBe(big.forwardSteps);
  });
});

describe('heterogeneous chains', () => {
  test('forward costs: the exhaustive optimum (random costs, l <= 8, c <= 4)', () => {
    const rnd = random(7);
    for (let l = 1; l <= 8; l++) {
      for (let c = 1; c <= 4; c++) {
        for (let trial = 0; trial < 3; trial++) {
          const cost = integers(rnd, l, 1, trial === 2 ? 100 : 9);
          const s = checkpointSchedule({ forwardCost: cost }, c);
          const sim = simulate(s, l, c, { cost });
          const best = bruteForce(l, c, cost);
          expect(sim.forwardCost, `costs ${cost}, c = ${c}`).toBe(best);
          expect(s.cost).toBe(best);
          expect(s.peakSlots).toBeLessThanOrEqual(c);
        }
      }
    }
  });

  test('state sizes and a budget: the exhaustive optimum of persistent schedules (random sizes, l <= 7)', () => {
    const rnd = random(11);
    for (let l = 2; l <= 7; l++) {
      for (let trial = 0; trial < 3; trial++) {
        const cost = integers(rnd, l, 1, 9);
        const sizes = integers(rnd, l, 1, 3);
        for (let budget = sizes[0]; budget <= sizes.reduce((a, b) => a + b, 0); budget++) {
          const s = checkpointSchedule({ forwardCost: cost, stateSize: sizes }, budget);
          const sim = simulate(s, l, budget, { cost, sizes });
          const best = bruteForce(l, budget, cost, sizes, true);
          expect(sim.forwardCost, `costs ${cost}, sizes ${sizes}, budget ${budget}`).toBe(best);
          expect(s.cost).toBe(best);
          expect(bruteForce(l, budget, cost, sizes)).toBeLessThanOrEqual(best);
          expect(s.peakSize).toBe(sim.peakSize);
          expect(s.peakSize).toBeLessThanOrEqual(budget);
        }
      }
    }
  });

  test('with sizes, dropping a copy and recomputing it can do better (documented gap)', () => {
    // the optimum frees x_1 (restored) to fit x_2 (size 3), and later recomputes x_1 from x_0
    const chain: ChainCosts = { forwardCost: [3, 5, 1, 8, 3, 4], stateSize: [1, 1, 3, 2, 2, 1] };
    expect(checkpointSchedule(chain, 4).cost).toBe(31);
    expect(bruteForce(6, 4, chain.forwardCost, chain.stateSize, true)).toBe(31);
    expect(bruteForce(6, 4, chain.forwardCost, chain.stateSize)).toBe(29);
  });

  test('backward costs add to the cost, not to the schedule', () => {
    const forwardCost = [3, 1, 4, 1, 5, 9, 2, 6];
    const plain = checkpointSchedule({ forwardCost }, 3);
    const withB = checkpointSchedule({ forwardCost, backwardCost: forwardCost.map((f) => 2 * f) }, 3);
    expect(withB.actions).toEqual(plain.actions);
    expect(withB.cost).toBe(plain.cost + 62);
  });

  test('a chain of 100 layers with 10 slots plans in well under a second', () => {
    const cost = integers(random(3), 100, 1, 20);
    const t0 = performance.now();
    const s = checkpointSchedule({ forwardCost: cost }, 10);
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(simulate(s, 100, 10, { cost }).forwardCost).toBe(s.cost);
  });
});

describe('checkpointSchedule arguments', () => {
  test('x_0 needs a slot once there are two steps', () => {
    expect(checkpointSchedule(0, 0).actions).toEqual([]);
    expect(checkpointSchedule(1, 0).actions).toEqual([{ kind: 'reverse', step: 1 }]);
    expect(() => checkpointSchedule(2, 0)).toThrow(/x_0/);
    expect(() => checkpointSchedule({ forwardCost: [1, 1, 1], stateSize: [2, 1, 1] }, 1)).toThrow(/x_0/);
  });

  test('bad chains are refused', () => {
    expect(() => checkpointSchedule(-1, 3)).toThrow(RangeError);
    expect(() => checkpointSchedule({ forwardCost: [1, -1] }, 3)).toThrow(/costs/);
    expect(() => checkpointSchedule({ forwardCost: [1, 1], stateSize: [1] }, 3)).toThrow(/stateSize/);
    expect(() => checkpointSchedule({ forwardCost: [1, 1], stateSize: [1, 0.5] }, 3)).toThrow(/integers/);
  });

  test('slots from a memory budget', () => {
    const state = [new Float64Array(1000), new Float32Array(500)];
    expect(stateBytes(state)).toBe(10_000);
    expect(slotsForBudget(1e6, stateBytes(state))).toBe(100);
    expect(slotsForBudget(25_000, 10_000)).toBe(2);
    expect(slotsForBudget(5_000, 10_000)).toBe(0);
    expect(() => slotsForBudget(1e6, 0)).toThrow(RangeError);
  });
});

describe('runCheckpointed', () => {
  // x_i = sin(a_i x_{i-1}) elementwise; the loss is <w, x_l>
  const L = 40;
  const rnd = random(5);
  const a = Float64Array.from({ length: L }, () => 0.5 + rnd());
  const x0 = Float64Array.from({ length: 6 }, () => rnd() * 2 - 1);
  const w = Float64Array.from({ length: 6 }, () => rnd() * 2 - 1);
  const forward = (i: number, x: Float64Array) => {
    for (let j = 0; j < x.length; j++) x[j] = Math.sin(a[i - 1] * x[j]);
  };
  /** step i's adjoint from its input x (x_{i-1}): xb := d/dx_{i-1}, ab[i-1] += d/da_i */
  const adjoint = (i: number, x: Float64Array, xb: Float64Array, ab: Float64Array) => {
    for (let j = 0; j < x.length; j++) {
      const d = Math.cos(a[i - 1] * x[j]) * xb[j];
      ab[i - 1] += x[j] * d;
      xb[j] = a[i - 1] * d;
    }
  };

  const storeAll = () => {
    const xs = [x0.slice()];
    for (let i = 1; i <= L; i++) {
      const x = xs[i - 1].slice();
      forward(i, x);
      xs.push(x);
    }
    const xb = w.slice();
    const ab = new Float64Array(L);
    for (let i = L; i >= 1; i--) adjoint(i, xs[i - 1], xb, ab);
    return { xb, ab, loss: xs[L].reduce((s, v, j) => s + v * w[j], 0) };
  };

  const checkpointed = (s: Schedule) => {
    const x = x0.slice();
    const xb = w.slice();
    const ab = new Float64Array(L);
    const slots = new Set<number>();
    let peak = 0;
    const copies = arraySlots([x]);
    const stats = runCheckpointed(s, {
      save(slot, state) {
        copies.save(slot, state);
        slots.add(slot);
        peak = Math.max(peak, slots.size);
      },
      restore: copies.restore,
      free(slot) {
        slots.delete(slot);
      },
      forward: (i) => forward(i, x),
      reverse(i) {
        adjoint(i, x, xb, ab);
        x.fill(NaN); // a schedule must not reuse the working state after a reverse step
      },
    });
    return { xb, ab, stats, peak };
  };

  const ref = storeAll();
  const close = (got: Float64Array, want: Float64Array) => {
    for (let j = 0; j < want.length; j++)
      expect(Math.abs(got[j] - want[j])).toBeLessThanOrEqual(1e-12 * Math.abs(want[j]) + 1e-300);
  };

  test('the hand-written adjoint matches central differences', () => {
    const h = 1e-6;
    const loss = (k: number, dx: number) => {
      const x = x0.slice();
      x[k] += dx;
      for (let i = 1; i <= L; i++) forward(i, x);
      return x.reduce((s, v, j) => s + v * w[j], 0);
    };
    for (let k = 0; k < x0.length; k++) expect(ref.xb[k]).toBeCloseTo((loss(k, h) - loss(k, -h)) / (2 * h), 6);
  });

  test.each([1, 2, 3, 5, 8, 40])('c = %i equals the store-all adjoint', (c) => {
    const s = checkpointSchedule(L, c);
    const got = checkpointed(s);
    close(got.xb, ref.xb);
    close(got.ab, ref.ab);
    expect(got.stats.forwardSteps).toBe(s.forwardSteps);
    expect(got.stats.recomputed).toBe(s.recomputed);
    expect(got.stats.reverseSteps).toBe(L);
    expect(got.stats.peakSlots).toBe(s.peakSlots);
    expect(got.peak).toBeLessThanOrEqual(c);
    expect(lastCheckpointStats()).toEqual(got.stats);
  });

  test('heterogeneous and sized schedules give the same adjoint', () => {
    const forwardCost = integers(random(9), L, 1, 5);
    for (const s of [
      checkpointSchedule({ forwardCost }, 4),
      checkpointSchedule({ forwardCost, stateSize: integers(random(10), L, 1, 3) }, 9),
    ]) {
      const got = checkpointed(s);
      close(got.xb, ref.xb);
      close(got.ab, ref.ab);
    }
  });
});
