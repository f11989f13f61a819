/**
 * parad/runtime, kernels: a generated kernel's WGSL program as a call. Binding its arguments
 * (typed arrays uploaded, GPUBuffers used in place), recording its passes as its host function
 * says (dispatches, scratch buffers, tape segments, the reduction of private copies), submitting
 * and reading back. Built on the device layer (device.ts); layers.ts records kernels through
 * `KernelProgram.encodePooled`.
 */
/// <reference types="@webgpu/types" />
import type { GpuDispatch, WgslPass, WgslProgram } from './index.js';
import { checkShaderModule, type ShaderWarningHandler } from './shader-check.js';
import {
  GPU_BUFFER_USAGE,
  MAX_WORKGROUPS,
  ParadGpuError,
  STORAGE_USAGE,
  contextOf,
  isBuffer,
  type DeviceContext,
  type TypedArray,
} from './device.js';

type Arg = TypedArray | GPUBuffer | number;
/**
 * A call (typed arrays are uploaded and read back, GPUBuffers stay on the GPU): void kernels resolve
 * to undefined, float kernels to their value, K_d of one to [value, valueDot], K_b with active float
 * scalars to `{ ab, … }` as in JavaScript. `encode` records the passes into the caller's command
 * encoder instead (GPUBuffers only), so kernels chain in one submit (K_b's scalar adjoints are then
 * in the buffer it returns).
 */
export interface KernelCall {
  (...args: Arg[]): Promise<number | [number, number] | Record<string, number> | undefined>;
  /**
   * Records the passes into `encoder`. K_b with active float scalars returns where their adjoints
   * will be: `scalars` (a STORAGE | COPY_SRC buffer of f32, `keys[i]` at element i), to copy or read
   * once the work is done; a float kernel (K_d of one) where its value (and tangent) will be: `ret`,
   * elements 0 (and 1).
   */
  encode(
    encoder: GPUCommandEncoder,
    ...args: (GPUBuffer | number)[]
  ): { scalars: GPUBuffer; keys: string[] } | { ret: GPUBuffer; count: number } | undefined;
}

/** An array argument bound to a storage buffer. */
interface Bound {
  buffer: GPUBuffer;
  /** the typed array it was uploaded from (read back after the call) */
  data?: TypedArray;
  written: boolean;
  /** created by the call (destroyed after it) */
  owned: boolean;
}

const ARRAY_TYPES: Record<string, new (n: number) => TypedArray> = { Float32Array, Int32Array, Uint32Array };

/** Options of `createKernels`. */
export interface KernelOptions {
  /**
   * Receives each WGSL compiler warning, placed at the kernel's `file:line` (default `console.warn`);
   * compile errors reject the function's calls with a ParadGpuError placed the same way.
   */
  onShaderWarning?: ShaderWarningHandler;
}

/**
 * Invocations of the reduction's workgroups; each workgroup sums REDUCE_SPAN copies of one element:
 * every invocation first adds 32 of them in sequence, so the tree (and its barriers) is amortized.
 */
const REDUCE_WORKGROUP = 256;
const REDUCE_SPAN = 32 * REDUCE_WORKGROUP;
/**
 * The reduction of private copies (an adjoint's `reduce`): workgroup (x, e) sums copies
 * x·SPAN … (x+1)·SPAN − 1 of element e, each invocation a strided share of them, then by a tree in
 * workgroup memory; repeated over the partial sums until one workgroup per element remains, which
 * adds its sum into the target.
 */
export const REDUCE_WGSL = `struct P {
  copies: u32,
  len: u32,
  offset: u32,
  last: u32,
}
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;
var<workgroup> acc: array<f32, ${REDUCE_WORKGROUP}>;

@compute @workgroup_size(${REDUCE_WORKGROUP})
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let e = wid.y + wid.z * nwg.y;
  let chunk = wid.x;
  var s: f32 = 0.0;
  if (e < p.len) {
    let end = min(p.copies, (chunk + 1u) * ${REDUCE_SPAN}u);
    for (var c = chunk * ${REDUCE_SPAN}u + lid.x; c < end; c += ${REDUCE_WORKGROUP}u) {
      s += src[c * p.len + e];
    }
  }
  acc[lid.x] = s;
  workgroupBarrier();
  for (var w = ${REDUCE_WORKGROUP / 2}u; w > 0u; w = w >> 1u) {
    if (lid.x < w) {
      acc[lid.x] += acc[lid.x + w];
    }
    workgroupBarrier();
  }
  if (lid.x == 0u && e < p.len) {
    if (p.last == 1u) {
      dst[p.offset + e] += acc[0];
    } else {
      dst[chunk * p.len + e] = acc[0];
    }
  }
}
`;

/** The uniform buffer of one dispatch: the pass's scalars, 4 bytes each, padded to 16. */
function uniformBuffer(gpu: DeviceContext, pooled: boolean, pass: WgslPass, values: Record<string, number>): GPUBuffer {
  const data = new ArrayBuffer(Math.max(16, Math.ceil((pass.uniforms.length * 4) / 16) * 16));
  const view = new DataView(data);
  pass.uniforms.forEach((u, i) => {
    const v = values[u.name];
    if (u.type === 'f32') view.setFloat32(i * 4, v, true);
    else if (u.type === 'u32') view.setUint32(i * 4, v >>> 0, true);
    else view.setInt32(i * 4, v | 0, true);
  });
  return gpu.uniform(data, pooled);
}

/** A kernel's call with what the layers' runtime and `prepareKernels` need of it. */
export interface KernelProgram {
  readonly call: KernelCall;
  /** `encode` with its buffers from the device's pool, collected in `used` (the caller gives them back after its work is done) */
  encodePooled(
    encoder: GPUCommandEncoder,
    used: GPUBuffer[],
    ...args: (GPUBuffer | number)[]
  ): ReturnType<KernelCall['encode']>;
  /** its pipelines made (once), or the error that prevents them */
  ready(): Promise<void>;
}

/** Where a call keeps its `ready` (for `prepareKernels`): a property of the call, not a table beside it. */
const READY = Symbol('parad.ready');
type ReadyCall = KernelCall & { [READY]?: () => Promise<void> };

/**
 * Makes the compute pipelines of every function's passes (those not made yet), so that their
 * errors surface now: a pipeline failing rejects with its ParadGpuError. Calls do this themselves
 * on first use; `encode` (synchronous) after it has run gets WGSL errors at the kernel line.
 */
export async function prepareKernels(kernels: Record<string, KernelCall>): Promise<void> {
  await Promise.all(Object.values(kernels).map((k) => (k as ReadyCall)[READY]?.()));
}

/** The calls of a module's kernels, tangents and adjoints, by function name (`K`, `K_d`, `K_b`). */
export function kernelPrograms(
  device: GPUDevice,
  kernels: Record<string, { primal: WgslProgram; d?: WgslProgram; b?: WgslProgram }>,
  options: KernelOptions,
): Record<string, KernelProgram> {
  const out: Record<string, KernelProgram> = {};
  // each function's pipelines are made on its first call: one that fails (a shader that does not
  // compile, a limit of the device) rejects its own calls, not the module
  for (const k of Object.values(kernels)) {
    for (const program of [k.primal, k.d, k.b])
      if (program) out[program.name] = programCall(contextOf(device), program, options);
  }
  return out;
}

function programCall(gpu: DeviceContext, program: WgslProgram, options: KernelOptions): KernelProgram {
  const { device, pool, pipelines: cached } = gpu;
  let pipelines: GPUComputePipeline[] | undefined;
  let failure: unknown;
  let making: Promise<void> | undefined;
  const make = async (): Promise<GPUComputePipeline[]> => {
    const made: GPUComputePipeline[] = [];
    for (const [i, pass] of program.passes.entries()) {
      const known = cached.get(pass.code);
      if (known) {
        made.push(known);
        continue;
      }
      device.pushErrorScope('validation');
      const module = device.createShaderModule({ code: pass.code, label: `${program.name} pass ${i}` });
      // errors and warnings at the kernel lines the WGSL lines come from (the shader's source map)
      try {
        await checkShaderModule(module, pass.code, `${program.name}: pass ${i}`, {
          onWarning: options.onShaderWarning,
          errorType: ParadGpuError,
          fallback: { file: program.file, sourceLines: pass.sourceLines },
        });
      } catch (e) {
        await device.popErrorScope();
        throw e;
      }
      const pipeline = device.createComputePipeline({
        layout: 'auto',
        compute: { module, entryPoint: 'main' },
        label: `${program.name} pass ${i}`,
      });
      const err = await device.popErrorScope();
      if (err) throw new ParadGpuError(`${program.name}: pass ${i}: ${err.message}`);
      made.push(pipeline);
      cached.set(pass.code, pipeline);
    }
    return made;
  };
  const ready = (): Promise<void> =>
    (making ??= make().then(
      (p) => {
        pipelines = p;
      },
      (e) => {
        failure = e;
        throw e;
      },
    ));
  /** The pipelines for a synchronous `encode` before any call: made without waiting for compile messages. */
  const pipelinesNow = (): GPUComputePipeline[] => {
    if (failure) throw failure;
    if (!pipelines) {
      pipelines = program.passes.map((pass, i) => {
        let p = cached.get(pass.code);
        if (!p) {
          const module = device.createShaderModule({ code: pass.code, label: `${program.name} pass ${i}` });
          cached.set(
            pass.code,
            (p = device.createComputePipeline({
              layout: 'auto',
              compute: { module, entryPoint: 'main' },
              label: `${program.name} pass ${i}`,
            })),
          );
        }
        return p;
      });
    }
    return pipelines;
  };

  /** Arguments bound: storage buffers by name (uploaded typed arrays, or the caller's GPUBuffers), and what the host function gets. */
  const bind = (args: Arg[], allowTyped: boolean) => {
    gpu.checkLost(program.name);
    if (args.length !== program.params.length)
      throw new ParadGpuError(
        `${program.name} takes ${program.params.length} arguments (${program.params.map((p) => p.name).join(', ')}), got ${args.length}`,
      );
    // an i32 or u32 scalar is an integer of its type (as the TypeScript entry points check), before anything is uploaded
    program.params.forEach((p, i) => {
      const a = args[i];
      if (typeof a === 'number' && (p.type === 'i32' ? (a | 0) !== a : p.type === 'u32' && a >>> 0 !== a))
        throw new RangeError(
          `${program.name}: ${p.name} is ${a}, needs an integer ${p.type === 'u32' ? '>= 0 ' : ''}(${p.type})`,
        );
    });
    const arrays = new Map<string, Bound>();
    const hostArgs: unknown[] = [];
    program.params.forEach((p, i) => {
      const a = args[i];
      const ctor = ARRAY_TYPES[p.type];
      if (!ctor) {
        if (typeof a !== 'number')
          throw new ParadGpuError(`${program.name}: argument '${p.name}' must be a number (${p.type})`);
        hostArgs.push(a);
        return;
      }
      if (isBuffer(a)) {
        arrays.set(p.name, { buffer: a, written: false, owned: false });
        hostArgs.push({ length: Math.floor(a.size / 4) });
        return;
      }
      if (!allowTyped)
        throw new ParadGpuError(
          `${program.name}.encode: argument '${p.name}' must be a GPUBuffer (typed arrays need a call, which uploads and reads back)`,
        );
      if (!(a instanceof ctor))
        throw new ParadGpuError(`${program.name}: argument '${p.name}' must be a ${p.type} or a GPUBuffer`);
      // storage buffers: at least 4 bytes, a multiple of 4
      // exactly the array's size (a shader's arrayLength is x.length), at least 4 bytes
      const buffer = pool.take(Math.max(4, a.byteLength), STORAGE_USAGE);
      device.queue.writeBuffer(buffer, 0, a.buffer, a.byteOffset, a.byteLength);
      arrays.set(p.name, { data: a, buffer, written: false, owned: true });
      hostArgs.push(a);
    });
    // a derivative array has its array's length
    for (const [partner, of] of program.partners ?? []) {
      const a = args[program.params.findIndex((p) => p.name === partner)],
        b = args[program.params.findIndex((p) => p.name === of)];
      const len = (x: Arg) => (isBuffer(x) ? Math.floor(x.size / 4) : (x as TypedArray).length);
      if (len(a) !== len(b))
        throw new ParadGpuError(
          `${program.name}: argument '${partner}' has ${len(a)} elements, '${of}' ${len(b)}: a derivative array has the length of its array`,
        );
    }
    return { arrays, hostArgs };
  };

  /** Records the passes into `encoder` (the host function decides which, how often, over what). */
  const record = (
    encoder: GPUCommandEncoder,
    arrays: Map<string, Bound>,
    hostArgs: unknown[],
    uniformsUsed: GPUBuffer[] | undefined,
  ) => {
    const pipelines = pipelinesNow();
    // device work of the adjoint: buffers of the call (pooled after a call; an encode's live on with the caller's work)
    const temp = (bytes: number): GPUBuffer => {
      const size = Math.max(4, Math.ceil(bytes / 4) * 4);
      const b = uniformsUsed ? pool.take(size, STORAGE_USAGE) : device.createBuffer({ size, usage: STORAGE_USAGE });
      uniformsUsed?.push(b);
      return b;
    };
    const named = (name: string): Bound => {
      const a = arrays.get(name);
      if (!a) throw new ParadGpuError(`${program.name}: internal: no buffer '${name}'`);
      return a;
    };
    const copyOf = (src: GPUBuffer): GPUBuffer => {
      const b = temp(src.size);
      encoder.copyBufferToBuffer(src, 0, b, 0, src.size);
      return b;
    };
    const copyInto = (src: GPUBuffer, name: string) => {
      const a = named(name);
      encoder.copyBufferToBuffer(src, 0, a.buffer, 0, Math.min(src.size, a.buffer.size));
      a.written = true;
    };
    const snapshots: GPUBuffer[] = [];
    const segments: GPUBuffer[] = [];
    const scalars: number[] = [];
    const underflow = (what: string) =>
      new ParadGpuError(`${program.name}: tape underflow (${what}): the generated adjoint is inconsistent`);
    const ctx: GpuDispatch = {
      alloc(name, length) {
        const limit = device.limits.maxStorageBufferBindingSize;
        if (length * 4 > limit) {
          throw new ParadGpuError(
            `${program.name}: the scratch buffer '${name}' needs ${length * 4} bytes, over the device's maxStorageBufferBindingSize of ${limit} (request a higher limit in requestDevice)`,
          );
        }
        const buffer = temp(length * 4);
        encoder.clearBuffer(buffer);
        arrays.set(name, { buffer, written: false, owned: false });
        return { length };
      },
      save(name, array) {
        arrays.set(name, { buffer: copyOf(named(array).buffer), written: false, owned: false });
      },
      restore(name, array) {
        copyInto(named(name).buffer, array);
      },
      pushArray(array) {
        snapshots.push(copyOf(named(array).buffer));
      },
      popArray(array) {
        const b = snapshots.pop();
        if (!b) throw underflow(array);
        copyInto(b, array);
      },
      pushSegment(name, length) {
        const buffer = temp(length * 4);
        segments.push(buffer);
        arrays.set(name, { buffer, written: false, owned: false });
      },
      popSegment(name) {
        const buffer = segments.pop();
        if (!buffer) throw underflow(name);
        arrays.set(name, { buffer, written: false, owned: false });
      },
      push(value) {
        scalars.push(value);
      },
      pop() {
        if (!scalars.length) throw underflow('scalar');
        return scalars.pop()!;
      },
      reduce(partial, copies, len, target, offset) {
        if (copies <= 0 || len <= 0) return;
        const pipeline = gpu.helper(REDUCE_WGSL, 'parad reduce');
        const dst = named(target);
        dst.written = true;
        let src = named(partial).buffer;
        for (let m = copies; ; ) {
          const chunks = Math.ceil(m / REDUCE_SPAN);
          if (chunks > MAX_WORKGROUPS)
            throw new ParadGpuError(
              `${program.name}: a reduction over ${copies} copies is over WebGPU's workgroup limit`,
            );
          const last = chunks === 1;
          const out = last ? dst.buffer : temp(chunks * len * 4);
          const uniform = gpu.uniform(new Uint32Array([m, len, offset, last ? 1 : 0]), uniformsUsed !== undefined);
          uniformsUsed?.push(uniform);
          const bindGroup = device.createBindGroup({
            layout: pipeline.getBindGroupLayout(0),
            entries: [
              { binding: 0, resource: { buffer: uniform } },
              { binding: 1, resource: { buffer: src } },
              { binding: 2, resource: { buffer: out } },
            ],
          });
          const cp = encoder.beginComputePass({ label: `${program.name} reduce` });
          cp.setPipeline(pipeline);
          cp.setBindGroup(0, bindGroup);
          cp.dispatchWorkgroups(chunks, Math.min(len, MAX_WORKGROUPS), Math.ceil(len / MAX_WORKGROUPS));
          cp.end();
          if (last) break;
          src = out;
          m = chunks;
        }
      },
      dispatch(index, extents, values) {
        const pass = program.passes[index];
        const groups = extents.map((e, d) => Math.ceil(Math.max(0, e) / pass.workgroupSize[d]));
        if (groups.some((g) => g === 0)) return;
        // a long 1-D space folds into y (the shader computes gid.x + gid.y * nwg.x * size)
        let [x, y, z] = [groups[0], groups[1] ?? 1, groups[2] ?? 1];
        if (extents.length === 1 && x > MAX_WORKGROUPS) {
          y = Math.ceil(x / MAX_WORKGROUPS);
          x = MAX_WORKGROUPS;
        }
        if (y > MAX_WORKGROUPS || z > MAX_WORKGROUPS)
          throw new ParadGpuError(
            `${program.name}: pass ${index} needs ${groups.join('×')} workgroups, over WebGPU's limit of ${MAX_WORKGROUPS} per dimension`,
          );
        const entries: GPUBindGroupEntry[] = [];
        // arrays packed into one binding (a pass over the storage-buffer limit): copied in at their
        // offsets before the pass, the written ones copied back after it
        const unpack: (() => void)[] = [];
        for (const pack of pass.packs ?? []) {
          let total = 0;
          const at = pack.members.map((m) => {
            const a = named(m.name);
            const length = Math.floor(a.buffer.size / 4);
            values = { ...values, [m.offset]: total, [m.length]: length };
            total += length;
            return { m, a, offset: values[m.offset], length };
          });
          const buffer = temp(total * 4);
          for (const x of at) encoder.copyBufferToBuffer(x.a.buffer, 0, buffer, x.offset * 4, x.length * 4);
          arrays.set(pack.name, { buffer, written: false, owned: false });
          for (const x of at.filter((y) => y.m.written)) {
            unpack.push(() => {
              encoder.copyBufferToBuffer(buffer, x.offset * 4, x.a.buffer, 0, x.length * 4);
              x.a.written = true;
            });
          }
        }
        if (pass.uniforms.length) {
          const uniform = uniformBuffer(gpu, uniformsUsed !== undefined, pass, values);
          uniformsUsed?.push(uniform);
          entries.push({ binding: 0, resource: { buffer: uniform } });
        }
        for (const b of pass.bindings) {
          const a = named(b.name);
          if (b.access === 'read_write') a.written = true;
          entries.push({ binding: b.binding, resource: { buffer: a.buffer } });
        }
        const bindGroup = device.createBindGroup({ layout: pipelines[index].getBindGroupLayout(0), entries });
        const cp = encoder.beginComputePass({ label: `${program.name} pass ${index}` });
        cp.setPipeline(pipelines[index]);
        cp.setBindGroup(0, bindGroup);
        cp.dispatchWorkgroups(x, y, z);
        cp.end();
        for (const f of unpack) f();
      },
    };
    (program.host as (ctx: GpuDispatch, ...a: unknown[]) => void)(ctx, ...hostArgs);
  };

  const call = (async (...args: Arg[]) => {
    await ready();
    const { arrays, hostArgs } = bind(args, true);
    if (program.returns) {
      const data = new Float32Array(program.returns);
      arrays.set('_ret', {
        data,
        buffer: pool.take(16, GPU_BUFFER_USAGE.STORAGE | GPU_BUFFER_USAGE.COPY_SRC),
        written: false,
        owned: true,
      });
    }
    const scalars = program.scalars && deviceScalars(program.scalars, arrays, true);
    device.pushErrorScope('validation');
    const encoder = device.createCommandEncoder({ label: program.name });
    const uniformsUsed: GPUBuffer[] = [];
    const readbacks: { data: TypedArray; staging: GPUBuffer }[] = [];
    // a failed call's buffers are dropped, not pooled (they may be in an undefined state)
    const drop = () => {
      for (const b of [...uniformsUsed, ...readbacks.map((r) => r.staging)]) b.destroy();
      for (const a of arrays.values()) if (a.owned) a.buffer.destroy();
    };
    try {
      record(encoder, arrays, hostArgs, uniformsUsed);
    } catch (e) {
      await device.popErrorScope();
      drop();
      throw e;
    }
    // read back what the passes wrote into typed arrays (GPUBuffers stay on the GPU)
    for (const a of arrays.values()) {
      if (!a.data || !a.written || a.data.byteLength === 0) continue;
      const staging = pool.take(Math.max(4, a.data.byteLength), GPU_BUFFER_USAGE.MAP_READ | GPU_BUFFER_USAGE.COPY_DST);
      encoder.copyBufferToBuffer(a.buffer, 0, staging, 0, Math.max(4, a.data.byteLength));
      readbacks.push({ data: a.data, staging });
    }
    device.queue.submit([encoder.finish()]);
    const err = await device.popErrorScope();
    if (err) {
      drop();
      throw new ParadGpuError(`${program.name}: ${err.message}`);
    }
    for (const r of readbacks) {
      try {
        await r.staging.mapAsync(GPU_BUFFER_USAGE.MAP_READ);
      } catch (e) {
        gpu.checkLost(program.name);
        throw e;
      }
      const bytes = new Uint8Array(r.staging.getMappedRange(), 0, r.data.byteLength);
      new Uint8Array(r.data.buffer, r.data.byteOffset, r.data.byteLength).set(bytes);
      r.staging.unmap();
      pool.give(r.staging);
    }
    for (const a of arrays.values()) if (a.owned) pool.give(a.buffer);
    for (const u of uniformsUsed) pool.give(u);
    if (scalars && program.results?.length) {
      const out: Record<string, number> = {};
      program.results.forEach((key, i) => (out[key] = scalars[i]));
      return out;
    }
    const ret = arrays.get('_ret')?.data;
    if (!ret) return undefined;
    return ret.length === 1 ? ret[0] : [ret[0], ret[1]];
  }) as KernelCall;
  /** `encode`, its buffers from the device's pool when `used` collects them (the caller gives them back after its work is done). */
  const encodeWith = (encoder: GPUCommandEncoder, used: GPUBuffer[] | undefined, args: Arg[]) => {
    const { arrays, hostArgs } = bind(args, false);
    // a float kernel's value (K_d: and its tangent) stays in a buffer of its own
    const ret = program.returns
      ? used
        ? pool.take(16, STORAGE_USAGE)
        : device.createBuffer({ size: 16, usage: STORAGE_USAGE })
      : undefined;
    if (ret) {
      used?.push(ret);
      arrays.set('_ret', { buffer: ret, written: false, owned: false });
    }
    if (program.scalars) deviceScalars(program.scalars, arrays, false, used);
    // without `used`, the uniform buffers live until the caller's work is done: destroyed with the device (or GC)
    record(encoder, arrays, hostArgs, used);
    const keys = program.results ?? [];
    if (ret) return { ret, count: program.returns };
    return program.scalars && keys.length ? { scalars: arrays.get(program.scalars.buffer)!.buffer, keys } : undefined;
  };
  call.encode = (encoder, ...args) => encodeWith(encoder, undefined, args);
  (call as ReadyCall)[READY] = ready;
  /** K_b's float scalars: a zeroed storage buffer (read back after a call: `data`). */
  const deviceScalars = (
    spec: { buffer: string; count: number },
    arrays: Map<string, Bound>,
    pooled: boolean,
    used?: GPUBuffer[],
  ): Float32Array => {
    const data = new Float32Array(Math.max(1, spec.count));
    const buffer =
      pooled || used
        ? pool.take(data.byteLength, STORAGE_USAGE)
        : device.createBuffer({ size: data.byteLength, usage: STORAGE_USAGE });
    used?.push(buffer);
    device.queue.writeBuffer(buffer, 0, data);
    arrays.set(spec.buffer, { data, buffer, written: true, owned: pooled });
    return data;
  };
  return { call, encodePooled: (encoder, used, ...args) => encodeWith(encoder, used, args), ready };
}
