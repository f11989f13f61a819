/**
 * What an adjoint's forward sweep records for a `*=` or max/min reduction of a parallel nest inside a
 * sequential loop or a branch (differentiate/adjoint.ts: the zero count, the product of the nonzero
 * factors, the initial value; extremum.ts: the winner) goes on the tape once per time step. On the
 * GPU these are device scalars, which the host's scalar tape cannot hold (reading them back would
 * stall the adjoint between passes): each nest's recorded scalars are copied into a small device
 * array `_rec…` instead, which goes on the runtime's array tape (a snapshot, `pushArray`), and the
 * reverse sweep's pops read them back from the snapshot it restores (`popArray`). Both tapes are
 * LIFO and the reverse sweep pops in the exact reverse order of the pushes, so the two stacks stay
 * matched.
 */
import type { Expr, Stmt } from '../../ir/types.js';
import { num, readsOf, v, walkExpr } from '../../ir/build.js';
import { freshNames } from '../../ir/walk.js';
import { hostAndShared } from './device.js';

/**
 * The float scalars of `body` that live on the device: those the iterations of a parallel loop
 * assign (declared outside it), and what host code computes from them or from array elements.
 */
function deviceNames(body: Stmt[]): Set<string> {
  const { host, shared: device } = hostAndShared(body);
  const onDevice = (e: Expr): boolean => {
    let hit = [...readsOf(e)].some((n) => device.has(n));
    walkExpr(e, (x) => {
      if (x.k === 'index') hit = true;
    });
    return hit;
  };
  for (let changed = true; changed; ) {
    changed = false;
    for (const s of host) {
      const target = s.k === 'decl' ? s.name : s.k === 'assign' && s.target.k === 'var' ? s.target.name : undefined;
      const value = s.k === 'decl' ? s.init : s.k === 'assign' ? s.value : undefined;
      if (target && value && !device.has(target) && value.k !== 'pop' && onDevice(value)) {
        device.add(target);
        changed = true;
      }
    }
  }
  return device;
}

/**
 * `body` (an adjoint's, on the GPU) with each run of `push(x)` of device scalars as a copy into a
 * device array of their own and a `pushArray` of it, and the matching run of `const x = pop()` as a
 * `popArray` and reads of the array.
 */
export function deviceRecords(body: Stmt[]): Stmt[] {
  const device = deviceNames(body);
  const fresh = freshNames(body, 1);
  const isRecord = (s: Stmt): s is Stmt & { k: 'push' } =>
    s.k === 'push' && s.value.k === 'var' && device.has(s.value.name);
  const isPop = (s: Stmt): s is Stmt & { k: 'decl' } => s.k === 'decl' && s.init.k === 'pop' && device.has(s.name);
  // the record arrays by the names they hold (in push order), and the scratch declarations
  const records: { array: string; names: string[]; tape: string }[] = [];
  const decls: Stmt[] = [];
  const walk = (stmts: Stmt[]): Stmt[] => {
    const out: Stmt[] = [];
    for (let i = 0; i < stmts.length; ) {
      const s = stmts[i];
      if (isRecord(s)) {
        const run: (Stmt & { k: 'push' })[] = [];
        while (i < stmts.length && isRecord(stmts[i])) run.push(stmts[i++] as Stmt & { k: 'push' });
        const names = run.map((p) => (p.value as { name: string }).name);
        const array = fresh('_rec');
        records.push({ array, names, tape: s.tape });
        decls.push({
          k: 'decl',
          name: array,
          mutable: false,
          init: { k: 'runtime', call: { fn: 'array', type: 'Float32Array', length: num(names.length) } },
        });
        out.push(
          ...names.map(
            (n, j): Stmt => ({ k: 'assign', target: { k: 'index', array, index: num(j) }, op: '=', value: v(n) }),
          ),
          { k: 'pushArray', tape: s.tape, array },
        );
        continue;
      }
      if (isPop(s)) {
        const run: (Stmt & { k: 'decl' })[] = [];
        while (i < stmts.length && isPop(stmts[i])) run.push(stmts[i++] as Stmt & { k: 'decl' });
        // the record these pops read: the one holding exactly their names
        const popped = run.map((d) => d.name);
        const rec = records.find((r) => r.names.length === popped.length && popped.every((n) => r.names.includes(n)));
        if (!rec) {
          out.push(...run);
          continue;
        }
        out.push(
          { k: 'popArray', tape: rec.tape, array: rec.array },
          ...run.map(
            (d): Stmt => ({ ...d, init: { k: 'index', array: rec.array, index: num(rec.names.indexOf(d.name)) } }),
          ),
        );
        continue;
      }
      if (s.k === 'for' && !s.parallel) out.push({ ...s, body: walk(s.body) });
      else if (s.k === 'block') out.push({ ...s, body: walk(s.body) });
      else if (s.k === 'if') out.push({ ...s, then: walk(s.then), else: walk(s.else) });
      else out.push(s);
      i++;
    }
    return out;
  };
  const out = walk(body);
  return records.length ? [...decls, ...out] : body;
}
