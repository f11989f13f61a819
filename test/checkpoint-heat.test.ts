/**
 * Checkpointing with generated adjoints (the building block of issue 7's `@layer` adjoints): the
 * time-stepped heat equation of fixtures/heat, reversed step by step through runCheckpointed with
 * the generated one-step heat / heat_b, equals the generated whole-loop heat_b (f64, 1e-12), for
 * T = 1000 and several slot counts, recomputing exactly what the schedule says and never holding
 * more than c states.
 */
import { describe, expect, test } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { compileAndLoad } from './support/load.js';
import { arraySlots, checkpointSchedule, runCheckpointed } from '../runtime/index.js';

type Heat = (u: Float64Array, tmp: Float64Array, kappa: number, n: number, T: number) => void;
type HeatB = (
  u: Float64Array,
  ub: Float64Array,
  tmp: Float64Array,
  tmpb: Float64Array,
  kappa: number,
  n: number,
  T: number,
) => { kappab: number };

const rel = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let scale = 1e-300,
    err = 0;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]));
  for (let i = 0; i < b.length; i++) err = Math.max(err, Math.abs(a[i] - b[i]) / scale);
  return err;
};

describe('checkpointed heat equation with the generated heat_b', async () => {
  const mod = await compileAndLoad(
    fs.readFileSync(path.resolve(import.meta.dirname, '../fixtures/heat/heat.ts'), 'utf8'),
    { fileName: 'heat.ts' },
  );
  const heat = mod.heat as Heat,
    heatB = mod.heat_b as HeatB;
  const n = 40,
    T = 1000,
    kappa = 0.2;
  const u0 = Float64Array.from({ length: n }, (_, i) => Math.sin((Math.PI * i) / (n - 1)) + 0.1 * Math.cos(7 * i));
  const seed = Float64Array.from({ length: n }, (_, i) => Math.cos(i / 3));

  // store-all: the generated adjoint of the whole time loop
  const ref = { u: u0.slice(), ub: seed.slice(), tmp: new Float64Array(n), tmpb: new Float64Array(n) };
  const { kappab: refKappab } = heatB(ref.u, ref.ub, ref.tmp, ref.tmpb, kappa, n, T);

  test.each([2, 5, 10, 40])('c = %i slots', (c) => {
    const u = u0.slice(),
      tmp = new Float64Array(n);
    const ub = seed.slice(),
      tmpb = new Float64Array(n);
    let kappab = 0;
    const schedule = checkpointSchedule(T, c);
    const stats = runCheckpointed(schedule, {
      ...arraySlots([u, tmp]),
      forward: () => heat(u, tmp, kappa, n, 1),
      reverse: () => void (kappab += heatB(u, ub, tmp, tmpb, kappa, n, 1).kappab),
    });
    expect(rel(ub, ref.ub)).toBeLessThanOrEqual(1e-12);
    expect(rel(tmpb, ref.tmpb)).toBeLessThanOrEqual(1e-12);
    expect(Math.abs(kappab - refKappab) / Math.abs(refKappab)).toBeLessThanOrEqual(1e-12);
    expect(stats.reverseSteps).toBe(T);
    expect(stats.forwardSteps).toBe(schedule.forwardSteps);
    expect(stats.peakSlots).toBeLessThanOrEqual(c);
  });
});
