/**
 * A generated function (the primal or `K_d`) as WebGPU work: each `@parallel` nest becomes a
 * compute pass (a shader whose invocations are the nest's iterations, `global_invocation_id` x
 * for the innermost loop, bounds-guarded), and what is around the nests (integer locals,
 * sequential loops such as time steps) becomes a host function that dispatches the passes in
 * order, with the integer and float scalars each pass reads in a uniform buffer.
 */
import type { Expr, ForLoop, Stmt } from '../../ir/types.js';
import { parallelNest } from '../../analysis/tape.js';
import { declaredIn, forEachStmt, ownExprs, writesOf } from '../../ir/walk.js';
import { readsOf, walkExpr } from '../../ir/build.js';
import { printExpr } from '../print.js';
import { tripCount } from '../../schedule/space.js';
import { Types, type WType } from './types.js';
import type { WgslPass } from '../../../runtime/index.js';
import { wexpr, wname, WgslUnsupported } from './expr.js';

/** One compute pass (the runtime's description of it). */
export type PassOut = WgslPass;

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
}

const WORKGROUP: Record<number, [number, number, number]> = { 1: [64, 1, 1], 2: [8, 8, 1], 3: [4, 4, 4] };

export function wgslProgram(params: { name: string; type: string }[], body: Stmt[], ctxName: string): ProgramOut {
  const types = new Types(params, body);
  const arrays = new Set(params.filter((p) => p.type.endsWith('Array')).map((p) => p.name));
  for (const p of params) {
    if (p.type === 'Float64Array' || p.type === 'f64') throw new WgslUnsupported(`'${p.name}' is ${p.type}: WGSL has no 64-bit floats (use Float32Array and f32 for the GPU)`);
  }
  const passes: PassOut[] = [];
  const host = (stmts: Stmt[]): Stmt[] => stmts.map((s): Stmt => {
    switch (s.k) {
      case 'for':
        if (s.parallel) return dispatch(s);
        return { ...s, body: host(s.body) };
      // scalar code runs on the host (JavaScript numbers; floats reach the passes as f32 uniforms),
      // array elements live on the device
      case 'if':
        onHost(s.cond, 'a branch');
        return { ...s, then: host(s.then), else: host(s.else) };
      case 'decl':
        onHost(s.init, `the local '${s.name}'`);
        return s;
      case 'assign':
        if (s.target.k === 'index') throw new WgslUnsupported(`a write to ${s.target.array}[…] outside @parallel loops (put it inside a @parallel loop)`);
        onHost(s.value, `the assignment to '${s.target.name}'`);
        return s;
      case 'comment': return s;
      case 'return': if (!s.value) return s; throw new WgslUnsupported('a kernel with @parallel loops returning a float');
      default: throw new WgslUnsupported(`a ${s.k} statement outside @parallel loops`);
    }
  });
  const onHost = (e: Expr, what: string): void => {
    const array = [...readsOf(e)].find((n) => arrays.has(n) && !lengthOnly(e, n));
    if (array) throw new WgslUnsupported(`${what} reads ${array}[…] outside @parallel loops (array elements live on the device: put it inside a @parallel loop)`);
  };

  const dispatch = (loop: ForLoop): Stmt => {
    const nest = parallelNest(loop);
    if (nest.length > 3) throw new WgslUnsupported('a @parallel nest deeper than 3 loops');
    const nestVars = new Set(nest.map((l) => l.v));
    for (const l of nest) {
      for (const n of [...readsOf(l.init), ...readsOf(l.bound)]) {
        if (nestVars.has(n)) throw new WgslUnsupported(`the bounds of the loop over ${l.v} depend on ${n} (only rectangular @parallel nests map to a dispatch)`);
      }
    }
    const inner = nest[nest.length - 1].body;
    const local = declaredIn(inner);
    for (const l of nest) local.add(l.v);
    const used = new Set<string>();
    for (const l of nest) for (const e of [l.init, l.bound]) readsOf(e, used);
    forEachStmt(inner, (s) => { for (const e of ownExprs(s)) readsOf(e, used); if (s.k === 'assign') used.add(s.target.k === 'var' ? s.target.name : s.target.array); });
    const written = writesOf(inner);
    const bufferNames = [...used].filter((n) => arrays.has(n)).sort();
    const uniformNames = [...used].filter((n) => !arrays.has(n) && !local.has(n)).sort();
    const uniforms = uniformNames.map((name) => ({ name, type: (types.names.get(name) ?? 'f32') as 'f32' | 'i32' | 'u32' }));
    const bindings = bufferNames.map((name, i) => ({ binding: i + 1, name, access: (written.has(name) ? 'read_write' : 'read') as 'read' | 'read_write' }));
    const wg = workgroupSize(loop, nest.length);
    const code = passCode(nest, inner, types, uniforms, bindings, wg);
    passes.push({ code: code.text(), sourceLines: code.sourceLines, workgroupSize: wg, bindings, uniforms });
    // extents x, y, z: innermost loop first
    const extents = [...nest].reverse().map((l) => printExpr(tripCount(l)));
    const values = uniformNames.map((n) => (n === wname(n) ? n : `${JSON.stringify(n)}: ${n}`)).join(', ');
    return { k: 'effect', e: { k: 'raw', text: `${ctxName}.dispatch(${passes.length - 1}, [${extents.join(', ')}], { ${values} })` } };
  };

  // the host function gets every parameter (arrays for their .length) with array types relaxed
  const scalars = params.map((p) => ({ name: p.name, type: p.type.endsWith('Array') ? '{ readonly length: number }' : p.type }));
  let parallel = false;
  forEachStmt(body, (s) => { if (s.k === 'for' && s.parallel) parallel = true; });
  if (!parallel) return { ...singleInvocation(params, body, types, arrays, ctxName), scalars, sequential: true };
  const hostBody = host(body);
  return { passes, host: hostBody, scalars, returns: 0, sequential: false };
}

/** Does `e` use array `name` only through `name.length` (known on the host)? */
function lengthOnly(e: Expr, name: string): boolean {
  let element = false;
  walkExpr(e, (x) => { if (x.k === 'index' && x.array === name) element = true; });
  return !element;
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

/** WebGPU's default limit on invocations per workgroup. */
const MAX_INVOCATIONS = 256;

/** The nest's workgroup size: the default for its depth, or `// @parallel workgroup=16x16`. */
function workgroupSize(loop: ForLoop, depth: number): [number, number, number] {
  const m = /workgroup=(\d+(?:x\d+)*)/.exec(loop.pragma ?? '');
  if (!m) return WORKGROUP[depth];
  const dims = m[1].split('x').map(Number);
  if (dims.length !== depth) throw new WgslUnsupported(`workgroup=${m[1]} has ${dims.length} dimension${dims.length === 1 ? '' : 's'}, the @parallel nest ${depth}`);
  const size = dims.reduce((a, b) => a * b, 1);
  if (dims.some((d) => d < 1) || size > MAX_INVOCATIONS) throw new WgslUnsupported(`workgroup=${m[1]} has ${size} invocations; WebGPU allows 1 to ${MAX_INVOCATIONS}`);
  // x is the innermost loop: `workgroup=4x64` over (y, x) is 64 along x, 4 along y
  const xyz = [...dims].reverse();
  return [xyz[0], xyz[1] ?? 1, xyz[2] ?? 1];
}

/** The name of the storage buffer a single-invocation pass returns its float values in. */
export const RETURN_BUFFER = '_ret';

/** A function without @parallel loops: its whole body as one invocation (returns go to `_ret`). */
function singleInvocation(params: { name: string; type: string }[], body: Stmt[], types: Types, arrays: Set<string>, ctxName: string): Omit<ProgramOut, 'scalars' | 'sequential'> {
  const used = new Set<string>();
  let returns = 0;
  forEachStmt(body, (s) => {
    for (const e of ownExprs(s)) readsOf(e, used);
    if (s.k === 'assign') used.add(s.target.k === 'var' ? s.target.name : s.target.array);
    if (s.k === 'return' && s.value) returns = s.value.k === 'tuple' ? s.value.items.length : 1;
  });
  const written = writesOf(body);
  const paramNames = new Set(params.map((p) => p.name));
  const bindings = [...used].filter((n) => arrays.has(n)).sort().map((name, i) => ({ binding: i + 1, name, access: (written.has(name) ? 'read_write' : 'read') as 'read' | 'read_write' }));
  if (returns) bindings.push({ binding: bindings.length + 1, name: RETURN_BUFFER, access: 'read_write' });
  const uniformNames = [...used].filter((n) => paramNames.has(n) && !arrays.has(n)).sort();
  const uniforms = uniformNames.map((name) => ({ name, type: (types.names.get(name) ?? 'f32') as 'f32' | 'i32' | 'u32' }));
  const lines = header(uniforms, bindings.map((b) => ({ ...b, type: b.name === RETURN_BUFFER ? 'f32' : types.arrays.get(b.name) ?? 'f32' })), [1, 1, 1]);
  stmts(body, types, 1, lines);
  lines.push('}', '');
  const values = uniformNames.join(', ');
  const host: Stmt[] = [{ k: 'effect', e: { k: 'raw', text: `${ctxName}.dispatch(0, [1], { ${values} })` } }];
  return { passes: [{ code: lines.text(), sourceLines: lines.sourceLines, workgroupSize: [1, 1, 1], bindings, uniforms }], host, returns };
}

/** Uniform struct, bindings and the entry point's first line. */
function header(uniforms: PassOut['uniforms'], bindings: (PassOut['bindings'][number] & { type: string })[], wg: [number, number, number]): Code {
  const lines = new Code();
  // binding 0: the scalars, when the pass reads any
  if (uniforms.length) lines.push('struct Uniforms {', ...uniforms.map((u) => `  ${wname(u.name)}: ${u.type},`), '}', '@group(0) @binding(0) var<uniform> u: Uniforms;');
  for (const b of bindings) lines.push(`@group(0) @binding(${b.binding}) var<storage, ${b.access}> ${wname(b.name)}: array<${b.type}>;`);
  lines.push('', `@compute @workgroup_size(${wg.join(', ')})`);
  lines.push('fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {');
  for (const u of uniforms) lines.push(`  let ${wname(u.name)}: ${u.type} = u.${wname(u.name)};`);
  return lines;
}

/** The shader of one nest. */
function passCode(nest: ForLoop[], body: Stmt[], types: Types, uniforms: PassOut['uniforms'], bindings: PassOut['bindings'], wg: [number, number, number]): Code {
  const lines = header(uniforms, bindings.map((b) => ({ ...b, type: types.arrays.get(b.name) ?? 'f32' })), wg);
  // the iteration: gid.x for the innermost loop; a long 1-D space is folded into y
  const axes = nest.length === 1 ? [`gid.x + gid.y * nwg.x * ${wg[0]}u`] : ['gid.x', 'gid.y', 'gid.z'].slice(0, nest.length);
  [...nest].reverse().forEach((l, k) => {
    const start = wexpr(l.init, types, 'i32');
    lines.push(`  let ${wname(l.v)}: i32 = ${start} + ${l.step} * i32(${axes[k]});`);
  });
  const inRange = nest.map((l) => `${wname(l.v)} ${l.cmp} ${wexpr(l.bound, types, 'i32')}`).join(' && ');
  lines.line = nest[0].loc?.line ?? 0;
  lines.push(`  if (!(${inRange})) {`, '    return;', '  }');
  stmts(body, types, 1, lines);
  lines.line = 0;
  lines.push('}', '');
  return lines;
}

function stmts(body: Stmt[], t: Types, depth: number, out: Code): void {
  const pad = '  '.repeat(depth);
  for (const s of body) {
    if ('loc' in s && s.loc) out.line = s.loc.line;
    switch (s.k) {
      case 'decl': {
        const ty: WType = t.names.get(s.name) ?? 'f32';
        out.push(`${pad}${s.mutable ? 'var' : 'let'} ${wname(s.name)}: ${ty} = ${wexpr(s.init, t, ty)};`);
        break;
      }
      case 'assign': {
        const target = s.target.k === 'var' ? wname(s.target.name) : `${wname(s.target.array)}[${wexpr(s.target.index, t, 'i32')}]`;
        const ty: WType = s.target.k === 'var' ? t.names.get(s.target.name) ?? 'f32' : t.arrays.get(s.target.array) ?? 'f32';
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
        const v = wname(s.v);
        const step = s.step > 0 ? `${v} += ${s.step}` : `${v} -= ${-s.step}`;
        out.push(`${pad}for (var ${v}: i32 = ${wexpr(s.init, t, 'i32')}; ${v} ${s.cmp} ${wexpr(s.bound, t, 'i32')}; ${step}) {`);
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
        throw new WgslUnsupported(`a ${s.k} statement inside a @parallel loop (the tape is not on the GPU yet)`);
    }
  }
}
