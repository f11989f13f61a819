/**
 * The IR of layer functions (transformer/differentiate/layer-*.ts) holds no source text: the
 * generic walkers of ir/walk.ts see every call, read and callback of `L_b` (a checkpointed loop's
 * callbacks included), the expression walker every operand of the layer runtime's calls, and the
 * WebGPU lowering (lower/gpu/layers.ts) changes only the float arithmetic on the values of calls.
 */
import { expect, test } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { frontEnd } from '../transformer/compile.js';
import { DiagnosticSink } from '../transformer/diagnostics.js';
import { layerContext } from '../transformer/differentiate/layer-common.js';
import { layerAdjoint, layerPrimal } from '../transformer/differentiate/layer-adjoint.js';
import { layerTangent } from '../transformer/differentiate/layer-tangent.js';
import { lowerLayerForGpu } from '../transformer/lower/gpu/layers.js';
import { childBlocks, closuresOf, forEachStmt, ownExprs, readsOfStmts, writesOf } from '../transformer/ir/walk.js';
import { walkExpr } from '../transformer/ir/build.js';
import { printStmts } from '../transformer/emit/print.js';
import type { Expr, Stmt } from '../transformer/ir/types.js';
import type { FunctionIR } from '../transformer/differentiate/function.js';

const fileName = 'fixtures/timestep/timestep.ts';
const source = fs.readFileSync(path.resolve(import.meta.dirname, '..', fileName), 'utf8');
const file = frontEnd(source, fileName, new DiagnosticSink(fileName, source));
const layer = (name: string) => file.layers.find((l) => l.name === name)!;
const functionsOf = (name: string) => {
  const ctx = layerContext(layer(name), file, fileName);
  return { d: layerTangent(ctx), b: layerAdjoint(ctx), primal: layerPrimal(layerContext(layer(name), file, fileName)) };
};

/** every expression of a function, nested statements and callbacks included */
const exprs = (body: Stmt[]): Expr[] => {
  const out: Expr[] = [];
  forEachStmt(body, (s) => {
    for (const e of ownExprs(s)) walkExpr(e, (x) => out.push(x));
  });
  return out;
};
const calls = (f: FunctionIR) => exprs(f.body).flatMap((e) => (e.k === 'apply' ? [e.fn] : []));

test("the walkers reach into a checkpointed loop's callbacks: every call of heatObserved_b", () => {
  const { b } = functionsOf('heatObserved');
  const ck = b.body.find((s) => s.k === 'decl' && s.init.k === 'runtime' && s.init.call.fn === 'checkpointLoop')!;
  expect(ck).toBeDefined();
  // save, restore, forward, reverse, free
  expect(childBlocks(ck)).toHaveLength(5);
  expect(closuresOf((ck as Stmt & { k: 'decl' }).init).map((c) => c.params.map((p) => p.name))).toEqual([
    ['_slot1'],
    ['_slot1'],
    ['_step1'],
    ['_step1'],
    ['_slot1'],
  ]);
  // the forward callback's primal calls, the reverse callback's forward sweep and _b calls
  expect(calls(b).sort()).toEqual(['energy', 'energy', 'energy_b', 'heatStep', 'heatStep', 'heatStep_b']);
  const reads = readsOfStmts(b.body);
  // the step's local stack and the slots array are named by the runtime calls that use them
  for (const name of ['_saved2', '_slots1', '_c1', 'total', 'kappa', 'w']) expect(reads).toContain(name);
  const writes = writesOf(b.body);
  // swaps and the returned pair are destructurings; `let a!: …` declarations
  for (const name of ['a', 'b', 'ab', 'bb', 'tmp', 'total', 't']) expect(writes).toContain(name);
});

test('the WebGPU lowering rewrites the float arithmetic on call values only', () => {
  // heatObserved's `total += energy(a, w, n) / T` (in the primal; in L_b's forward and reverse
  // callbacks), the pair L_d's call returns; the scalar adjoints the callees' _b return
  const kappab = ['kappab = add(kappab, _r1.kappab);'];
  const c2b = ['c2b = add(c2b, _r1.c2b);'];
  const expected: Record<string, string[]> = {
    heatRun_b: kappab,
    heatRunAll_b: kappab,
    waveRun_b: c2b,
    waveRunAll_b: c2b,
    heatObserved: ['total = add(total, scaled(1 / T, energy(a, w, n)));'],
    heatObserved_d: ['total = add(total, scaled(1 / T, _v1));', 'totald = add(totald, scaled(1 / T, _v2));'],
    heatObserved_b: [
      'total = add(total, scaled(1 / T, energy(a, w, n)));',
      'total = add(total, scaled(1 / T, energy(a, w, n)));',
      ...kappab,
    ],
  };
  for (const name of ['heatRun', 'heatRunAll', 'waveRun', 'waveRunAll', 'heatObserved']) {
    const { primal, d, b } = functionsOf(name);
    for (const f of [primal, d, b]) {
      const js = printStmts(f.body, 0, { fileName }).split('\n');
      const gpu = printStmts(lowerLayerForGpu(f).body, 0, { fileName }).split('\n');
      expect(gpu).toHaveLength(js.length);
      const changed = gpu.filter((l, i) => l !== js[i]).map((l) => l.trim());
      expect(changed, f.name).toEqual(expected[f.name] ?? []);
    }
  }
});
