/**
 * What the adjoint of a layer saves around each call (a side table, printed in the `L_b` comment).
 *
 * The reverse sweep calls the callee's `_b` with the call's inputs and it leaves the call's outputs.
 * An array the call writes therefore needs its value from before the call
 *  - `before` the `_b`, if the callee also reads it (an update in place), and
 *  - `after` it, if a statement the reverse sweep reaches later (one before the call) reads it;
 *    in a stored (not checkpointed) loop every iteration's predecessor does, so always.
 * Neither: no copy. In a checkpointed step (whose state the schedule restores before every reverse
 * step), a call with neither whose outputs nothing after it in the step reads is not even run in
 * the forward sweep (`skip`): its `_b` computes them.
 */
import type { Callee, Layer, LStmt } from '../ir/layer.js';
import { forEachLStmt } from '../ir/layer.js';
import { bufferGroups, readArrays, writtenArrays } from '../ir/lower-layer.js';

export interface CallPlan {
  /** arrays the forward sweep copies before the call */
  save: string[];
  /** restored before the callee's `_b` */
  before: string[];
  /** restored after it */
  after: string[];
  /** the forward sweep does not run the call */
  skip: boolean;
}

type Context = 'top' | 'loop' | 'step';

export function planLayerSaves(layer: Layer, callees: Map<string, Callee>): Map<LStmt, CallPlan> {
  const groups = bufferGroups(layer);
  const plans = new Map<LStmt, CallPlan>();
  const readsOf = (stmts: LStmt[]) => {
    const out = new Set<string>();
    forEachLStmt(stmts, (s) => {
      for (const r of readArrays(s, callees)) for (const m of groups.get(r) ?? [r]) out.add(m);
    });
    return out;
  };
  const visit = (body: LStmt[], ctx: Context) => {
    body.forEach((s, j) => {
      if (s.k === 'loop') visit(s.body, s.checkpoint ? 'step' : 'loop');
      if (s.k !== 'call') return;
      const writes = writtenArrays(s, callees);
      const own = new Set(readArrays(s, callees));
      const earlier = readsOf(body.slice(0, j));
      const before = writes.filter((w) => own.has(w));
      const after = ctx === 'loop' ? writes : writes.filter((w) => earlier.has(w));
      const later = readsOf(body.slice(j + 1));
      const skip = ctx === 'step' && !before.length && !after.length && !s.result && !writes.some((w) => later.has(w));
      plans.set(s, { save: skip ? [] : [...new Set([...before, ...after])], before, after, skip });
    });
  };
  visit(layer.body, 'top');
  return plans;
}

/** One line per call: what is saved and restored (the `L_b` comment). */
export function printSavePlan(plans: Map<LStmt, CallPlan>): string[] {
  const out: string[] = [];
  for (const [s, p] of plans) {
    if (s.k !== 'call') continue;
    const what = p.skip ? 'not run forward (its _b computes its outputs)'
      : p.save.length ? `saves ${p.save.join(', ')}${p.before.length ? `; restores ${p.before.join(', ')} before its _b` : ''}${p.after.length ? `; restores ${p.after.join(', ')} after it` : ''}`
        : 'saves nothing';
    out.push(`line ${s.loc.line} ${s.callee}: ${what}`);
  }
  return out;
}
