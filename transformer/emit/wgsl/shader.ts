/**
 * WGSL text of the passes the WebGPU lowering (lower/gpu/program.ts) leaves: per pass shape, the
 * uniform struct and bindings, the invocation's iteration (a nest's loop variables from
 * `global_invocation_id`, a grid-stride loop, or one invocation), the body, and the workgroup
 * reductions and compare-and-swap functions of its atomic arrays. Printing only: the lowering
 * has checked that the GPU runs every statement (an `internal:` error here is a bug).
 */
import type { ForLoop, Stmt } from '../../ir/types.js';
import { forEachStmt } from '../../ir/walk.js';
import { reversedLoop } from '../../ir/print.js';
import type { Types, WType } from '../../lower/gpu/types.js';
import {
  IT,
  RETURN_BUFFER,
  atomicArrays,
  privateArrayLength,
  slotUpdate,
  type LoweredPass,
  type PassOut,
  type SlotOp,
  type WorkgroupSums,
} from '../../lower/gpu/program.js';
import { wexpr, wname } from './expr.js';

/** The WGSL code of a lowered pass, with the kernel line of each of its lines (0: scaffolding). */
export function printPass(pass: LoweredPass): { code: string; sourceLines: number[] } {
  const { shape, body, types, uniforms, bindings, workgroupSize } = pass;
  let code: Code;
  if (shape.kind === 'nest')
    code = passCode(shape.nest, body, types, uniforms, bindings, workgroupSize, shape.tape, shape.sums);
  else if (shape.kind === 'gridStride')
    code = gridStrideCode(shape.nest, body, types, uniforms, bindings, shape.count, shape.tape);
  else {
    code = header(
      uniforms,
      bindings.map((b) => ({ ...b, type: b.name === RETURN_BUFFER ? 'f32' : (types.arrays.get(b.name) ?? 'f32') })),
      [1, 1, 1],
    );
    stmts(body, types, 1, code);
    code.push('}', '');
  }
  return { code: code.text(), sourceLines: code.sourceLines };
}

/** WGSL lines with the kernel source line each comes from (0: generated scaffolding). */
class Code {
  readonly lines: string[] = [];
  readonly sourceLines: number[] = [];
  /** the source line of what is being emitted */
  line = 0;
  push(...text: string[]): void {
    for (const t of text) {
      this.lines.push(t);
      this.sourceLines.push(this.line);
    }
  }
  text(): string {
    return this.lines.join('\n');
  }
}
/** Uniform struct, bindings and the entry point's first line; a compare-and-swap add per atomic array. */
function header(
  uniforms: PassOut['uniforms'],
  bindings: (PassOut['bindings'][number] & { type: string })[],
  wg: [number, number, number],
  atomics: Set<string> = new Set(),
  shared: string[] = [],
  /** the operators other than `+` of the workgroup reductions into the atomic arrays (a CAS function each) */
  ops: Set<SlotOp> = new Set(),
  /** the atomic arrays the pass adds to (a CAS add each): all of them unless said */
  adds: Set<string> = atomics,
): Code {
  const lines = new Code();
  // binding 0: the scalars, when the pass reads any
  if (uniforms.length)
    lines.push(
      'struct Uniforms {',
      ...uniforms.map((u) => `  ${wname(u.name)}: ${u.type},`),
      '}',
      '@group(0) @binding(0) var<uniform> u: Uniforms;',
    );
  for (const b of bindings) {
    const element = atomics.has(b.name) ? 'atomic<u32>' : b.type;
    lines.push(`@group(0) @binding(${b.binding}) var<storage, ${b.access}> ${wname(b.name)}: array<${element}>;`);
  }
  for (const a of atomics) {
    // WGSL has no float atomics: a CAS loop on the bits (the portable emulation)
    const x = wname(a);
    if (adds.has(a)) lines.push(...casFunction(atomicAdd(a), x, 'bitcast<f32>(old) + v'));
    for (const op of ops) {
      if (op === '+') continue;
      // max/min: no store when the slot already holds the extremum (ties keep the slot's bits)
      const keep = op === '*' ? undefined : op === 'max' ? 'v > bitcast<f32>(old)' : 'v < bitcast<f32>(old)';
      lines.push(...casFunction(atomicUpdate(a, op), x, combine(op, 'bitcast<f32>(old)', 'v'), keep));
    }
  }
  if (shared.length) lines.push('', ...shared);
  lines.push('', `@compute @workgroup_size(${wg.join(', ')})`);
  const builtins = [
    '@builtin(global_invocation_id) gid: vec3<u32>',
    '@builtin(num_workgroups) nwg: vec3<u32>',
    ...(shared.length ? ['@builtin(local_invocation_index) _lid: u32'] : []),
  ];
  lines.push(`fn main(${builtins.join(', ')}) {`);
  for (const u of uniforms) lines.push(`  let ${wname(u.name)}: ${u.type} = u.${wname(u.name)};`);
  return lines;
}
/**
 * `fn name(i, v)`: element i of the atomic<u32> array `x` := `value` (of `old`, the element's f32,
 * and `v`) by a compare-and-swap loop on the bits (WGSL has no float atomics); with `keep`, only
 * while `keep` holds (no store when the element already wins).
 */
function casFunction(name: string, x: string, value: string, keep?: string): string[] {
  return [
    '',
    `fn ${name}(i: i32, v: f32) {`,
    `  var old: u32 = atomicLoad(&${x}[i]);`,
    '  loop {',
    ...(keep ? [`    if (!(${keep})) {`, '      break;', '    }'] : []),
    `    let r = atomicCompareExchangeWeak(&${x}[i], old, bitcast<u32>(${value}));`,
    '    if (r.exchanged) {',
    '      break;',
    '    }',
    '    old = r.old_value;',
    '  }',
    '}',
  ];
}

/** Private and workgroup-memory names of the workgroup value of device scalar `slot` (expr.ts reserves them). */
const privateSum = (slot: number) => `_gr${slot}`;
const workgroupSum = (slot: number) => `_gw${slot}`;
/** The identity of a reduction operator in f32 (±the largest finite f32 for max/min: WGSL has no infinity). */
const IDENTITY: Record<SlotOp, string> = {
  '+': '0.0',
  '*': '1.0',
  max: '-3.4028234663852886e38',
  min: '3.4028234663852886e38',
};

/** `a op b` in WGSL. */
const combine = (op: SlotOp, a: string, b: string): string =>
  op === '+' ? `${a} + ${b}` : op === '*' ? `${a} * ${b}` : `${op}(${a}, ${b})`;
/**
 * The shader of one nest (`tape`: its body uses tape slots, indexed by the flat iteration number;
 * `sums`: device scalars summed per workgroup, see workgroupSums).
 */
function passCode(
  nest: ForLoop[],
  body: Stmt[],
  types: Types,
  uniforms: PassOut['uniforms'],
  bindings: PassOut['bindings'],
  wg: [number, number, number],
  tape: boolean,
  sums?: WorkgroupSums,
): Code {
  const atomics = atomicArrays(body);
  const slots = sums ? [...sums.ops.keys()] : [];
  const opOf = (k: number) => sums!.ops.get(k)!;
  if (sums) atomics.add(sums.buffer);
  const size = wg[0] * wg[1] * wg[2];
  const shared = sums ? slots.map((k) => `var<workgroup> ${workgroupSum(k)}: array<f32, ${size}>;`) : [];
  const lines = header(
    uniforms,
    bindings.map((b) => ({ ...b, type: types.arrays.get(b.name) ?? 'f32' })),
    wg,
    atomics,
    shared,
    new Set(slots.map(opOf)),
    atomicAdds(body, atomics, sums),
  );
  // the iteration: gid.x for the innermost loop; a long 1-D space is folded into y; in a nest deeper
  // than 3, z is the flat number of the outer loops' iteration (digits by their trip counts _z0, …)
  const axes =
    nest.length === 1 ? [`gid.x + gid.y * nwg.x * ${wg[0]}u`] : ['gid.x', 'gid.y', 'gid.z'].slice(0, nest.length);
  if (nest.length > 3) {
    lines.push('  var _zr: i32 = i32(gid.z);');
    for (let k = 2; k < nest.length; k++) {
      const l = nest[nest.length - 1 - k];
      const digit = k < nest.length - 1 ? `_zr % _z${k - 2}` : '_zr';
      lines.push(`  let ${wname(l.v)}: i32 = ${wexpr(l.init, types, 'i32')} + ${l.step} * (${digit});`);
      if (k < nest.length - 1) lines.push(`  _zr = _zr / _z${k - 2};`);
    }
  }
  [...nest]
    .reverse()
    .slice(0, 3)
    .forEach((l, k) => {
      if (nest.length > 3 && k === 2) return;
      const start = wexpr(l.init, types, 'i32');
      lines.push(`  let ${wname(l.v)}: i32 = ${start} + ${l.step} * i32(${axes[k]});`);
    });
  const inRange = nest.map((l) => `${wname(l.v)} ${l.cmp} ${wexpr(l.bound, types, 'i32')}`).join(' && ');
  lines.line = nest[0].loc?.line ?? 0;
  // with workgroup sums every invocation reaches the barriers: the body is guarded, not returned from
  const depth = sums ? 2 : 1;
  if (sums)
    lines.push(...slots.map((k) => `  var ${privateSum(k)}: f32 = ${IDENTITY[opOf(k)]};`), `  if (${inRange}) {`);
  else lines.push(`  if (!(${inRange})) {`, '    return;', '  }');
  const pad = '  '.repeat(depth);
  if (tape) {
    const flat =
      nest.length === 1
        ? `i32(${axes[0]})`
        : nest.length === 2
          ? 'i32(gid.x) + _e0 * i32(gid.y)'
          : 'i32(gid.x) + _e0 * (i32(gid.y) + _e1 * i32(gid.z))';
    // (gid.z of a deeper nest is already the flat number of its outer loops)
    lines.push(`${pad}let ${IT}: i32 = ${flat};`);
  }
  stmts(body, types.forPass(atomics, sums), depth, lines);
  if (sums) {
    // a tree over the workgroup's invocations (any size: the pairs beyond it are skipped)
    const half = 2 ** Math.ceil(Math.log2(size)) / 2;
    lines.line = 0;
    lines.push(
      '  }',
      ...slots.map((k) => `  ${workgroupSum(k)}[_lid] = ${privateSum(k)};`),
      '  workgroupBarrier();',
      `  for (var _grs: u32 = ${half}u; _grs > 0u; _grs = _grs >> 1u) {`,
      `    if (_lid < _grs && _lid + _grs < ${size}u) {`,
      ...slots.map((k) =>
        opOf(k) === '+'
          ? `      ${workgroupSum(k)}[_lid] += ${workgroupSum(k)}[_lid + _grs];`
          : `      ${workgroupSum(k)}[_lid] = ${combine(opOf(k), `${workgroupSum(k)}[_lid]`, `${workgroupSum(k)}[_lid + _grs]`)};`,
      ),
      '    }',
      '    workgroupBarrier();',
      '  }',
      '  if (_lid == 0u) {',
      ...slots.map((k) => `    ${atomicUpdate(sums.buffer, opOf(k))}(${k}, ${workgroupSum(k)}[0]);`),
      '  }',
    );
  }
  lines.line = 0;
  lines.push('}', '');
  return lines;
}

/**
 * The shader of a grid-stride nest: invocation g (of `count`, a uniform) runs the iterations with
 * flat numbers g, g + count, … below the product of the trip counts `_gt0` (innermost), `_gt1`, …;
 * each flat number is decomposed into the loop variables (so they are always in range).
 */
function gridStrideCode(
  nest: ForLoop[],
  body: Stmt[],
  types: Types,
  uniforms: PassOut['uniforms'],
  bindings: PassOut['bindings'],
  count: string,
  tape: boolean,
): Code {
  const atomics = atomicArrays(body);
  const lines = header(
    uniforms,
    bindings.map((b) => ({ ...b, type: types.arrays.get(b.name) ?? 'f32' })),
    [64, 1, 1],
    atomics,
  );
  const n = wname(count);
  const total = nest.map((_, i) => `_gt${i}`).join(' * ');
  lines.line = nest[0].loc?.line ?? 0;
  // (the dispatch rounds up to whole workgroups: the invocations past the count have no share)
  lines.push(
    '  let _g0: i32 = i32(gid.x + gid.y * nwg.x * 64u);',
    `  if (_g0 >= ${n}) {`,
    '    return;',
    '  }',
    `  for (var _g: i32 = _g0; _g < ${total}; _g += ${n}) {`,
    '    var _gr: i32 = _g;',
  );
  [...nest].reverse().forEach((l, k) => {
    const last = k === nest.length - 1;
    lines.push(
      `    let ${wname(l.v)}: i32 = ${wexpr(l.init, types, 'i32')} + ${l.step} * (${last ? '_gr' : `_gr % _gt${k}`});`,
    );
    if (!last) lines.push(`    _gr = _gr / _gt${k};`);
  });
  if (tape) lines.push(`    let ${IT}: i32 = _g;`);
  stmts(body, types.forPass(atomics), 2, lines);
  lines.line = 0;
  lines.push('  }', '}', '');
  return lines;
}

const atomicAdd = (array: string): string => `_atomicAdd_${wname(array)}`;

/**
 * The atomic arrays a pass adds to (`+=`, `-=` not reduced into a workgroup value, or a `+`
 * workgroup reduction's one update per workgroup): those that need the CAS add function (a max/min
 * or product reduction's buffer does not).
 */
function atomicAdds(body: Stmt[], atomics: Set<string>, sums?: WorkgroupSums): Set<string> {
  const out = new Set<string>();
  if (sums && [...sums.ops.values()].includes('+')) out.add(sums.buffer);
  forEachStmt(body, (s) => {
    if (s.k !== 'assign' || s.target.k !== 'index' || !atomics.has(s.target.array)) return;
    if (s.op !== '+=' && s.op !== '-=') return;
    const reduced = s.target.array === sums?.buffer && s.target.index.k === 'num' && sums.ops.has(s.target.index.value);
    if (!reduced) out.add(s.target.array);
  });
  return out;
}
/** The compare-and-swap update of `array`'s elements by a reduction operator. */
const atomicUpdate = (array: string, op: SlotOp): string =>
  op === '+' ? atomicAdd(array) : `_atomic${op === '*' ? 'Mul' : op === 'max' ? 'Max' : 'Min'}_${wname(array)}`;

function stmts(body: Stmt[], t: Types, depth: number, out: Code): void {
  const pad = '  '.repeat(depth);
  for (const s of body) {
    if ('loc' in s && s.loc) out.line = s.loc.line;
    switch (s.k) {
      case 'decl': {
        const length = privateArrayLength(s);
        if (length !== undefined) {
          out.push(`${pad}var ${wname(s.name)}: array<f32, ${length}>;`);
          break;
        }
        const ty: WType = t.names.get(s.name) ?? 'f32';
        out.push(`${pad}${s.mutable ? 'var' : 'let'} ${wname(s.name)}: ${ty} = ${wexpr(s.init, t, ty)};`);
        break;
      }
      case 'assign': {
        const ty: WType =
          s.target.k === 'var' ? (t.names.get(s.target.name) ?? 'f32') : (t.arrays.get(s.target.array) ?? 'f32');
        if (s.target.k === 'index' && t.atomic.has(s.target.array)) {
          const i = wexpr(s.target.index, t, 'i32');
          const value = wexpr(s.value, t, 'f32');
          const reduced =
            s.target.array === t.sums?.buffer && s.target.index.k === 'num' && t.sums.ops.has(s.target.index.value);
          if (s.op === '=' && !reduced && slotUpdate(s, s.target.array))
            throw new Error(`internal: a reduction into ${s.target.array} the lowering left to the printer`);
          if (s.op === '=' && !reduced)
            out.push(`${pad}atomicStore(&${wname(s.target.array)}[${i}], bitcast<u32>(${value}));`);
          else if (reduced) {
            // a reduction into the invocation's private value (workgroupSums)
            const u = slotUpdate(s, s.target.array)!;
            const k = privateSum(u.slot);
            if (s.op === '+=' || s.op === '-=') out.push(`${pad}${k} ${s.op} ${value};`);
            else out.push(`${pad}${k} = ${combine(u.op, k, `(${wexpr(u.value, t, 'f32')})`)};`);
          } else if (s.op === '+=' || s.op === '-=')
            out.push(`${pad}${atomicAdd(s.target.array)}(${i}, ${s.op === '-=' ? `-(${value})` : value});`);
          else
            throw new Error(
              `internal: a ${s.op} update of the atomic ${s.target.array} the lowering left to the printer`,
            );
          break;
        }
        const target =
          s.target.k === 'var' ? wname(s.target.name) : `${wname(s.target.array)}[${wexpr(s.target.index, t, 'i32')}]`;
        out.push(`${pad}${target} ${s.op} ${wexpr(s.value, t, ty)};`);
        break;
      }
      case 'if':
        out.push(`${pad}if (${wexpr(s.cond, t, 'bool')}) {`);
        stmts(s.then, t, depth + 1, out);
        if (s.else.length) {
          out.push(`${pad}} else {`);
          stmts(s.else, t, depth + 1, out);
        }
        out.push(`${pad}}`);
        break;
      case 'for': {
        if (s.reversed) {
          stmts([reversedLoop(s)], t, depth, out);
          break;
        }
        const v = wname(s.v);
        const step = s.step > 0 ? `${v} += ${s.step}` : `${v} -= ${-s.step}`;
        const init = wexpr(s.init, t, 'i32');
        out.push(`${pad}for (var ${v}: i32 = ${init}; ${v} ${s.cmp} ${wexpr(s.bound, t, 'i32')}; ${step}) {`);
        stmts(s.body, t, depth + 1, out);
        out.push(`${pad}}`);
        break;
      }
      case 'comment':
        for (const l of s.text.split('\n')) out.push(`${pad}// ${l}`);
        break;
      case 'return': {
        const items = !s.value ? [] : s.value.k === 'tuple' ? s.value.items : [s.value];
        items.forEach((e, i) => out.push(`${pad}${RETURN_BUFFER}[${i}] = ${wexpr(e, t, 'f32')};`));
        out.push(`${pad}return;`);
        break;
      }
      case 'block':
        out.push(`${pad}{`);
        stmts(s.body, t, depth + 1, out);
        out.push(`${pad}}`);
        break;
      default:
        throw new Error(`internal: a ${s.k} statement in a pass body the lowering left to the printer`);
    }
  }
}
