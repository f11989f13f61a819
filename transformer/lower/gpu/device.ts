/**
 * What a WGSL adjoint keeps on the device besides the kernel's arrays:
 *   - float scalars the passes produce (the adjoints of float parameters and of host-level float
 *     locals, reduced or atomically updated by the iterations, and whatever host code computes
 *     from them): slots of one storage buffer `_sc`, read back for the returned `{ ab, … }`;
 *   - scratch arrays (`new Float64Array(n)`: staging for gathers, private copies for reductions).
 * `deviceScalars` finds the first and rewrites the function so that each such scalar is an element
 * of `_sc`; program.ts then runs host statements touching `_sc` as single-invocation passes.
 */
import type { Expr, Stmt } from '../../ir/types.js';
import { readsOf, num, walkExpr } from '../../ir/build.js';
import { forEachStmt, mapExpr, ownExprs, declaredIn } from '../../ir/walk.js';
import type { Types } from './types.js';
import type { GpuProblems } from './unsupported.js';
export { invocationTape } from '../../schedule/stack.js';

/** A float array the adjoint allocates (`new Float64Array(n)`, a scratch array): its length. */
export function scratchLength(e: Expr): Expr | undefined {
  if (e.k !== 'runtime' || (e.call.fn !== 'array' && e.call.fn !== 'scratch')) return undefined;
  if (e.call.fn === 'array' && !e.call.type.startsWith('Float')) return undefined;
  return e.call.length;
}

export interface DeviceScalars {
  /** the scalars, by slot */
  slots: string[];
  body: Stmt[];
}

/**
 * The float scalars that must live on the device and `body` with each of them as `buffer[slot]`.
 * `results` (the returned adjoints) come first, in order.
 */
export function deviceScalars(
  body: Stmt[],
  results: string[],
  arrays: Set<string>,
  types: Types,
  buffer: string,
  hostCode: boolean,
  problems: GpuProblems,
): DeviceScalars {
  const device = new Set(results);
  // without host code (a single invocation runs the whole function) only the results are read back
  if (hostCode) findDeviceScalars(body, device, arrays, types, problems);
  const slots = [...results, ...[...device].filter((n) => !results.includes(n)).sort()];
  if (!slots.length) return { slots, body };
  return { slots, body: inBuffer(body, slots, buffer) };
}

/**
 * The statements of `body` outside its parallel loops (in branches, blocks and sequential loops
 * too), in order: the host's; and the scalars the iterations of a parallel loop assign (declared
 * outside it): the device's.
 */
export function hostAndShared(body: Stmt[]): { host: Stmt[]; shared: Set<string> } {
  const host: Stmt[] = [];
  const shared = new Set<string>();
  const visit = (stmts: Stmt[]): void => {
    for (const s of stmts) {
      if (s.k === 'for' && s.parallel) {
        const local = declaredIn([s]);
        forEachStmt(s.body, (t) => {
          if (t.k === 'assign' && t.target.k === 'var' && !local.has(t.target.name)) shared.add(t.target.name);
        });
        continue;
      }
      host.push(s);
      if (s.k === 'for' || s.k === 'block') visit(s.body);
      if (s.k === 'if') {
        visit(s.then);
        visit(s.else);
      }
    }
  };
  visit(body);
  return { host, shared };
}

function findDeviceScalars(
  body: Stmt[],
  device: Set<string>,
  arrays: Set<string>,
  types: Types,
  problems: GpuProblems,
): void {
  const onDevice = (e: Expr): boolean => {
    let hit = false;
    for (const n of readsOf(e)) if (device.has(n)) hit = true;
    walkExpr(e, (x) => {
      if (x.k === 'index' && arrays.has(x.array)) hit = true;
    });
    return hit;
  };
  // written by the iterations of a parallel loop (declared outside it), or reduced into
  const { host: hostStmts, shared } = hostAndShared(body);
  for (const n of shared) device.add(n);
  for (const s of hostStmts) if (s.k === 'reduce' && !arrays.has(s.target)) device.add(s.target);
  // host code computing from them (or from array elements) puts its results on the device too
  for (let changed = true; changed; ) {
    changed = false;
    for (const s of hostStmts) {
      const target = s.k === 'decl' ? s.name : s.k === 'assign' && s.target.k === 'var' ? s.target.name : undefined;
      const value = s.k === 'decl' ? s.init : s.k === 'assign' ? s.value : undefined;
      if (!target || !value || device.has(target) || !onDevice(value)) continue;
      if (types.names.get(target) !== 'f32')
        problems.add(
          `the integer '${target}' is computed from values on the device (it would need a read-back in the middle of the adjoint)`,
          'loc' in s ? s.loc : undefined,
        );
      device.add(target);
      changed = true;
    }
  }
  for (const s of hostStmts) {
    const control = s.k === 'if' ? [s.cond] : s.k === 'for' ? [s.init, s.bound] : s.k === 'push' ? [s.value] : [];
    for (const e of control) {
      const n = [...readsOf(e)].find((x) => device.has(x));
      if (n)
        problems.add(
          `host control flow or the tape depends on '${n}', which lives on the device`,
          'loc' in s ? s.loc : undefined,
        );
    }
  }
}

/** `body` with each of `slots` as `buffer[slot]`. */
function inBuffer(body: Stmt[], slots: string[], buffer: string): Stmt[] {
  const slot = new Map(slots.map((n, i) => [n, i]));
  const at = (name: string): Expr => ({ k: 'index', array: buffer, index: num(slot.get(name)!) });
  const expr = (e: Expr): Expr => mapExpr(e, (x) => (x.k === 'var' && slot.has(x.name) ? at(x.name) : undefined));
  const rewrite = (stmts: Stmt[], top: boolean): Stmt[] =>
    stmts.flatMap((s): Stmt[] => {
      switch (s.k) {
        case 'decl':
          if (!slot.has(s.name)) return [{ ...s, init: expr(s.init) }];
          // the buffer starts zeroed: a top-level `let xb = 0` is already true
          if (top && s.init.k === 'num' && s.init.value === 0) return [];
          return [
            {
              k: 'assign',
              target: { k: 'index', array: buffer, index: num(slot.get(s.name)!) },
              op: '=',
              value: expr(s.init),
              loc: s.loc,
            },
          ];
        case 'assign': {
          const target =
            s.target.k === 'var'
              ? slot.has(s.target.name)
                ? { k: 'index' as const, array: buffer, index: num(slot.get(s.target.name)!) }
                : s.target
              : { ...s.target, index: expr(s.target.index) };
          return [{ ...s, target, value: expr(s.value) }];
        }
        case 'if':
          return [{ ...s, cond: expr(s.cond), then: rewrite(s.then, false), else: rewrite(s.else, false) }];
        case 'for':
          return [{ ...s, init: expr(s.init), bound: expr(s.bound), body: rewrite(s.body, false) }];
        case 'block':
          return [{ ...s, body: rewrite(s.body, false) }];
        case 'reduce':
          return [s];
        case 'return':
          return s.value ? [{ ...s, value: expr(s.value) }] : [s];
        case 'push':
          return [{ ...s, value: expr(s.value) }];
        case 'effect':
          return [{ ...s, e: expr(s.e) }];
        default:
          if (ownExprs(s).length) throw new Error(`internal: ${s.k} not rewritten`);
          return [s];
      }
    });
  return rewrite(body, true);
}
