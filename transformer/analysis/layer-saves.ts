/**
 * What the adjoint of a layer saves around each call (a side table, printed in the `L_b` comment).
 *
 * The reverse sweep calls the callee's `_b` with the call's inputs and it leaves the call's outputs.
 * An array the call writes therefore needs its value from before the call
 *  - `before` the `_b`, if the callee also reads it (an update in place), and
 *  - `after` it, if a statement the reverse sweep reaches later (one before the call) reads it;
 *    in a stored (not checkpointed) loop every iteration's predecessor does, so always (and in
 *    an if statement's branches).
 * Neither: no copy. In a checkpointed step (whose state the schedule restores before every reverse
 * step), a call with neither whose outputs nothing after it in the step reads is not even run in
 * the forward sweep (`skip`): its `_b` computes them.
 */
import type { Callee, Layer, LStmt, LVar } from '../ir/layer.js';
import { printExpr } from '../ir/print.js';
import { forEachLStmt } from '../ir/layer.js';
import { bufferGroups, readArrays, writtenArrays } from '../ir/layer.js';

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
      // a branch's calls: saved as in a stored loop (what may run before them is not this list)
      if (s.k === 'if') for (const b of [s.then, s.else]) visit(b, 'loop');
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
    const what = p.skip
      ? 'not run forward (its _b computes its outputs)'
      : p.save.length
        ? `saves ${p.save.join(', ')}${p.before.length ? `; restores ${p.before.join(', ')} before its _b` : ''}${p.after.length ? `; restores ${p.after.join(', ')} after it` : ''}`
        : 'saves nothing';
    out.push(`line ${s.loc.line} ${s.callee}: ${what}`);
  }
  return out;
}

/**
 * The state of a checkpointed loop: the variables its steps change that live outside it (arrays
 * its calls, copies and fills write or it swaps; float locals its calls assign).
 */
export function checkpointState(
  layer: Layer,
  loop: Extract<LStmt, { k: 'loop' }>,
  callees: Map<string, Callee>,
): { arrays: LVar[]; floats: LVar[] } {
  const inside = new Set<string>();
  const changed = new Set<string>();
  forEachLStmt(loop.body, (x) => {
    if (x.k === 'scratch' || x.k === 'value' || x.k === 'float' || x.k === 'alias') inside.add(x.name);
    if (x.k === 'loop') inside.add(x.header.v);
    for (const w of writtenArrays(x, callees)) changed.add(w);
    if (x.k === 'call' && x.result) changed.add(x.result.name);
    if (x.k === 'swap') changed.add(x.a).add(x.b);
  });
  const vars = [...changed].filter((n) => !inside.has(n)).map((n) => layer.vars.get(n)!);
  return { arrays: vars.filter((v) => v.kind !== 'float'), floats: vars.filter((v) => v.kind === 'float') };
}

/** `parad analyze`'s report of a layer: its loops (checkpointed or stored) and what each call saves. */
export interface LayerReport {
  name: string;
  line: number;
  loops: { line: number; checkpoint: boolean; slots: number | null; cost: string | null; state: string[] }[];
  calls: {
    line: number;
    callee: string;
    saves: string[];
    restoredBefore: string[];
    restoredAfter: string[];
    forwardSkipped: boolean;
  }[];
}

export function layerReport(layer: Layer, callees: Map<string, Callee>): LayerReport {
  const plans = planLayerSaves(layer, callees);
  const loops: LayerReport['loops'] = [];
  forEachLStmt(layer.body, (s) => {
    if (s.k !== 'loop') return;
    const state = s.checkpoint ? checkpointState(layer, s, callees) : undefined;
    loops.push({
      line: s.loc.line,
      checkpoint: !!s.checkpoint,
      slots: s.checkpoint?.slots ?? null,
      cost: s.checkpoint?.cost ? printExpr(s.checkpoint.cost) : null,
      state: state ? [...state.arrays, ...state.floats].map((v) => v.name) : [],
    });
  });
  const calls = [...plans].flatMap(([s, p]) =>
    s.k === 'call'
      ? [
          {
            line: s.loc.line,
            callee: s.callee,
            saves: p.save,
            restoredBefore: p.before,
            restoredAfter: p.after,
            forwardSkipped: p.skip,
          },
        ]
      : [],
  );
  return { name: layer.name, line: layer.loc.line, loops, calls };
}

/** The text table of `parad analyze` for layers. */
export function printLayerReports(file: string, layers: LayerReport[]): string {
  const rows: string[][] = [['layer', 'at', 'what', 'adjoint']];
  for (const l of layers) {
    const own: [number, string[]][] = [];
    for (const loop of l.loops) {
      own.push([
        loop.line,
        [
          l.name,
          `${file}:${loop.line}`,
          'loop',
          loop.checkpoint
            ? `checkpointed, ${loop.slots ?? 'ceil(sqrt(steps))'} slots${loop.cost ? `, step cost ${loop.cost}` : ''}; state ${loop.state.join(', ') || 'none'}`
            : 'stored: each iteration saves what it overwrites',
        ],
      ]);
    }
    for (const c of l.calls) {
      own.push([
        c.line,
        [
          l.name,
          `${file}:${c.line}`,
          c.callee,
          c.forwardSkipped
            ? 'not run forward (its _b computes its outputs)'
            : c.saves.length
              ? `saves ${c.saves.join(', ')}`
              : 'saves nothing',
        ],
      ]);
    }
    rows.push(...own.sort((a, b) => a[0] - b[0]).map(([, r]) => r));
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => (c === 3 ? 0 : r[c].length))));
  return rows.map((r) => r.map((cell, c) => (c === 3 ? cell : cell.padEnd(widths[c]))).join('  ')).join('\n');
}
