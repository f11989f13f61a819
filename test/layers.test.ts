/**
 * `@layer` functions (issue 7): generated L_b with `// @checkpoint` loops equal the store-all L_b
 * (f64, rel. 1e-12) and pass the dot-product test for the heat and wave equations (T = 1000), a
 * dense+tanh chain and a small CNN; the run follows the optimal schedule (recomputations equal the
 * binomial optimum for every l <= 60, c <= 10, peak slots <= c); slots chosen at run time;
 * imported kernel files; the layer language's diagnostics.
 */
import { afterEach, describe, expect, test } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { compile, formatDiagnostic } from '../transformer/index.js';
import { checkAdjoint, checkTangent } from '../testing/index.js';
import { checkpointSchedule, lastCheckpointRun, resetCheckpointing, setCheckpointing } from '../runtime/index.js';
import { loadGenerated, type GeneratedModule } from './support/load.js';

const root = path.resolve(import.meta.dirname, '..');
type Fn = (...args: unknown[]) => unknown;

async function fixture(name: string): Promise<GeneratedModule> {
  const input = `fixtures/${name}/${name}.ts`;
  const source = fs.readFileSync(path.join(root, input), 'utf8');
  const r = await compile(source, { fileName: input, format: 'js' });
  if (!r.code) throw new Error(r.diagnostics.map((d) => formatDiagnostic(d, source)).join('\n'));
  return loadGenerated(r.code);
}

const rel = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let scale = 1e-300,
    err = 0;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]));
  for (let i = 0; i < b.length; i++) err = Math.max(err, Math.abs(a[i] - b[i]) / scale);
  return err;
};
const relNum = (a: number, b: number) => Math.abs(a - b) / Math.max(1e-300, Math.abs(b));

function random(seed: number) {
  let s = seed;
  return (n: number, lo = -0.5, hi = 0.5) =>
    Float64Array.from({ length: n }, () => lo + (hi - lo) * ((s = (s * 16807) % 2147483647) / 2147483647));
}

/** Griewank's t(l, c): the fewest untaped steps reversing l steps with c slots (x_0's included). */
function binomialOptimum(l: number, c: number): number {
  if (l <= 1) return 0;
  if (c >= l - 1) return l - 1;
  const choose = (n: number, k: number) => {
    let r = 1;
    for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
    return Math.round(r);
  };
  let r = 0;
  while (choose(c + r, c) < l) r++;
  return r * l - choose(c + r, c + 1);
}

afterEach(() => resetCheckpointing());

describe('time stepping (fixtures/timestep)', async () => {
  const mod = await fixture('timestep');
  const heatRun = mod.heatRun as Fn,
    heatRunB = mod.heatRun_b as Fn,
    heatRunAllB = mod.heatRunAll_b as Fn;
  const n = 32,
    T = 1000,
    kappa = 0.2;
  const arr = random(5);
  const u0 = arr(n, 0, 1),
    w = arr(n, 0, 1),
    seedU = arr(n);

  const all = { u: u0.slice(), ub: seedU.slice() };
  const { kappab: allKappab } = heatRunAllB(all.u, all.ub, w, kappa, n, T, 0.7) as { kappab: number };

  test.each([1, 2, 4, 10, 40, 1000])(
    'heat, T = 1000: c = %i slots gives the store-all gradient and the optimal schedule',
    (c) => {
      setCheckpointing({ slots: c }, 'heatRun');
      const u = u0.slice(),
        ub = seedU.slice();
      const { kappab } = heatRunB(u, ub, w, kappa, n, T, 0.7) as { kappab: number };
      expect(rel(ub, all.ub)).toBeLessThanOrEqual(1e-12);
      expect(relNum(kappab, allKappab)).toBeLessThanOrEqual(1e-12);
      // L_b leaves the primal outputs, as L does
      const p = u0.slice();
      heatRun(p, w, kappa, n, T);
      expect(u).toEqual(p);
      const run = lastCheckpointRun()!;
      expect(run.layer).toBe('heatRun');
      expect(run.slots).toBe(c);
      expect(run.stats.forwardSteps).toBe(binomialOptimum(T, c));
      expect(run.stats.recomputed).toBe(checkpointSchedule(T, c).recomputed);
      expect(run.stats.peakSlots).toBeLessThanOrEqual(c);
      expect(run.stats.reverseSteps).toBe(T);
      // both ping-pong buffers are the state: 2 × 32 doubles
      expect(run.stateBytes).toBe(2 * n * 8);
    },
  );

  test('heat, T = 1000: the pragma slots=4 by default; with c = 10 the optimum recomputes 2,637 steps', () => {
    heatRunB(u0.slice(), seedU.slice(), w, kappa, n, T, 1);
    expect(lastCheckpointRun()!.slots).toBe(4);
    setCheckpointing({ slots: 10 });
    heatRunB(u0.slice(), seedU.slice(), w, kappa, n, T, 1);
    expect(lastCheckpointRun()!.stats.recomputed).toBe(2637);
  });

  test('heat, T = 1000: tangent (finite differences) and adjoint (dot product)', () => {
    const args = { u: u0, w, kappa, n, T };
    const t = checkTangent(mod, 'heatRun', args);
    expect(t.ok, t.message).toBe(true);
    const a = checkAdjoint(mod, 'heatRun', args);
    expect(a.ok, a.message).toBe(true);
  });

  test('recomputations equal the binomial optimum for every l <= 60, c <= 10 (generated heatRun_b), peak slots <= c', () => {
    const m = 4,
      uu = arr(m, 0, 1),
      ww = arr(m, 0, 1);
    for (let l = 1; l <= 60; l++) {
      const ref = { u: uu.slice(), ub: new Float64Array(m).fill(1) };
      const { kappab: k0 } = heatRunAllB(ref.u, ref.ub, ww, kappa, m, l, 1) as { kappab: number };
      for (let c = 1; c <= 10; c++) {
        setCheckpointing({ slots: c }, 'heatRun');
        const ub = new Float64Array(m).fill(1);
        const { kappab } = heatRunB(uu.slice(), ub, ww, kappa, m, l, 1) as { kappab: number };
        const stats = lastCheckpointRun()!.stats;
        expect(stats.forwardSteps, `l=${l} c=${c}`).toBe(binomialOptimum(l, c));
        expect(stats.recomputed, `l=${l} c=${c}`).toBe(binomialOptimum(l, c) - (l - 1));
        expect(stats.peakSlots, `l=${l} c=${c}`).toBeLessThanOrEqual(c);
        expect(relNum(kappab, k0), `l=${l} c=${c}`).toBeLessThanOrEqual(1e-12);
        expect(rel(ub, ref.ub), `l=${l} c=${c}`).toBeLessThanOrEqual(1e-12);
      }
    }
  });

  test('wave, T = 1000, three rotating buffers: checkpointed == store-all; default slots ceil(sqrt(T)); a byte budget', () => {
    const waveB = mod.waveRun_b as Fn,
      waveAllB = mod.waveRunAll_b as Fn;
    const cur = arr(n),
      prev = arr(n),
      curb = arr(n),
      prevb = arr(n);
    const ref = { cur: cur.slice(), prev: prev.slice(), curb: curb.slice(), prevb: prevb.slice() };
    const { c2b: refC2b } = waveAllB(ref.cur, ref.curb, ref.prev, ref.prevb, 0.3, n, T) as { c2b: number };
    for (const setting of [undefined, { slots: 3 }, { budgetBytes: 7 * 3 * n * 8 + 100 }]) {
      setCheckpointing(setting, 'waveRun');
      const x = { cur: cur.slice(), prev: prev.slice(), curb: curb.slice(), prevb: prevb.slice() };
      const { c2b } = waveB(x.cur, x.curb, x.prev, x.prevb, 0.3, n, T) as { c2b: number };
      expect(rel(x.curb, ref.curb)).toBeLessThanOrEqual(1e-12);
      expect(rel(x.prevb, ref.prevb)).toBeLessThanOrEqual(1e-12);
      expect(relNum(c2b, refC2b)).toBeLessThanOrEqual(1e-12);
      expect(x.cur).toEqual(ref.cur);
      expect(x.prev).toEqual(ref.prev);
      const run = lastCheckpointRun()!;
      // the state: the three rotating buffers
      expect(run.stateBytes).toBe(3 * n * 8);
      expect(run.slots).toBe(setting === undefined ? 32 : (setting.slots ?? 7));
      expect(run.stats.peakSlots).toBeLessThanOrEqual(run.slots);
    }
    const a = checkAdjoint(mod, 'waveRun', { cur, prev, c2: 0.3, n, T: 300 });
    expect(a.ok, a.message).toBe(true);
  });

  test('a budget too small for one state is an error naming the layer', () => {
    setCheckpointing({ budgetBytes: 100 }, 'heatRun');
    expect(() => heatRunB(u0.slice(), seedU.slice(), w, kappa, n, 10, 1)).toThrow(
      /heatRun \(line \d+\): a checkpoint budget of 100 bytes holds no state of 512 bytes/,
    );
    expect(() => setCheckpointing({ slots: 0 })).toThrow(RangeError);
  });
});

describe('dense+tanh layers (fixtures/mlp)', async () => {
  const mod = await fixture('mlp');
  const arr = random(9);

  test('a checkpointed stack of 24 layers (2 slots) equals storing every layer, and passes the dot-product test', () => {
    const L = 24,
      n = 6;
    const x = arr(n),
      W = arr(L * n * n, -0.6, 0.6),
      b = arr(L * n),
      xb = arr(n);
    const grads = [1, 2, 5, 24].map((c) => {
      setCheckpointing({ slots: c }, 'mlp');
      const g = { x: x.slice(), xb: xb.slice(), Wb: new Float64Array(W.length), bb: new Float64Array(b.length) };
      (mod.mlp_b as Fn)(g.x, g.xb, W, g.Wb, b, g.bb, L, n);
      expect(lastCheckpointRun()!.stats.forwardSteps).toBe(binomialOptimum(L, c));
      return g;
    });
    for (const g of grads.slice(0, -1)) {
      expect(rel(g.xb, grads[3].xb)).toBeLessThanOrEqual(1e-12);
      expect(rel(g.Wb, grads[3].Wb)).toBeLessThanOrEqual(1e-12);
      expect(rel(g.bb, grads[3].bb)).toBeLessThanOrEqual(1e-12);
    }
    setCheckpointing(undefined);
    const a = checkAdjoint(mod, 'mlp', { x, W, b, L, n });
    expect(a.ok, a.message).toBe(true);
    const t = checkTangent(mod, 'mlp', { x, W, b, L, n });
    expect(t.ok, t.message).toBe(true);
  });

  test('a heterogeneous chain (4 → 7 → 7 → 3) and a batch loop calling it: dot-product test', () => {
    const args = {
      x: arr(4),
      W1: arr(28),
      b1: arr(7),
      W2: arr(49),
      b2: arr(7),
      W3: arr(21),
      target: arr(3),
      nIn: 4,
      nHid: 7,
      nOut: 3,
    };
    expect(checkAdjoint(mod, 'chain', args).ok).toBe(true);
    expect(checkTangent(mod, 'chain', args).ok).toBe(true);
    const batch = {
      xs: arr(20),
      W1: args.W1,
      b1: args.b1,
      W2: args.W2,
      b2: args.b2,
      W3: args.W3,
      targets: arr(15),
      nIn: 4,
      nHid: 7,
      nOut: 3,
      B: 5,
    };
    const a = checkAdjoint(mod, 'batchLoss', batch);
    expect(a.ok, a.message).toBe(true);
  });
});

describe('a small CNN (fixtures/cnn): conv2d → ReLU → checkpointed conv+ReLU layers → pooling → dense → softmax CE', async () => {
  const mod = await fixture('cnn');
  const arr = random(3);
  const C0 = 2,
    C = 3,
    H = 10,
    W = 10,
    L = 12,
    classes = 4,
    label = 1;
  const P = C * ((H - 2) / 2) * ((W - 2) / 2);
  const inputs = {
    image: arr(C0 * H * W, 0, 1),
    w0: arr(C * C0 * 9),
    b0: arr(C, 0, 0.2),
    w: arr(L * C * C * 9, -0.4, 0.4),
    bias: arr(L * C, 0, 0.2),
    Wd: arr(classes * P),
    bd: arr(classes),
  };
  const call = (name: string) => {
    const g = Object.fromEntries(Object.entries(inputs).map(([k, v]) => [`${k}b`, new Float64Array(v.length)]));
    (mod[`${name}_b`] as Fn)(
      inputs.image.slice(),
      g.imageb,
      inputs.w0,
      g.w0b,
      inputs.b0,
      g.b0b,
      inputs.w,
      g.wb,
      inputs.bias,
      g.biasb,
      inputs.Wd,
      g.Wdb,
      inputs.bd,
      g.bdb,
      C0,
      C,
      H,
      W,
      L,
      classes,
      label,
      1,
    );
    return g;
  };

  test('gradients with 1, 3 and 6 slots equal storing every layer (rel. 1e-12)', () => {
    const ref = call('cnnAll');
    for (const c of [1, 3, 6]) {
      setCheckpointing({ slots: c }, 'cnn');
      const g = call('cnn');
      for (const k of Object.keys(ref)) expect(rel(g[k], ref[k]), `${k}, c = ${c}`).toBeLessThanOrEqual(1e-12);
      expect(lastCheckpointRun()!.stats.forwardSteps).toBe(binomialOptimum(L, c));
      expect(lastCheckpointRun()!.stats.peakSlots).toBeLessThanOrEqual(c);
    }
  });

  test('the loss: tangent (finite differences) and adjoint (dot product)', () => {
    const args = { ...inputs, C0, C, H, W, L, classes, label };
    const t = checkTangent(mod, 'cnn', args);
    expect(t.ok, t.message).toBe(true);
    const a = checkAdjoint(mod, 'cnn', args);
    expect(a.ok, a.message).toBe(true);
  });
});

describe('code around a checkpointed loop', () => {
  const src = (pragma: string) => `import type { f64, i32 } from 'parad';
/** @kernel */
export function step(next: Float64Array, u: Float64Array, kappa: f64, n: i32): void {
  // @parallel
  for (let i = 0; i < n; i++) next[i] = u[i] + kappa * Math.sin(u[i > 0 ? i - 1 : i]);
}
/** @kernel */
export function energy(u: Float64Array, w: Float64Array, n: i32): f64 {
  let s = 0;
  for (let i = 0; i < n; i++) s += w[i] * u[i] * u[i];
  return s;
}
/** @kernel */
export function twice(y: Float64Array, x: Float64Array, n: i32): void {
  // @parallel
  for (let i = 0; i < n; i++) y[i] = 2 * x[i];
}
/** @layer */
export function around(u: Float64Array, w: Float64Array, kappa: f64, n: i32, T: i32): f64 {
  const v = new Float64Array(n);
  let s = 0;
  s += energy(u, w, n);
  twice(v, u, n);
  s += energy(v, w, n);
  let a: Float64Array = u;
  let b: Float64Array = v;
  ${pragma}
  for (let t = 0; t < T; t++) {
    step(b, a, kappa, n);
    [a, b] = [b, a];
  }
  s += energy(a, w, n);
  return s;
}
`;
  test.each([1, 2, 3, 7, 12])(
    'the code before the loop reads what the loop overwrites (T = %i): checkpointed == stored, dot product',
    async (T) => {
      const ck = loadGenerated(
        (await compile(src('// @checkpoint slots=2'), { fileName: 'a.ts', format: 'js' })).code!,
      );
      const all = loadGenerated((await compile(src(''), { fileName: 'a.ts', format: 'js' })).code!);
      const arr = random(T);
      const args = { u: arr(6), w: arr(6, 0, 1), kappa: 0.4, n: 6, T };
      const run = (mod: GeneratedModule) => {
        const u = args.u.slice(),
          ub = Float64Array.from({ length: 6 }, (_, i) => Math.cos(i)),
          wb = new Float64Array(6);
        const { kappab } = (mod.around_b as Fn)(u, ub, args.w, wb, args.kappa, 6, T, 1.5) as { kappab: number };
        return { u, ub, kappab, wb };
      };
      const [x, y] = [run(ck), run(all)];
      expect(rel(x.ub, y.ub)).toBeLessThanOrEqual(1e-12);
      expect(rel(x.wb, y.wb)).toBeLessThanOrEqual(1e-12);
      expect(relNum(x.kappab, y.kappab)).toBeLessThanOrEqual(1e-12);
      expect(x.u).toEqual(y.u);
      const a = checkAdjoint(ck, 'around', args);
      expect(a.ok, a.message).toBe(true);
    },
  );
});

describe('a chain of unequal steps: // @checkpoint cost=…', () => {
  // fixtures/mlp's stack of dense layers, with another pragma
  const mlp = fs.readFileSync(path.join(root, 'fixtures/mlp/mlp.ts'), 'utf8');
  const src = (pragma: string) => mlp.replace('// @checkpoint slots=2', pragma);
  const loopLine = mlp.split('\n').findIndex((l) => l.includes('@checkpoint')) + 2;
  test("the schedule is the dynamic program's for the costs, no costlier than the binomial one; gradients equal store-all", async () => {
    const mod = loadGenerated(
      (
        await compile(src('// @checkpoint slots=3 cost=(l % 4) * 5 + 1'), {
          fileName: 'fixtures/mlp/mlp.ts',
          format: 'js',
        })
      ).code!,
    );
    const all = loadGenerated((await compile(src(''), { fileName: 'fixtures/mlp/mlp.ts', format: 'js' })).code!);
    const L = 14,
      n = 4,
      arr = random(21);
    const x = arr(n),
      W = arr(L * n * n, -0.7, 0.7),
      b = arr(L * n),
      xb = arr(n);
    const grad = (m: GeneratedModule) => {
      const g = { x: x.slice(), xb: xb.slice(), Wb: new Float64Array(W.length), bb: new Float64Array(b.length) };
      (m.mlp_b as Fn)(g.x, g.xb, W, g.Wb, b, g.bb, L, n);
      return g;
    };
    const [g, ref] = [grad(mod), grad(all)];
    for (const k of ['xb', 'Wb', 'bb'] as const) expect(rel(g[k], ref[k])).toBeLessThanOrEqual(1e-12);
    const forwardCost = Array.from({ length: L }, (_, l) => (l % 4) * 5 + 1);
    const run = lastCheckpointRun()!;
    expect(run.schedule).toEqual(checkpointSchedule({ forwardCost }, 3));
    // the forward work the run did, weighted by the costs, is the optimum of the schedule
    const work = (actions: typeof run.schedule.actions) =>
      actions.reduce(
        (w, a) => w + (a.kind === 'forward' ? forwardCost.slice(a.from, a.to).reduce((x, y) => x + y, 0) : 0),
        0,
      );
    expect(work(run.schedule.actions)).toBe(run.schedule.cost);
    expect(run.schedule.cost).toBeLessThanOrEqual(work(checkpointSchedule(L, 3).actions));
    expect(run.schedule.cost).toBeLessThan(work(checkpointSchedule(L, 3).actions));
    expect(checkAdjoint(mod, 'mlp', { x, W, b, L, n }).ok).toBe(true);
  });

  test('a cost that is not a value of the loop is an error at the loop', async () => {
    const r = await compile(src('// @checkpoint cost=x[l]'), { fileName: 'fixtures/mlp/mlp.ts' });
    expect(r.code).toBeUndefined();
    expect(r.diagnostics.map((d) => `${d.code} ${d.line} ${d.message}`)).toEqual([
      expect.stringMatching(
        new RegExp(`^PARAD1410 ${loopLine} @checkpoint cost=x\\[l\\]: layers cannot read array elements`),
      ),
    ]);
  });
});

describe('if statements in layers', () => {
  const src = (pragma: string) => `import type { f64, i32 } from 'parad';
/** @kernel */
export function step(next: Float64Array, u: Float64Array, kappa: f64, n: i32): void {
  // @parallel
  for (let i = 0; i < n; i++) next[i] = u[i] + kappa * Math.sin(u[i > 0 ? i - 1 : i]);
}
/** @kernel */
export function energy(u: Float64Array, n: i32): f64 {
  let s = 0;
  for (let i = 0; i < n; i++) s += u[i] * u[i];
  return s;
}
/** Every third state is observed; a warm-up only for long runs. @layer */
export function observed(u: Float64Array, kappa: f64, n: i32, T: i32): f64 {
  const v = new Float64Array(n);
  let a: Float64Array = u;
  let b: Float64Array = v;
  let total = 0;
  if (T > 4) {
    // @checkpoint slots=2
    for (let w = 0; w < 3; w++) {
      step(b, a, kappa, n);
      [a, b] = [b, a];
    }
  }
  ${pragma}
  for (let t = 0; t < T; t++) {
    step(b, a, kappa, n);
    [a, b] = [b, a];
    if (t % 3 === 0) {
      total += energy(a, n) / 3;
    } else {
      const m = t * 2;
      step(b, a, kappa, n - (m % 4) / 2);
      [a, b] = [b, a];
    }
  }
  return total;
}
`;
  test.each([3, 8, 13])(
    'T = %i: checkpointed == stored, dot product, and on the reverse sweep the same branches',
    async (T) => {
      const ck = loadGenerated(
        (await compile(src('// @checkpoint slots=3'), { fileName: 'o.ts', format: 'js' })).code!,
      );
      const all = loadGenerated((await compile(src(''), { fileName: 'o.ts', format: 'js' })).code!);
      const arr = random(T + 1);
      const u = arr(7, 0, 1);
      const run = (m: GeneratedModule) => {
        const x = u.slice(),
          xb = Float64Array.from({ length: 7 }, (_, i) => Math.cos(i));
        const { kappab } = (m.observed_b as Fn)(x, xb, 0.3, 7, T, 1.25) as { kappab: number };
        return { x, xb, kappab };
      };
      const [p, q] = [run(ck), run(all)];
      expect(rel(p.xb, q.xb)).toBeLessThanOrEqual(1e-12);
      expect(relNum(p.kappab, q.kappab)).toBeLessThanOrEqual(1e-12);
      expect(p.x).toEqual(q.x);
      const a = checkAdjoint(ck, 'observed', { u, kappa: 0.3, n: 7, T });
      expect(a.ok, a.message).toBe(true);
      expect(checkTangent(ck, 'observed', { u, kappa: 0.3, n: 7, T }).ok).toBe(true);
    },
  );

  test('a scratch array or an alias declared in a branch is an error', async () => {
    const r = await compile(src('').replace('  if (T > 4) {', '  if (T > 4) {\n    const h = new Float64Array(n);'), {
      fileName: 'o.ts',
    });
    expect(r.diagnostics.map((d) => `${d.code} ${d.message}`)).toContainEqual(
      expect.stringMatching(/^PARAD1405 declare scratch arrays outside if statements/),
    );
  });
});

describe('layers importing kernel files', () => {
  const kernels = `import type { f64, i32 } from 'parad';
/** @kernel */
export function scale(y: Float64Array, x: Float64Array, a: f64, n: i32): void {
  // @parallel
  for (let i = 0; i < n; i++) y[i] = a * x[i];
}
/** @kernel */
export function total(x: Float64Array, n: i32): f64 {
  let s = 0;
  for (let i = 0; i < n; i++) s += x[i];
  return s;
}
`;
  const layer = `import type { f64, i32 } from 'parad';
import { scale, total } from './ops.kernel.js';
/** @layer */
export function twice(x: Float64Array, a: f64, n: i32): f64 {
  const y = new Float64Array(n);
  scale(y, x, a, n);
  scale(x, y, a, n);
  return total(x, n);
}
`;
  const files: Record<string, string> = { '/src/ops.kernel.ts': kernels };
  const resolveImport = (spec: string, from: string) => {
    const f = path.posix.resolve(path.posix.dirname(from), spec).replace(/\.js$/, '.ts');
    return files[f] ? { fileName: f, source: files[f] } : undefined;
  };

  test('the imported kernels are compiled into the module, module-local; it imports only parad', async () => {
    const r = await compile(layer, { fileName: '/src/model.ts', format: 'js', resolveImport });
    expect(r.diagnostics).toEqual([]);
    expect(r.kernels.map((k) => [k.name, k.kind])).toEqual([['twice', 'layer']]);
    for (const imp of r.code!.match(/^import .*$/gm) ?? []) expect(imp).toMatch(/from 'parad';$/);
    expect(r.code).not.toMatch(/from '\.\/ops/);
    expect(r.code).toMatch(/^function scale_b\(/m);
    expect(r.code).toMatch(/^export function twice_b\(/m);
    const mod = loadGenerated(r.code!);
    expect(Object.keys(mod).sort()).toEqual(['__parad', 'twice', 'twice_b', 'twice_d']);
    const x = Float64Array.from([1, 2, 3]);
    expect(checkAdjoint(mod, 'twice', { x, a: 0.7, n: 3 }).ok).toBe(true);
    expect(checkTangent(mod, 'twice', { x, a: 0.7, n: 3 }).ok).toBe(true);
    // d/da of a² Σx = 2a Σx
    const { ab } = (mod.twice_b as Fn)(x.slice(), new Float64Array(3), 0.7, 3, 1) as { ab: number };
    expect(ab).toBeCloseTo(2 * 0.7 * 6, 12);
  });

  test('an imported kernel whose @parallel loop is not parallel is an error in its file, the import a second location', async () => {
    files['/src/race.kernel.ts'] =
      'import type { i32 } from "parad";\n/** @kernel */\nexport function race(y: Float64Array, x: Float64Array, n: i32): void {\n  // @parallel\n  for (let i = 0; i < n; i++) y[0] = x[i];\n}\n';
    const r = await compile(
      `import { race } from './race.kernel.js';\n/** @layer */\nexport function L(y: Float64Array, x: Float64Array): void {\n  race(y, x, 3);\n}\n`,
      { fileName: '/src/m.ts', resolveImport },
    );
    expect(r.code).toBeUndefined();
    expect(r.diagnostics.map((d) => `${d.code} ${d.file}:${d.line}:${d.column} ${d.message}`)).toEqual([
      expect.stringMatching(
        /^PARAD2001 \/src\/race\.kernel\.ts:5:3 this @parallel loop of 'race' is not parallel: iterations/,
      ),
    ]);
    expect(r.diagnostics[0].related).toEqual([
      expect.objectContaining({ file: '/src/m.ts', line: 1, column: 10, message: 'imported here' }),
    ]);
  });

  test('an imported file with errors, and a name that is not a kernel', async () => {
    files['/src/bad.kernel.ts'] =
      'import type { i32 } from "parad";\n/** @kernel */\nexport function bad(x: Float64Array, n: i32): void {\n  while (n) {}\n}\n';
    const r = await compile(
      `import { bad } from './bad.kernel.js';\nimport { helper } from './util.js';\n/** @layer */\nexport function L(x: Float64Array): void {\n  bad(x, 3);\n  helper(x);\n}\n`,
      { fileName: '/src/m.ts', resolveImport },
    );
    expect(r.code).toBeUndefined();
    const msgs = r.diagnostics.map((d) => `${d.code} ${d.line}:${d.column} ${d.message}`);
    // the imported file's error in its own file, the import its second location
    const bad = r.diagnostics.find((d) => d.file === '/src/bad.kernel.ts');
    expect(bad).toMatchObject({
      code: 'PARAD1101',
      line: 4,
      column: 3,
      related: [{ file: '/src/m.ts', line: 1, column: 10, message: 'imported here' }],
    });
    expect(bad!.message).toMatch(/^a while loop is not supported/);
    expect(msgs).toContainEqual(expect.stringMatching(/^PARAD1402 6:3 'helper' is not a kernel or layer/));
  });
});

test("examples/heat.ts (the README's layer) compiles cleanly and its adjoint follows the 10-slot schedule", async () => {
  const source = fs.readFileSync(path.join(root, 'examples/heat.ts'), 'utf8');
  const r = await compile(source, { fileName: 'examples/heat.ts', format: 'js' });
  expect(r.diagnostics).toEqual([]);
  const mod = loadGenerated(r.code!);
  const arr = random(2);
  const args = { u: arr(20, 0, 1), w: arr(20, 0, 1), kappa: 0.25, n: 20, T: 200 };
  expect(checkAdjoint(mod, 'heat', args).ok).toBe(true);
  expect(lastCheckpointRun()).toMatchObject({
    layer: 'heat',
    slots: 10,
    stats: { forwardSteps: binomialOptimum(200, 10) },
  });
});

test('with target wgsl a layer passing a float local to a kernel runs in JavaScript only (PARAD3004); the others get WebGPU variants', async () => {
  const src = `import type { f32, i32 } from 'parad';
/** @kernel */
export function total(x: Float32Array, n: i32): f32 {
  let s = 0;
  for (let i = 0; i < n; i++) s += x[i];
  return s;
}
/** @kernel */
export function scale(y: Float32Array, x: Float32Array, a: f32, n: i32): void {
  // @parallel
  for (let i = 0; i < n; i++) y[i] = a * x[i];
}
/** @layer */
export function host(y: Float32Array, x: Float32Array, n: i32): void {
  const s = total(x, n);
  scale(y, x, s, n);
}
/** @layer */
export function device(y: Float32Array, x: Float32Array, a: f32, n: i32): f32 {
  scale(y, x, a, n);
  return total(y, n);
}
`;
  const r = await compile(src, { fileName: 'g.ts', targets: ['ts', 'wgsl'] });
  expect(r.code).toBeDefined();
  expect(r.diagnostics.filter((d) => d.code === 'PARAD3004').map((d) => `${d.line} ${d.message}`)).toEqual([
    "14 layer 'host' runs in JavaScript only: it passes the float local 's' to 'scale' (on the GPU a call's value stays on the device)",
  ]);
  const mod = loadGenerated((await compile(src, { fileName: 'g.ts', targets: ['ts', 'wgsl'], format: 'js' })).code!);
  expect(Object.keys((mod.wgsl as { layers: object }).layers)).toEqual(['device']);
});

test("a layer's WebGPU variant is its JavaScript functions lowered: the floats calls return are summed with add and scaled with scaled, nothing else changes", async () => {
  const src = `import type { f32, i32 } from 'parad';
/** @kernel */
export function sumsq(x: Float32Array, n: i32): f32 {
  let s = 0;
  for (let i = 0; i < n; i++) s += x[i] * x[i];
  return s;
}
/** @kernel */
export function axpy(y: Float32Array, x: Float32Array, a: f32, n: i32): void {
  // @parallel
  for (let i = 0; i < n; i++) y[i] += a * x[i];
}
/** @layer */
export function dev(y: Float32Array, x: Float32Array, a: f32, n: i32): f32 {
  let total = 0;
  axpy(y, x, a, n);
  total += 0.5 * sumsq(y, n);
  total += sumsq(x, n) / 4;
  total += -sumsq(y, n);
  return total;
}
`;
  const code = (await compile(src, { fileName: 'g.ts', targets: ['ts', 'wgsl'] })).code!;
  const lines = code.split('\n');
  /** the trimmed lines of the function whose header line starts with `head`, up to its closing brace */
  const body = (head: string, end: string) => {
    const from = lines.findIndex((l) => l.trimStart().startsWith(head));
    expect(from, head).toBeGreaterThan(-1);
    const to = lines.findIndex((l, i) => i > from && l === end);
    return lines.slice(from + 1, to).map((l) => l.trim());
  };
  /** the lines where the WebGPU variant differs from JavaScript, as `js => gpu` */
  const changed = (name: string) => {
    const [js, gpu] = [body(`export function ${name}(`, '}'), body(`return function ${name}(`, '        };')];
    expect(gpu.length).toBe(js.length);
    return js.flatMap((l, i) => (l === gpu[i] ? [] : [`${l} => ${gpu[i]}`]));
  };
  expect(changed('dev_d')).toEqual([
    'total += 0.5 * _v1; => total = add(total, scaled(0.5, _v1));',
    'totald += 0.5 * _v2; => totald = add(totald, scaled(0.5, _v2));',
    'total += _v3 / 4; => total = add(total, scaled(1 / 4, _v3));',
    'totald += _v4 / 4; => totald = add(totald, scaled(1 / 4, _v4));',
    'total += -_v5; => total = add(total, scaled(-1, _v5));',
    'totald += -_v6; => totald = add(totald, scaled(-1, _v6));',
  ]);
  // the seeds of the callees' _b are host numbers (the adjoint of the returned float): not lowered
  expect(changed('dev_b')).toEqual([
    'total += 0.5 * sumsq(y, n); => total = add(total, scaled(0.5, sumsq(y, n)));',
    'total += sumsq(x, n) / 4; => total = add(total, scaled(1 / 4, sumsq(x, n)));',
    'total += -sumsq(y, n); => total = add(total, scaled(-1, sumsq(y, n)));',
    'ab += _r1.ab; => ab = add(ab, _r1.ab);',
  ]);
  expect(body('return function dev(', '        };').filter((l) => l.includes('add('))).toEqual([
    'total = add(total, scaled(0.5, sumsq(y, n)));',
    'total = add(total, scaled(1 / 4, sumsq(x, n)));',
    'total = add(total, scaled(-1, sumsq(y, n)));',
  ]);
});

describe('layer diagnostics', () => {
  const head = `import type { f64, i32 } from 'parad';
/** @kernel */
export function step(y: Float64Array, x: Float64Array, n: i32): void {
  // @parallel
  for (let i = 0; i < n; i++) y[i] = 2 * x[i];
}
/** @kernel */
export function sum(x: Float64Array, n: i32): f64 {
  let s = 0;
  for (let i = 0; i < n; i++) s += x[i];
  return s;
}
`;
  const cases: [string, string, RegExp][] = [
    [
      'swapping a parameter',
      'export function L(u: Float64Array, v: Float64Array, n: i32): void {\n  [u, v] = [v, u];\n}',
      /PARAD1406 .*cannot swap parameter 'u'/,
    ],
    [
      'reading an element',
      'export function L(u: Float64Array, n: i32): void {\n  const k = u[0];\n  step(u, u, k);\n}',
      /PARAD1404 .*cannot read array elements/,
    ],
    [
      'arithmetic on an active float',
      'export function L(u: Float64Array, n: i32): f64 {\n  let s = 0;\n  s = sum(u, n);\n  return s * 2;\n}',
      /PARAD1407 .*return a float local or a call/,
    ],
    [
      'two calls summed in one statement',
      'export function L(u: Float64Array, n: i32): f64 {\n  let s = 0;\n  s = sum(u, n) + sum(u, n);\n  return s;\n}',
      /PARAD1407 .*holds a call's value, times a value at most/,
    ],
    [
      'returning a void kernel',
      'export function L(u: Float64Array, n: i32): f64 {\n  return step(u, u, n);\n}',
      /PARAD1402 .*'step' returns nothing/,
    ],
    [
      'a wrong argument count',
      'export function L(u: Float64Array, n: i32): void {\n  step(u, n);\n}',
      /PARAD1207 .*'step' takes 3 arguments, got 2/,
    ],
    [
      'a mismatched array type',
      'export function L(u: Float32Array, n: i32): void {\n  step(u, u, n);\n}',
      /PARAD1403 .*parameter 'y' of 'step' is a Float64Array; 'u' is a Float32Array/,
    ],
    [
      'an unknown @checkpoint option',
      'export function L(u: Float64Array, n: i32): void {\n  // @checkpoint every=3\n  for (let t = 0; t < n; t++) step(u, u, n);\n}',
      /PARAD1410 .*unknown @checkpoint option 'every=3'/,
    ],
    [
      'a while loop',
      'export function L(u: Float64Array, n: i32): void {\n  while (n > 0) step(u, u, n);\n}',
      /PARAD1401 .*not supported in layers/,
    ],
    ['recursion', 'export function L(u: Float64Array, n: i32): void {\n  L(u, n);\n}', /PARAD1409 .*'L' calls itself/],
    [
      'swapping an array declared in a loop',
      'export function L(u: Float64Array, n: i32): void {\n  let a: Float64Array = u;\n  for (let t = 0; t < n; t++) {\n    const b = new Float64Array(n);\n    [a, b] = [b, a];\n  }\n}',
      /PARAD1406 .*cannot swap 'b', declared inside a loop/,
    ],
  ];
  test.each(cases)('%s', async (_name, body, expected) => {
    const src = `${head}/** @layer */\n${body}\n`;
    const r = await compile(src, { fileName: 'layer.ts' });
    expect(r.code).toBeUndefined();
    const text = r.diagnostics.map((d) => `${d.code} ${d.line}:${d.column} ${d.message}`).join('\n');
    expect(text).toMatch(expected);
    // located in the layer, with a code frame
    for (const d of r.diagnostics) expect(d.line).toBeGreaterThan(13);
    expect(formatDiagnostic(r.diagnostics[0], src)).toMatch(/^layer\.ts:\d+:\d+ - error PARAD\d{4}: [^\n]+\n.*\| /);
  });
});
