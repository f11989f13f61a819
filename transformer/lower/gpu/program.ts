/**
 * A generated function (the primal, `K_d` or `K_b`) as WebGPU work: each `@parallel` nest becomes a
 * compute pass (a shader whose invocations are the nest's iterations, `global_invocation_id` x
 * for the innermost loop, bounds-guarded), and what is around the nests (integer locals,
 * sequential loops such as time steps) becomes a host function that dispatches the passes in
 * order, with the integer and float scalars each pass reads in a uniform buffer.
 *
 * The adjoint adds device work the host function asks the runtime for (runtime/gpu.ts): scratch
 * buffers, copies of arrays (snapshots on the tape, saved outputs), tape slots for what each
 * iteration of a nest pushes, tree reductions of private copies, and its float scalars in a
 * storage buffer (device.ts), host statements on them running as single-invocation passes.
 * Updates marked atomic (schedule/) are compare-and-swap loops on the float's bits.
 *
 * This is the lowering: it decides what runs where and returns each pass as IR with its bindings,
 * uniforms and shape (`LoweredPass`); emit/wgsl/shader.ts prints the WGSL. What the GPU cannot run
 * is found here (GpuProblems, each with the statement's location where there is one), never while
 * printing.
 */
import type { Expr, ForLoop, GpuMethod, Stmt } from '../../ir/types.js';
import { deviceScalars, scratchLength, invocationTape } from './device.js';
import { parallelNest } from '../../analysis/tape.js';
import {
  declaredIn,
  forEachStmt,
  mapAssigns,
  mapBlocks,
  mapExpr,
  mapStmts,
  ownExprs,
  popsIn,
  writesOf,
} from '../../ir/walk.js';
import { constantValue, isTapeDecl, mul, num, readsOf, v, walkExpr } from '../../ir/build.js';
import { tripCount } from '../../schedule/space.js';
import { Types, type WType } from './types.js';
import type { WgslPass } from '../../../runtime/index.js';
import type { GpuProblems } from './unsupported.js';

/** One compute pass (the runtime's description of it). */
export type PassOut = WgslPass;

/** How a pass's invocations map to its IR (emit/wgsl/shader.ts prints each shape). */
export type PassShape =
  /** invocation = iteration of the nest (x innermost), bounds-guarded; `tape`: `_it` is the flat iteration number */
  | { kind: 'nest'; nest: ForLoop[]; tape: boolean; sums?: WorkgroupSums }
  /** `count` invocations (a host local), each taking every count-th iteration of the nest */
  | { kind: 'gridStride'; nest: ForLoop[]; count: string; tape: boolean }
  /** one invocation runs the body */
  | { kind: 'single' };

/** Device scalars a nest pass reduces per workgroup (workgroupSums): the buffer and each slot's operator. */
export interface WorkgroupSums {
  buffer: string;
  ops: Map<number, SlotOp>;
}

/** A pass as the lowering leaves it: the runtime's description without the code, and what the code is printed from. */
export interface LoweredPass extends Omit<PassOut, 'code' | 'sourceLines'> {
  shape: PassShape;
  /** the body one invocation (one iteration) runs, with the pass's bindings in place */
  body: Stmt[];
  /** the value types of the program's names (shared by its passes) */
  types: Types;
}

/** A program as the lowering leaves it: passes not yet printed. */
export interface LoweredProgram extends Omit<ProgramOut, 'passes'> {
  passes: LoweredPass[];
}

export interface ProgramOut {
  passes: PassOut[];
  /** the host function's body (IR; nests replaced by dispatches) */
  host: Stmt[];
  /** the host function's parameters after the context: the function's parameters (arrays only for `.length`) */
  scalars: { name: string; type: string }[];
  /** floats the function returns (0, 1 for K, 2 for K_d's [value, valueDot]), in the `_ret` buffer */
  returns: number;
  /** no @parallel loop: the whole function runs as one invocation */
  sequential: boolean;
  /** the adjoint's float scalars on the device (`_sc`), by slot; the returned ones first */
  deviceScalars?: string[];
}

/** What an adjoint's program needs besides its parameters and body. */
export interface AdjointInfo {
  /** the returned object: its keys and the locals holding them */
  results: { key: string; name: string }[];
  /** the device-scalar and tape-slot buffer names */
  scalars: string;
  tapeSlots: string;
  /** the buffer of the per-iteration tape regions (pushes and pops within one iteration) */
  tapeRegions: string;
}

const WORKGROUP: Record<number, [number, number, number]> = { 1: [64, 1, 1], 2: [8, 8, 1], 3: [4, 4, 4] };

/**
 * `device` (the primal and `K_d`): the storage buffer for float scalars that must live on the
 * device: the scalar reductions of parallel loops (ir/reduction.ts; every iteration adds its
 * contribution atomically) and what host code computes from them. A float the function returns is
 * then computed by a single-invocation pass into `_ret`.
 */
export function wgslProgram(
  params: { name: string; type: string }[],
  fnBody: Stmt[],
  ctxName: string,
  problems: GpuProblems,
  adjoint?: AdjointInfo,
  device?: { scalars: string },
): LoweredProgram {
  const types = new Types(params, fnBody);
  const arrays = new Set(params.filter((p) => p.type.endsWith('Array')).map((p) => p.name));
  for (const p of params) {
    if (p.type === 'Float64Array' || p.type === 'f64')
      problems.add(`'${p.name}' is ${p.type}: WGSL has no 64-bit floats (use Float32Array and f32 for the GPU)`);
  }
  const scalars = params.map((p) => ({
    name: p.name,
    type: p.type.endsWith('Array') ? '{ readonly length: number }' : p.type,
  }));
  // what a program the GPU cannot run lowers to (its problems say why)
  const refused: LoweredProgram = { passes: [], host: [], scalars, returns: 0, sequential: false };
  // nothing else to find: every float of the program is 64-bit
  if (problems.count) return refused;
  // the adjoint's scratch arrays and saved copies are device buffers too (f32), its float scalars device slots
  let body = fnBody;
  let slots: string[] | undefined;
  if (adjoint) {
    forEachStmt(body, (s) => {
      const name =
        s.k === 'decl' && scratchLength(s.init) !== undefined ? s.name : s.k === 'saveArray' ? s.name : undefined;
      if (name) {
        arrays.add(name);
        types.arrays.set(name, types.arrays.get((s as { array?: string }).array ?? '') ?? 'f32');
        types.names.delete(name);
      }
    });
    arrays.add(adjoint.scalars);
    types.arrays.set(adjoint.scalars, 'f32');
    for (const b of [adjoint.tapeSlots, adjoint.tapeRegions]) {
      arrays.add(b);
      types.arrays.set(b, 'f32');
    }
    let hostCode = false;
    forEachStmt(body, (s) => {
      if (s.k === 'for' && s.parallel) hostCode = true;
    });
    const d = deviceScalars(
      body,
      adjoint.results.map((r) => r.name),
      arrays,
      types,
      adjoint.scalars,
      hostCode,
      problems,
    );
    body = d.body;
    slots = d.slots;
  }
  let returns = 0;
  let onDevice: string | undefined = adjoint?.scalars;
  const lastStmt = body[body.length - 1];
  if (
    !adjoint &&
    device &&
    hasParallel(body) &&
    (reducesScalars(body) || (lastStmt?.k === 'return' && lastStmt.value))
  ) {
    arrays.add(device.scalars);
    types.arrays.set(device.scalars, 'f32');
    const d = deviceScalars(body, [], arrays, types, device.scalars, true, problems);
    const last = d.body[d.body.length - 1];
    {
      body = d.body;
      slots = d.slots;
      onDevice = device.scalars;
      if (last?.k === 'return' && last.value) {
        // the returned value(s), computed where the scalars are: into `_ret`
        const items = last.value.k === 'tuple' ? last.value.items : [last.value];
        returns = items.length;
        arrays.add(RETURN_BUFFER);
        types.arrays.set(RETURN_BUFFER, 'f32');
        body = [
          ...body.slice(0, -1),
          ...items.map(
            (value, i): Stmt => ({
              k: 'assign',
              target: { k: 'index', array: RETURN_BUFFER, index: num(i) },
              op: '=',
              value,
              loc: last.loc,
            }),
          ),
        ];
      }
    }
  }
  // device values the host would need (a read-back mid-run): what follows would only find their consequences
  if (problems.count) return refused;
  const passes: LoweredPass[] = [];
  let spans = 0;
  const quote = (text: string): Expr => ({ k: 'str', value: text });
  const call = (method: GpuMethod, ...args: Expr[]): Stmt => hostCall(ctxName, method, ...args);
  /** Host statements; consecutive statements on device values (adjoint only) become single-invocation passes. */
  const host = (stmts: Stmt[]): Stmt[] => {
    const out: Stmt[] = [];
    let group: Stmt[] = [];
    const flush = () => {
      if (group.length) out.push(devicePass(group));
      group = [];
    };
    for (const s of stmts) {
      if (onDevice && s.k === 'assign' && s.target.k === 'index') group.push(s);
      else {
        flush();
        out.push(...hostStmt(s));
      }
    }
    flush();
    return out;
  };
  const hostStmt = (s: Stmt): Stmt[] => {
    switch (s.k) {
      case 'for':
        if (s.parallel) return dispatch(s);
        onHost(s.init, 'a loop bound', s);
        onHost(s.bound, 'a loop bound', s);
        return [{ ...s, body: host(s.body) }];
      case 'block':
        return [{ ...s, body: host(s.body) }];
      case 'pushArray':
        return [call('pushArray', quote(s.array))];
      case 'popArray':
        return [call('popArray', quote(s.array))];
      case 'saveArray':
        return [call('save', quote(s.name), quote(s.array))];
      case 'restoreArray':
        return [call('restore', quote(s.name), quote(s.array))];
      case 'push':
        onHost(s.value, 'a value pushed on the tape', s);
        return [call('push', hostPops(s.value))];
      case 'reduce': {
        const target =
          adjoint && slots?.includes(s.target)
            ? [quote(adjoint.scalars), num(slots.indexOf(s.target))]
            : [quote(s.target), num(0)];
        return [call('reduce', quote(s.partial), s.copies, s.len ?? num(1), ...target)];
      }
      default:
        return [hostSimple(s)].flat();
    }
  };
  /** pops of the host's scalar tape (values pushed by host code) */
  const hostPops = (e: Expr): Expr => mapExpr(e, (x) => (x.k === 'pop' ? gpuCall(ctxName, 'pop') : undefined));
  const hostSimple = (s: Stmt): Stmt | Stmt[] => {
    switch (s.k) {
      // scalar code runs on the host (JavaScript numbers; floats reach the passes as f32 uniforms),
      // array elements live on the device
      case 'if':
        onHost(s.cond, 'a branch', s);
        // (a branch of the reverse sweep pops the forward sweep's branch flag: the runtime's tape)
        return { ...s, cond: hostPops(s.cond), then: host(s.then), else: host(s.else) };
      case 'decl': {
        if (adjoint && isTapeDecl(s)) return [];
        const length = adjoint ? scratchLength(s.init) : undefined;
        if (length !== undefined) return { ...s, init: gpuCall(ctxName, 'alloc', quote(s.name), length) };
        onHost(s.init, `the local '${s.name}'`, s);
        return { ...s, init: hostPops(s.init) };
      }
      case 'assign':
        if (s.target.k === 'index') {
          problems.add(
            `a write to ${s.target.array}[…] outside @parallel loops (put it inside a @parallel loop)`,
            s.loc,
          );
          return s;
        }
        onHost(s.value, `the assignment to '${s.target.name}'`, s);
        return { ...s, value: hostPops(s.value) };
      case 'comment':
        return s;
      case 'effect':
        return s;
      // the adjoint's returned scalars are read back from their device slots
      case 'return':
        if (s.value && !adjoint) problems.add('a kernel with @parallel loops returning a float', s.loc);
        return [];
      default:
        problems.add(`a ${s.k} statement outside @parallel loops`, 'loc' in s ? s.loc : undefined);
        return [];
    }
  };
  const onHost = (e: Expr, what: string, s: Stmt): void => {
    const array = [...readsOf(e)].find((n) => arrays.has(n) && !lengthOnly(e, n));
    if (array)
      problems.add(
        `${what} reads ${array}[…] outside @parallel loops (array elements live on the device: put it inside a @parallel loop)`,
        'loc' in s ? s.loc : undefined,
      );
  };

  const dispatch = (loop: ForLoop): Stmt[] => {
    const nest = parallelNest(loop);
    const nestVars = new Set(nest.map((l) => l.v));
    // a problem of the nest: the rest of its lowering would only find its consequences
    const found = problems.count;
    for (const l of nest) {
      const n = [...readsOf(l.init), ...readsOf(l.bound)].find((x) => nestVars.has(x));
      if (n)
        problems.add(
          `the bounds of the loop over ${l.v} depend on ${n} (only rectangular @parallel nests map to a dispatch)`,
          l.loc,
        );
    }
    if (problems.count > found) return [];
    // extents x, y, z: innermost loop first; the loops outside the innermost two of a deeper nest share z
    const trips = [...nest].reverse().map((l) => tripCount(l));
    const extents = trips.length <= 3 ? trips : [trips[0], trips[1], trips.slice(2).reduce((a, b) => mul(a, b))];
    const foldNames = trips.length > 3 ? trips.slice(2, -1).map((_, i) => `_z${i}`) : [];
    const before: Stmt[] = [];
    let inner = nest[nest.length - 1].body;
    const count = extents.reduce((a, b) => mul(a, b));
    const nestLocal = declaredIn(inner);
    for (const l of nest) nestLocal.add(l.v);
    // the tape: what each iteration pushes for another pass goes to its own slots of a segment (one
    // per dispatch), popped by its reverse; what an iteration pushes and pops itself (a recomputed
    // inner loop, a fused nest) goes to its own region of another buffer. A reverse pass can have both:
    // it pops the stored values first, then recomputes and reverses with its own region.
    let tape = false;
    if (adjoint && hasTape(inner)) {
      const slots = tapeSlots(inner, adjoint.tapeSlots, problems, loop);
      if (problems.count > found) return [];
      if (slots) {
        tape = true;
        inner = slots.body;
        before.push(
          slots.pushes
            ? call('pushSegment', quote(adjoint.tapeSlots), mul(count, num(slots.pushes)))
            : call('popSegment', quote(adjoint.tapeSlots)),
        );
      }
      if (hasTape(inner)) {
        const span = `${TAPE_SPAN}${++spans}`;
        const own = invocationTape(
          inner,
          adjoint.tapeRegions,
          (n) => !nestLocal.has(n) && !arrays.has(n),
          (m, l) => problems.add(m, l),
          {
            k: 'binary',
            op: '*',
            l: v(IT),
            r: v(span),
          },
        );
        if (!own.bound)
          problems.add(
            'a pop from the tape inside a branch or loop of a parallel loop body, of values pushed in another pass (the GPU tape needs a fixed number per iteration there)',
            loop.loc,
          );
        if (problems.count > found || !own.bound) return [];
        for (const n of own.integers) types.names.set(n, 'i32');
        const size = constantValue(own.bound);
        if (size !== undefined && Number.isInteger(size) && size <= PRIVATE_TAPE_MAX) {
          // a constant number of values per iteration: an array in the invocation's private memory
          // (no device buffer to allocate, clear and address)
          const priv = `${PRIVATE_TAPE}${spans}`;
          const local = invocationTape(
            inner,
            priv,
            () => true,
            (m, l) => problems.add(m, l),
          );
          for (const n of local.integers) types.names.set(n, 'i32');
          types.arrays.set(priv, 'f32');
          inner = [privateArray(priv, Math.max(1, size)), ...local.body];
        } else {
          inner = own.body;
          types.names.set(span, 'i32');
          tape = true;
          before.push(
            { k: 'decl', name: span, mutable: false, init: own.bound },
            call('alloc', quote(adjoint.tapeRegions), mul(count, v(span))),
          );
        }
      }
    }
    // updates of the device scalars by the iterations are shared by all of them
    if (onDevice) inner = atomicScalars(inner, onDevice, problems);
    const local = declaredIn(inner);
    for (const l of nest) local.add(l.v);
    if (tape) {
      local.add(IT);
      types.names.set(IT, 'i32');
    }
    const res = resources(
      inner,
      nest.flatMap((l) => [l.init, l.bound]),
      arrays,
      types,
      (n) => !local.has(n),
      problems,
    );
    inner = res.body;
    const packs = res.packs.length ? { packs: res.packs } : {};
    if (loop.gridStride) {
      // a reduction's nest: loop.gridStride invocations, each its share of the iterations in turn
      const tripNames = trips.map((_, i) => `_gt${i}`);
      const uniforms = [
        ...res.uniforms,
        ...tripNames.map((name) => ({ name, type: 'i32' as const })),
        ...res.packUniforms,
      ];
      passes.push({
        shape: { kind: 'gridStride', nest, count: loop.gridStride, tape },
        body: checkedPassBody(inner, atomicArrays(inner), problems),
        types,
        workgroupSize: [64, 1, 1],
        bindings: res.bindings,
        uniforms,
        ...packs,
      });
      const values = [...res.uniforms.map(uniformValue), ...tripNames.map((key, i) => ({ key, value: trips[i] }))];
      return [...before, dispatchCall(ctxName, passes.length - 1, [v(loop.gridStride)], values)];
    }
    // the flat iteration number of a 2-D/3-D nest needs its extents
    const extentNames = tape && nest.length > 1 ? ['_e0', '_e1'].slice(0, Math.min(3, nest.length) - 1) : [];
    const uniforms = [
      ...res.uniforms,
      ...[...extentNames, ...foldNames].map((name) => ({ name, type: 'i32' as const })),
      ...res.packUniforms,
    ];
    const wg = workgroupSize(loop, Math.min(3, nest.length), problems);
    // the device scalars the iterations add to: a sum per workgroup in workgroup memory, then one atomic add each
    const sums = onDevice ? workgroupSums(inner, onDevice) : undefined;
    const summed = sums && { buffer: onDevice!, ops: sums };
    passes.push({
      shape: { kind: 'nest', nest, tape, ...(summed ? { sums: summed } : {}) },
      body: checkedPassBody(
        inner,
        new Set([...atomicArrays(inner), ...(summed ? [summed.buffer] : [])]),
        problems,
        summed,
      ),
      types,
      workgroupSize: wg,
      bindings: res.bindings,
      uniforms,
      ...packs,
    });
    const values = [
      ...res.uniforms.map(uniformValue),
      ...extentNames.map((key, i) => ({ key, value: extents[i] })),
      ...foldNames.map((key, i) => ({ key, value: trips[i + 2] })),
    ];
    return [...before, dispatchCall(ctxName, passes.length - 1, extents, values)];
  };

  /** Host statements on device values, run by one invocation. */
  const devicePass = (group: Stmt[]): Stmt => {
    const res = resources(group, [], arrays, types, () => true, problems);
    const uniforms = [...res.uniforms, ...res.packUniforms];
    passes.push({
      shape: { kind: 'single' },
      body: checkedPassBody(res.body, new Set(), problems),
      types,
      workgroupSize: [1, 1, 1],
      bindings: res.bindings,
      uniforms,
      ...(res.packs.length ? { packs: res.packs } : {}),
    });
    return dispatchCall(ctxName, passes.length - 1, [num(1)], res.uniforms.map(uniformValue));
  };

  // (the host function gets every parameter, arrays for their .length, with array types relaxed: `scalars`)
  if (!hasParallel(body)) {
    const single = singleInvocation(params, body, types, arrays, ctxName, adjoint, problems);
    return { ...single, scalars, sequential: true, ...(slots ? { deviceScalars: slots } : {}) };
  }
  const hostBody = host(body);
  return {
    passes,
    host: hostBody,
    scalars,
    returns,
    sequential: false,
    ...(slots?.length || adjoint ? { deviceScalars: slots } : {}),
  };
}

/** Does a parallel loop of `body` assign a scalar declared outside it (a reduction, ir/reduction.ts)? */
function reducesScalars(body: Stmt[]): boolean {
  let found = false;
  forEachStmt(body, (s) => {
    if (s.k !== 'for' || !s.parallel) return;
    const local = declaredIn([s]);
    forEachStmt(s.body, (t) => {
      if (t.k === 'assign' && t.target.k === 'var' && !local.has(t.target.name)) found = true;
    });
  });
  return found;
}

function hasParallel(body: Stmt[]): boolean {
  let parallel = false;
  forEachStmt(body, (s) => {
    if (s.k === 'for' && s.parallel) parallel = true;
  });
  return parallel;
}

/**
 * A nest body's tape traffic with another pass as tape slots: iteration `_it`'s j-th push of k goes
 * to `slots[_it * k + j]` (the forward pass fills a segment of the tape, its pushes at the top of
 * the body: a fixed number per iteration), and its reverse's m-th pop of k reads
 * `slots[_it * k + k - 1 - m]` (the segment popped before the reverse pass). The pops of a reverse
 * pass are the body's leading statements (the adjoint pops stored values first); what the body
 * pushes and pops after them is the iteration's own traffic, left as is (the caller gives it a
 * region of its own). Undefined when the body exchanges nothing with another pass.
 */
function tapeSlots(
  body: Stmt[],
  buffer: string,
  problems: GpuProblems,
  loop: ForLoop,
): { body: Stmt[]; pushes: number } | undefined {
  let pushes = 0,
    pops = 0,
    anyPop = false,
    nestedPush = false;
  forEachStmt(body, (s) => {
    if (popsIn(s)) anyPop = true;
    if ((s.k === 'push' || s.k === 'pushArray') && !body.includes(s)) nestedPush = true;
  });
  for (const s of body) if (s.k === 'push') pushes++;
  if (!anyPop) {
    if (nestedPush) {
      problems.add(
        'a push on the tape inside a branch or loop of a parallel loop body, popped in another pass (the GPU tape needs a fixed number per iteration there)',
        loop.loc,
      );
      return undefined;
    }
    if (!pushes) return undefined;
  }
  // a reverse pass: the pops before its first push (or loop or branch with pops) read the segment
  let lead = 0;
  if (anyPop) {
    const traffic = (s: Stmt): boolean => {
      let t = false;
      forEachStmt([s], (x) => {
        if (x.k === 'push' || x.k === 'pushArray' || (x !== s && popsIn(x))) t = true;
      });
      return t || (s.k !== 'decl' && s.k !== 'assign' && popsIn(s) > 0);
    };
    while (lead < body.length && !traffic(body[lead])) pops += popsIn(body[lead++]);
    if (!pops) return undefined;
  }
  const k = pushes || pops;
  const slot = (j: number): Expr & { k: 'index' } => ({
    k: 'index',
    array: buffer,
    index: { k: 'binary', op: '+', l: { k: 'binary', op: '*', l: v(IT), r: num(k) }, r: num(j) },
  });
  let j = 0,
    m = 0;
  const pop = (e: Expr) => mapExpr(e, (x) => (x.k === 'pop' ? slot(k - 1 - m++) : undefined));
  const out = body.map((s, i): Stmt => {
    if (!anyPop) return s.k === 'push' ? { k: 'assign', target: slot(j++), op: '=', value: s.value } : s;
    if (i >= lead) return s;
    if (s.k === 'decl') return { ...s, init: pop(s.init) };
    if (s.k === 'assign')
      return {
        ...s,
        target: s.target.k === 'index' ? { ...s.target, index: pop(s.target.index) } : s.target,
        value: pop(s.value),
      };
    return s;
  });
  return { body: out, pushes };
}

/** Does a nest body use the tape? */
function hasTape(body: Stmt[]): boolean {
  let any = false;
  forEachStmt(body, (s) => {
    if (s.k === 'push' || s.k === 'pushArray' || s.k === 'popArray' || popsIn(s)) any = true;
  });
  return any;
}

/** The name of a pass's flat iteration number (declared when the pass uses tape slots). */
export const IT = '_it';
/** The host locals (and uniforms) holding the tape slots each iteration of a pass may use: `_tpk1`, … */
const TAPE_SPAN = '_tpk';
/** The private array of a pass whose iterations push and pop a constant number of values themselves: `_tpp1`, … */
const PRIVATE_TAPE = '_tpp';
/** The most values a pass's iterations keep on a private tape (more go to a region of a device buffer). */
const PRIVATE_TAPE_MAX = 64;

/** `name`: an invocation's own array of `length` f32 values (zeroed). */
const privateArray = (name: string, length: number): Stmt => ({
  k: 'decl',
  name,
  mutable: true,
  init: { k: 'runtime', call: { fn: 'array', type: 'Float32Array', length: num(length) } },
});

/** Is `s` a private array's declaration (privateArray)? */
export function privateArrayLength(s: Stmt): number | undefined {
  if (s.k !== 'decl' || s.init.k !== 'runtime' || s.init.call.fn !== 'array') return undefined;
  const n = s.init.call.length;
  return n.k === 'num' ? n.value : undefined;
}

/** Updates of the device scalars inside a parallel pass: every iteration makes them (atomic). */
function atomicScalars(body: Stmt[], buffer: string, problems: GpuProblems): Stmt[] {
  return mapAssigns(body, (s) => {
    if (s.target.k !== 'index' || s.target.array !== buffer) return s;
    if (s.op === '=' && !slotUpdate(s, buffer))
      problems.add('the iterations of a parallel loop overwrite a float scalar', s.loc);
    return { ...s, atomic: true };
  });
}

/** Does `e` use array `name` only through `name.length` (known on the host)? */
function lengthOnly(e: Expr, name: string): boolean {
  let element = false;
  walkExpr(e, (x) => {
    if (x.k === 'index' && x.array === name) element = true;
  });
  return !element;
}

/** WebGPU's default limit on invocations per workgroup. */
const MAX_INVOCATIONS = 256;

/** The nest's workgroup size: the default for its depth, or `// @parallel workgroup=16x16`. */
function workgroupSize(loop: ForLoop, depth: number, problems: GpuProblems): [number, number, number] {
  const dims = loop.pragma?.workgroup;
  if (!dims) return WORKGROUP[depth];
  const written = dims.join('x');
  if (dims.length !== depth) {
    problems.add(
      `workgroup=${written} has ${dims.length} dimension${dims.length === 1 ? '' : 's'}, the @parallel nest ${depth}`,
      loop.loc,
    );
    return WORKGROUP[depth];
  }
  const size = dims.reduce((a, b) => a * b, 1);
  if (dims.some((d) => d < 1) || size > MAX_INVOCATIONS) {
    problems.add(`workgroup=${written} has ${size} invocations; WebGPU allows 1 to ${MAX_INVOCATIONS}`, loop.loc);
    return WORKGROUP[depth];
  }
  // x is the innermost loop: `workgroup=4x64` over (y, x) is 64 along x, 4 along y
  const xyz = [...dims].reverse();
  return [xyz[0], xyz[1] ?? 1, xyz[2] ?? 1];
}

/** The name of the storage buffer a single-invocation pass returns its float values in. */
export const RETURN_BUFFER = '_ret';

/** A function without @parallel loops: its whole body as one invocation (returns go to `_ret`). */
function singleInvocation(
  params: { name: string; type: string }[],
  fnBody: Stmt[],
  types: Types,
  arrays: Set<string>,
  ctxName: string,
  adjoint: AdjointInfo | undefined,
  problems: GpuProblems,
): Omit<LoweredProgram, 'scalars' | 'sequential'> {
  // an adjoint's results are in its device scalars, its tape in a buffer the host sizes
  let body = adjoint ? stripReturnValues(fnBody) : fnBody;
  const host: Stmt[] = [];
  if (adjoint) {
    const paramNames = new Set(params.map((p) => p.name));
    const tape = invocationTape(
      body,
      adjoint.tapeSlots,
      (n) => paramNames.has(n),
      (m, l) => problems.add(m, l),
    );
    body = tape.body;
    for (const n of tape.integers) types.names.set(n, 'i32');
    const alloc = (name: string, length: Expr): Stmt => hostCall(ctxName, 'alloc', { k: 'str', value: name }, length);
    if (tape.bound) host.push(alloc(adjoint.tapeSlots, tape.bound));
    for (const a of tape.allocs) {
      host.push(alloc(a.name, { k: 'length', array: a.array }));
      arrays.add(a.name);
    }
  }
  let returns = 0;
  forEachStmt(body, (s) => {
    if (s.k === 'return' && s.value) returns = s.value.k === 'tuple' ? s.value.items.length : 1;
  });
  const paramNames = new Set(params.map((p) => p.name));
  const res = resources(body, [], arrays, types, (n) => paramNames.has(n), problems, returns ? 1 : 0);
  const bindings = res.bindings;
  if (returns) bindings.push({ binding: bindings.length + 1, name: RETURN_BUFFER, access: 'read_write' });
  const uniforms = [...res.uniforms, ...res.packUniforms];
  host.push(dispatchCall(ctxName, 0, [num(1)], res.uniforms.map(uniformValue)));
  return {
    passes: [
      {
        shape: { kind: 'single' },
        body: checkedPassBody(res.body, new Set(), problems),
        types,
        workgroupSize: [1, 1, 1],
        bindings,
        uniforms,
        ...(res.packs.length ? { packs: res.packs } : {}),
      },
    ],
    host,
    returns,
  };
}

/** WebGPU's default `maxStorageBuffersPerShaderStage`: what every device allows. */
export const STORAGE_BUFFER_LIMIT = 8;

/** How many storage buffers a pass would need without packing (its bindings, a pack counting its members). */
export function storageBuffersNeeded(pass: Pick<PassOut, 'bindings' | 'packs'>): number {
  return pass.bindings.length + (pass.packs ?? []).reduce((n, p) => n + p.members.length - 1, 0);
}

/**
 * What a pass over `body` binds: the arrays it uses (binding 1, 2, … by name; `read_write` where
 * written) and the scalars (of the names `uniform` admits) it reads, in its uniform struct.
 *
 * A pass that needs more than STORAGE_BUFFER_LIMIT storage buffers (`reserved` of them bound by the
 * caller) gets some of its arrays packed into one binding per element type (`packs`; the runtime
 * copies them in before the pass and the written ones back after it): `body` with their elements
 * at `pack[offset + i]` and their lengths uniforms (`packUniforms`, filled by the runtime).
 * Read-only arrays are packed first (no copy back); atomic arrays only with atomic arrays; arrays
 * the nest's bounds read are not packed.
 */
function resources(
  body: Stmt[],
  extra: Expr[],
  arrays: Set<string>,
  types: Types,
  uniform: (name: string) => boolean,
  problems: GpuProblems,
  reserved = 0,
): {
  body: Stmt[];
  bindings: PassOut['bindings'];
  uniforms: PassOut['uniforms'];
  packUniforms: PassOut['uniforms'];
  packs: NonNullable<PassOut['packs']>;
} {
  const used = new Set<string>();
  for (const e of extra) readsOf(e, used);
  forEachStmt(body, (s) => {
    for (const e of ownExprs(s)) readsOf(e, used);
    if (s.k === 'assign') used.add(s.target.k === 'var' ? s.target.name : s.target.array);
  });
  const written = writesOf(body);
  const access = (name: string) => (written.has(name) ? 'read_write' : 'read') as 'read' | 'read_write';
  const numbered = (names: string[]) => names.sort().map((name, i) => ({ binding: i + 1, name, access: access(name) }));
  const bound = [...used].filter((n) => arrays.has(n));
  const uniforms = [...used]
    .filter((n) => !arrays.has(n) && uniform(n))
    .sort()
    .map((name) => ({ name, type: (types.names.get(name) ?? 'f32') as 'f32' | 'i32' | 'u32' }));
  let excess = bound.length + reserved - STORAGE_BUFFER_LIMIT;
  if (excess <= 0) return { body, bindings: numbered(bound), uniforms, packUniforms: [], packs: [] };
  // the arrays that can share a binding, by element type, read-only ones first
  const atomics = atomicArrays(body);
  const inBounds = new Set<string>();
  for (const e of extra)
    walkExpr(e, (x) => {
      if (x.k === 'index' || x.k === 'length') inBounds.add(x.array);
    });
  const byType = new Map<string, string[]>();
  for (const name of [...bound].sort((a, b) => Number(written.has(a)) - Number(written.has(b)) || (a < b ? -1 : 1))) {
    if (inBounds.has(name)) continue;
    // atomic arrays (atomic<u32> holding f32 bits) share a binding among themselves
    const t = `${atomics.has(name) ? 'atomic ' : ''}${types.arrays.get(name) ?? 'f32'}`;
    byType.set(t, [...(byType.get(t) ?? []), name]);
  }
  const taken = (n: string) => !types.packNames.has(n) && (arrays.has(n) || types.names.has(n) || used.has(n));
  const fresh = (base: string) => {
    let n = base;
    while (taken(n)) n += '_';
    return n;
  };
  const packs: NonNullable<PassOut['packs']> = [];
  const member = new Map<string, { pack: string; offset: string; length: string }>();
  for (const [t, group] of [...byType].sort((a, b) => b[1].length - a[1].length)) {
    if (excess <= 0 || group.length < 2) continue;
    const names = group.slice(0, excess + 1);
    excess -= names.length - 1;
    const pack = fresh(`_pk${packs.length + 1}`);
    types.packNames.add(pack);
    types.arrays.set(pack, t.replace('atomic ', '') as WType);
    const members = names.map((name) => ({
      name,
      offset: fresh(`_off_${name}`),
      length: fresh(`_len_${name}`),
      written: written.has(name),
    }));
    for (const m of members) {
      types.packNames.add(m.offset).add(m.length);
      member.set(m.name, { pack, offset: m.offset, length: m.length });
      types.names.set(m.offset, 'i32');
      types.names.set(m.length, 'i32');
    }
    packs.push({ name: pack, members });
  }
  if (excess > 0)
    problems.add(
      `a pass needs ${bound.length + reserved} storage buffers, over WebGPU's default limit of ${STORAGE_BUFFER_LIMIT} even with the arrays of each element type sharing a binding (arrays the loop bounds read cannot)`,
    );
  const at = (array: string, index: Expr): Expr & { k: 'index' } => {
    const m = member.get(array)!;
    return { k: 'index', array: m.pack, index: { k: 'binary', op: '+', l: v(m.offset), r: index } };
  };
  const expr = (e: Expr) =>
    mapExpr(e, (x) =>
      x.k === 'index' && member.has(x.array)
        ? at(x.array, x.index)
        : x.k === 'length' && member.has(x.array)
          ? v(member.get(x.array)!.length)
          : undefined,
    );
  const packed = mapAssigns(
    mapStmts(body, (e) => expr(e)),
    (s): Stmt =>
      s.target.k === 'index' && member.has(s.target.array) ? { ...s, target: at(s.target.array, s.target.index) } : s,
  );
  const bindings = numbered([...bound.filter((n) => !member.has(n)), ...packs.map((p) => p.name)]);
  for (const b of bindings) {
    const p = packs.find((x) => x.name === b.name);
    if (p) b.access = p.members.some((m) => m.written) ? 'read_write' : 'read';
  }
  const packUniforms = packs.flatMap((p) =>
    p.members.flatMap((m) => [
      { name: m.offset, type: 'i32' as const },
      { name: m.length, type: 'i32' as const },
    ]),
  );
  return { body: packed, bindings, uniforms, packUniforms, packs };
}

/** The host's `ctx.dispatch(pass, [extents], { uniforms })`. */
function dispatchCall(ctxName: string, pass: number, extents: Expr[], values: { key: string; value: Expr }[]): Stmt {
  return hostCall(ctxName, 'dispatch', num(pass), { k: 'tuple', items: extents }, { k: 'record', fields: values });
}

/** A uniform the host passes by its own name: `{ n }`. */
const uniformValue = (u: { name: string }) => ({ key: u.name, value: v(u.name) });

/** The host function's call `ctx.method(args…)` of the runtime (`GpuDispatch`). */
const gpuCall = (ctx: string, method: GpuMethod, ...args: Expr[]): Expr => ({
  k: 'runtime',
  call: { fn: 'gpu', ctx, method, args },
});
const hostCall = (ctx: string, method: GpuMethod, ...args: Expr[]): Stmt => ({
  k: 'effect',
  e: gpuCall(ctx, method, ...args),
});

function stripReturnValues(body: Stmt[]): Stmt[] {
  return body.map((s): Stmt => (s.k === 'return' ? { k: 'return' } : mapBlocks(s, stripReturnValues)));
}

/** Arrays a pass updates atomically (their updates marked so by schedule/): declared `atomic<u32>` holding the float's bits. */
export function atomicArrays(body: Stmt[]): Set<string> {
  const out = new Set<string>();
  forEachStmt(body, (s) => {
    if (s.k === 'assign' && s.atomic && s.target.k === 'index') out.add(s.target.array);
  });
  return out;
}

export type SlotOp = '+' | '*' | 'max' | 'min';

/**
 * The update of a constant device-scalar slot by a reduction (ir/reduction.ts): `_sc[k] += e`,
 * `-=`, `*=`, or `_sc[k] = Math.max(_sc[k], e)` / `Math.min`, with its operator and contribution
 * (`e`, negated for `-=`), or undefined.
 */
export function slotUpdate(s: Stmt, buffer: string): { slot: number; op: SlotOp; value: Expr } | undefined {
  if (s.k !== 'assign' || s.target.k !== 'index' || s.target.array !== buffer || s.target.index.k !== 'num')
    return undefined;
  const slot = s.target.index.value;
  const isSlot = (e: Expr) => e.k === 'index' && e.array === buffer && e.index.k === 'num' && e.index.value === slot;
  const clean = (e: Expr) => {
    let reads = false;
    walkExpr(e, (x) => {
      if (x.k === 'index' && x.array === buffer && !(x.index.k === 'num' && x.index.value !== slot)) reads = true;
    });
    return !reads;
  };
  if ((s.op === '+=' || s.op === '*=') && clean(s.value))
    return { slot, op: s.op === '+=' ? '+' : '*', value: s.value };
  if (s.op === '-=' && clean(s.value)) return { slot, op: '+', value: { k: 'unary', op: '-', e: s.value } as Expr };
  const val = s.value;
  if (s.op === '=' && val.k === 'call' && (val.fn === 'Math.max' || val.fn === 'Math.min') && val.args.length === 2) {
    const op = val.fn === 'Math.max' ? 'max' : 'min';
    const [a, b] = val.args;
    if (isSlot(a) && clean(b)) return { slot, op, value: b };
    if (isSlot(b) && clean(a)) return { slot, op, value: a };
  }
  return undefined;
}

/**
 * The constant slots of the device-scalar buffer that a pass body only updates atomically by a
 * reduction (`+=`, `-=`, `*=`, Math.max/min: the scalar reductions of parallel loops,
 * ir/reduction.ts, and scalar adjoints the schedule left to atomics), with their operator: each
 * invocation combines into a private value instead, passCode combines the values of a workgroup in
 * workgroup memory and makes one atomic update (a compare-and-swap loop) per workgroup.
 */
function workgroupSums(body: Stmt[], buffer: string): Map<number, SlotOp> | undefined {
  const slots = new Map<number, SlotOp>();
  const read = new Set<number>();
  let dynamic = false;
  const reads = (e: Expr) =>
    walkExpr(e, (x) => {
      if (x.k !== 'index' || x.array !== buffer) return;
      if (x.index.k === 'num') read.add(x.index.value);
      else dynamic = true;
    });
  forEachStmt(body, (s) => {
    const u = s.k === 'assign' && s.atomic ? slotUpdate(s, buffer) : undefined;
    if (u) {
      // one operator per slot
      if (slots.has(u.slot) && slots.get(u.slot) !== u.op) read.add(u.slot);
      slots.set(u.slot, u.op);
      reads(u.value);
      return;
    }
    for (const e of ownExprs(s)) reads(e);
    if (s.k !== 'assign' || s.target.k !== 'index' || s.target.array !== buffer) return;
    if (s.target.index.k !== 'num') dynamic = true;
    else read.add(s.target.index.value);
  });
  const summed = [...slots.keys()].filter((k) => !read.has(k)).sort((a, b) => a - b);
  if (dynamic || !summed.length) return undefined;
  return new Map(summed.map((k) => [k, slots.get(k)!]));
}

/**
 * A pass body as the printer takes it, or the reason the GPU cannot run it: statements the shader
 * language has (declarations, assignments, branches, loops, returns of the single-invocation
 * pass), expressions without host-only parts (tape pops, records, runtime calls), and updates of
 * the `atomics` (arrays declared `atomic<u32>`) that are adds, stores or the workgroup reductions
 * of `sums`.
 */
function checkedPassBody(body: Stmt[], atomics: Set<string>, problems: GpuProblems, sums?: WorkgroupSums): Stmt[] {
  const deviceExpr = (e: Expr, s: Stmt) =>
    walkExpr(e, (x) => {
      if (x.k === 'pop' || x.k === 'tuple' || x.k === 'record' || x.k === 'runtime' || x.k === 'str')
        problems.add(`generated ${x.k} expression`, 'loc' in s ? s.loc : undefined);
    });
  forEachStmt(body, (s) => {
    switch (s.k) {
      case 'decl':
        if (privateArrayLength(s) !== undefined) return;
        break;
      case 'if':
      case 'for':
      case 'comment':
      case 'block':
        break;
      case 'return':
        for (const e of !s.value ? [] : s.value.k === 'tuple' ? s.value.items : [s.value]) deviceExpr(e, s);
        return;
      case 'assign': {
        if (s.target.k !== 'index' || !atomics.has(s.target.array)) break;
        const reduced =
          s.target.array === sums?.buffer && s.target.index.k === 'num' && sums.ops.has(s.target.index.value);
        if (s.op === '=' && !reduced && slotUpdate(s, s.target.array))
          problems.add(
            `a ${(s.value as { fn: string }).fn} reduction into a float scalar the pass also reads or writes otherwise`,
            s.loc,
          );
        if (!reduced && s.op !== '=' && s.op !== '+=' && s.op !== '-=')
          problems.add(`a ${s.op} update of ${s.target.array}, which the iterations share`, s.loc);
        break;
      }
      default:
        problems.add(
          `a ${s.k} statement inside a @parallel loop (the tape is not on the GPU yet)`,
          'loc' in s ? s.loc : undefined,
        );
        return;
    }
    for (const e of ownExprs(s)) deviceExpr(e, s);
  });
  return body;
}
