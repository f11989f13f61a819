// Generated K_b against hand-written primal + adjoint (+ reset of the output adjoint: the same
// contract) on stencil1d (3-point), jacobi2d (5-point 2-D), conv2d and dense, in one process,
// interleaved repetitions, medians. The generated adjoint in both JavaScript schedules (sequential,
// the default: plain `xb[…] +=` updates; parallel: the gathers/reductions a parallel target needs),
// the hand-written adjoint in its gather form (the reference of the goal) and its scatter form.
import { arr, compileModule, differs, mark, mismatch, ms, random, seeds, table, timeInterleaved } from './common.mjs';
import * as hand from './handwritten.mjs';

export const GOAL_HAND = 1.1;
export const GOAL_ADJ = 2.5;

// the benchmarked kernels are fixtures (their derivatives are checked numerically by the tests)
const KERNELS = {
  stencil1d: ['fixtures/stencil1d/stencil1d.ts', 'stencil3'],
  jacobi2d: ['fixtures/stencil2d/stencil2d.ts', 'laplace5'],
  conv2d: ['fixtures/conv2d/conv2d.ts', 'conv2d'],
  dense: ['fixtures/dense/dense.ts', 'dense'],
};
export { KERNELS as HAND_KERNELS };

/** Each case: its named arrays (a fresh copy per variant), and the calls with the same contract. */
function cases(gen) {
  const rnd = random(42);
  return [
    (() => {
      const n = 1 << 20,
        u = arr(rnd, n),
        w = arr(rnd, 3);
      const state = () => ({
        out: new Float64Array(n),
        outb: seeds(n),
        ub: new Float64Array(n),
        wb: new Float64Array(3),
      });
      return {
        name: 'stencil1d n=2^20',
        state,
        primal: (s) => gen.stencil1d.K(s.out, u, w, n),
        generated: (s) => gen.stencil1d.K_b(s.out, s.outb, u, s.ub, w, s.wb, n),
        parallel: (s) => gen.stencil1d.K_b_parallel(s.out, s.outb, u, s.ub, w, s.wb, n),
        gather: (s) => hand.stencil1d_b_gather(s.out, s.outb, u, s.ub, w, s.wb, n),
        scatter: (s) => hand.stencil1d_b(s.out, s.outb, u, s.ub, w, s.wb, n),
      };
    })(),
    (() => {
      const H = 512,
        W = 512,
        N = H * W,
        u = arr(rnd, N),
        c = 0.1;
      const state = () => ({ out: new Float64Array(N), outb: seeds(N), ub: new Float64Array(N) });
      return {
        name: 'jacobi2d 512×512',
        state,
        primal: (s) => gen.jacobi2d.K(s.out, u, c, H, W),
        generated: (s) => gen.jacobi2d.K_b(s.out, s.outb, u, s.ub, c, H, W),
        parallel: (s) => gen.jacobi2d.K_b_parallel(s.out, s.outb, u, s.ub, c, H, W),
        gather: (s) => hand.stencil2d_b_gather(s.out, s.outb, u, s.ub, c, H, W),
        scatter: (s) => hand.stencil2d_b(s.out, s.outb, u, s.ub, c, H, W),
      };
    })(),
    (() => {
      const C = 8,
        H = 64,
        W = 64,
        F = 8,
        K = 3,
        OH = H - K + 1,
        OW = W - K + 1;
      const inp = arr(rnd, C * H * W),
        w = arr(rnd, F * C * K * K),
        bias = arr(rnd, F);
      const state = () => ({
        out: new Float64Array(F * OH * OW),
        outb: seeds(F * OH * OW),
        inpb: new Float64Array(inp.length),
        wb: new Float64Array(w.length),
        biasb: new Float64Array(F),
      });
      const args = (s) => [s.out, s.outb, inp, s.inpb, w, s.wb, bias, s.biasb, C, H, W, F, K];
      return {
        name: 'conv2d C=8 64×64 F=8 K=3',
        state,
        primal: (s) => gen.conv2d.K(s.out, inp, w, bias, C, H, W, F, K),
        generated: (s) => gen.conv2d.K_b(...args(s)),
        parallel: (s) => gen.conv2d.K_b_parallel(...args(s)),
        gather: (s) => hand.conv2d_b_gather(...args(s)),
        scatter: (s) => hand.conv2d_b(...args(s)),
      };
    })(),
    (() => {
      const nOut = 512,
        nIn = 512,
        Wm = arr(rnd, nOut * nIn),
        x = arr(rnd, nIn),
        b = arr(rnd, nOut);
      const state = () => ({
        y: new Float64Array(nOut),
        yb: seeds(nOut),
        Wb: new Float64Array(nOut * nIn),
        xb: new Float64Array(nIn),
        bb: new Float64Array(nOut),
      });
      const args = (s) => [s.y, s.yb, Wm, s.Wb, x, s.xb, b, s.bb, nOut, nIn];
      return {
        name: 'dense 512×512 + tanh',
        state,
        primal: (s) => gen.dense.K(s.y, Wm, x, b, nOut, nIn),
        generated: (s) => gen.dense.K_b(...args(s)),
        parallel: (s) => gen.dense.K_b_parallel(...args(s)),
        gather: (s) => hand.dense_b_gather(...args(s)),
        scatter: (s) => hand.dense_b(...args(s)),
      };
    })(),
  ];
}

const VARIANTS = ['primal', 'generated', 'parallel', 'gather', 'scatter'];

/** Runs the section; returns its markdown table (with a title line). */
export async function runHand() {
  const gen = {};
  for (const [alias, [file, kernel]] of Object.entries(KERNELS)) {
    const { mod } = await compileModule(file);
    const { mod: par } = await compileModule(file, { schedule: 'parallel' }, '.parallel');
    gen[alias] = { K: mod[kernel], K_b: mod[`${kernel}_b`], K_b_parallel: par[`${kernel}_b`] };
  }
  const rows = [];
  for (const c of cases(gen)) {
    // the adjoints must agree (adjoints, returned scalar adjoints, primal outputs, reset seeds) before
    // their times mean anything
    const runs = Object.fromEntries(
      ['generated', 'parallel', 'gather', 'scatter'].map((k) => {
        const s = c.state();
        return [k, { s, r: c[k](s) ?? {} }];
      }),
    );
    for (const k of ['parallel', 'gather', 'scatter']) {
      const bad = differs(runs.generated.s, runs.generated.r, runs[k].s, runs[k].r);
      if (bad)
        mismatch(
          `${c.name}: the generated adjoint and the ${k === 'parallel' ? 'generated parallel-schedule' : `hand-written ${k}`} adjoint differ in ${bad}`,
        );
    }
    const fresh = c.state();
    const variants = Object.fromEntries(
      VARIANTS.map((k) => [
        k,
        {
          state: c.state,
          reset: (s) => {
            for (const [key, v] of Object.entries(fresh)) s[key].set(v);
          },
          run: c[k],
        },
      ]),
    );
    const t = await timeInterleaved(variants);
    rows.push([
      c.name,
      ms(t.primal),
      ms(t.generated),
      ms(t.parallel),
      ms(t.gather),
      ms(t.scatter),
      mark(t.generated / t.gather, GOAL_HAND),
      (t.generated / t.scatter).toFixed(2),
      (t.parallel / t.gather).toFixed(2),
      mark(t.generated / t.primal, GOAL_ADJ),
      (t.gather / t.primal).toFixed(2),
      String(t.reps),
    ]);
  }
  const head = [
    'kernel',
    'primal ms',
    'K_b ms',
    'K_b parallel ms',
    'hand gather ms',
    'hand scatter ms',
    `K_b / hand gather (goal <= ${GOAL_HAND})`,
    'K_b / hand scatter',
    'parallel / hand gather',
    `K_b / primal (goal <= ${GOAL_ADJ})`,
    'hand gather / primal',
    'reps',
  ];
  return [
    '### Generated adjoint vs hand-written',
    '',
    "K_b = generated adjoint, default (sequential) JavaScript schedule; K_b parallel = `schedule: 'parallel'`;",
    'hand gather / hand scatter = bench/handwritten.mjs; all run the primal and reset the output adjoint.',
    '',
    table(head, rows),
  ].join('\n');
}
