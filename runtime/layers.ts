/**
 * parad/runtime, layers (above kernels.ts and device.ts): runs the WebGPU variants of a module's
 * `@layer` functions (the `wgsl` export's `layers`, docs/layers.md). A variant is the layer's generated code made for this file's
 * runtime: `new Float32Array(n)` is a device array (a storage buffer), `.set`, `.slice`, `.fill`
 * are buffer copies and fills, each kernel call records its passes, and the floats calls return are
 * device scalars (`add` sums them). A call of a layer records all of it (submitting every 256
 * kernel calls), and reads back the typed arrays it was given and the floats it returns at the end.
 * A call is a `LayerRun` object; the device-array classes a variant is made with belong to the
 * runtime of one `createKernels` result (`layerCalls`), which knows the run being recorded.
 */
/// <reference types="@webgpu/types" />
import type { GpuLayerRuntime, WgslLayer } from './index.js';
import { checkpointLoop } from './checkpoint.js';
import {
  GPU_BUFFER_USAGE,
  MAX_WORKGROUPS,
  ParadGpuError,
  contextOf,
  isBuffer,
  type DeviceContext,
  type TypedArray,
} from './device.js';
import type { KernelCall, KernelProgram } from './kernels.js';

/** One call of a layer being recorded: its command encoder and the buffers it took. */
class LayerRun {
  encoder: GPUCommandEncoder;
  /** buffers the run took from the device's pool (given back after it) */
  readonly pooled: GPUBuffer[] = [];
  /** kernel calls recorded into `encoder` */
  calls = 0;
  constructor(
    readonly gpu: DeviceContext,
    label: string,
  ) {
    this.encoder = gpu.device.createCommandEncoder({ label });
  }
}

/**
 * The run a runtime is recording (layers record synchronously: one at a time per runtime); the
 * device arrays and helpers of that runtime reach it here.
 */
class Recording {
  run: LayerRun | undefined;
  active(): LayerRun {
    if (!this.run) throw new ParadGpuError('a device array was used outside a call of a layer');
    return this.run;
  }
}

/** Kernel calls per command buffer: a long run is submitted in pieces (its values stay on the device). */
const CALLS_PER_SUBMIT = 256;

/** The device-array classes of one runtime (their `new`, copies and fills record into its run). */
function deviceArrayTypes(recording: Recording) {
  /** A typed array on the device: what a layer's WebGPU variant holds instead of a Float32Array. */
  abstract class DeviceArray {
    readonly gpu: GPUBuffer;
    readonly byteLength: number;
    /** `buffer`: the caller's; else one from the pool, zeroed like a new typed array unless `upload` fills it */
    constructor(
      readonly length: number,
      buffer?: GPUBuffer,
      upload = false,
    ) {
      this.byteLength = length * 4;
      if (buffer) this.gpu = buffer;
      else {
        const r = recording.active();
        this.gpu = r.gpu.takeStorage(this.byteLength);
        r.pooled.push(this.gpu);
        if (!upload) r.encoder.clearBuffer(this.gpu);
      }
    }

    protected abstract bits(value: number): number;

    slice(): this {
      const copy = new (this.constructor as new (n: number) => this)(this.length);
      copy.set(this);
      return copy;
    }

    set(src: DeviceArray): void {
      if (src === this || !src.byteLength) return;
      recording.active().encoder.copyBufferToBuffer(src.gpu, 0, this.gpu, 0, Math.min(src.byteLength, this.byteLength));
    }

    fill(value: number, start = 0, end = this.length): this {
      const from = Math.max(0, Math.min(start, this.length)),
        to = Math.max(from, Math.min(end, this.length));
      if (to === from) return this;
      const r = recording.active();
      if (this.bits(value) === 0) {
        r.encoder.clearBuffer(this.gpu, from * 4, (to - from) * 4);
        return this;
      }
      pass(r, r.gpu.helper(FILL_WGSL), new Uint32Array([to - from, from, this.bits(value), 0]), [this.gpu], to - from);
      return this;
    }
  }

  const f32Bits = (v: number) => new Uint32Array(Float32Array.of(v).buffer)[0];
  class DeviceFloat32Array extends DeviceArray {
    protected bits(v: number) {
      return f32Bits(v);
    }
  }
  class DeviceInt32Array extends DeviceArray {
    protected bits(v: number) {
      return v >>> 0;
    }
  }
  class DeviceUint32Array extends DeviceArray {
    protected bits(v: number) {
      return v >>> 0;
    }
  }
  return {
    DeviceArray,
    Float32Array: DeviceFloat32Array,
    Int32Array: DeviceInt32Array,
    Uint32Array: DeviceUint32Array,
  };
}
type DeviceTypes = ReturnType<typeof deviceArrayTypes>;
type DeviceArray = InstanceType<DeviceTypes['DeviceArray']>;

/** A float calls returned, on the device: Σ coef · element of a buffer, plus a constant. */
class DeviceScalar {
  constructor(
    readonly terms: { buffer: GPUBuffer; index: number; coef: number }[],
    readonly constant = 0,
  ) {}
}
const add = (a: number | DeviceScalar, b: number | DeviceScalar): number | DeviceScalar => {
  if (typeof a === 'number' && typeof b === 'number') return a + b;
  const terms = [...(typeof a === 'number' ? [] : a.terms), ...(typeof b === 'number' ? [] : b.terms)];
  return new DeviceScalar(terms, (typeof a === 'number' ? a : a.constant) + (typeof b === 'number' ? b : b.constant));
};
const scaled = (c: number, v: number | DeviceScalar): number | DeviceScalar =>
  typeof v === 'number'
    ? c * v
    : new DeviceScalar(
        v.terms.map((t) => ({ ...t, coef: c * t.coef })),
        c * v.constant,
      );

const FILL_WGSL = `struct P { n: u32, off: u32, bits: u32, pad: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> dst: array<u32>;
@compute @workgroup_size(256) fn main(@builtin(global_invocation_id) g: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
  let i = g.x + g.y * nw.x * 256u;
  if (i < p.n) { dst[p.off + i] = p.bits; }
}`;
const ADD_WGSL = `struct P { n: u32, a: u32, b: u32, c: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<storage, read> src: array<f32>;
@compute @workgroup_size(256) fn main(@builtin(global_invocation_id) g: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
  let i = g.x + g.y * nw.x * 256u;
  if (i < p.n) { dst[i] = dst[i] + src[i]; }
}`;

/** One dispatch of a helper pass over `n` elements (a long range folds into y). */
function pass(
  r: LayerRun,
  pipeline: GPUComputePipeline,
  params: Uint32Array<ArrayBuffer>,
  buffers: GPUBuffer[],
  n: number,
): void {
  const uniform = r.gpu.uniform(params);
  r.pooled.push(uniform);
  const bindGroup = r.gpu.device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [
      { binding: 0, resource: { buffer: uniform } },
      ...buffers.map((buffer, i) => ({ binding: i + 1, resource: { buffer } })),
    ],
  });
  const groups = Math.ceil(n / 256);
  const x = Math.min(groups, MAX_WORKGROUPS),
    y = Math.ceil(groups / MAX_WORKGROUPS);
  const cp = r.encoder.beginComputePass({ label: 'parad layer helper' });
  cp.setPipeline(pipeline);
  cp.setBindGroup(0, bindGroup);
  cp.dispatchWorkgroups(x, y);
  cp.end();
}

/** The save stack of a layer's WebGPU adjoint: device copies (the run destroys them). */
class DeviceSaveStack {
  private items: unknown[] = [];
  save(a: { slice(): unknown }): void {
    this.items.push(a.slice());
  }
  push(value: unknown): void {
    this.items.push(value);
  }
  pop(): unknown {
    if (!this.items.length) throw new ParadGpuError('save stack underflow (generated adjoint is inconsistent)');
    return this.items.pop();
  }
  release(): void {}
}

/** The runtime a layer's WebGPU variant is made with: device arrays, helpers, the kernels' and layers' WebGPU versions. */
function layerRuntime(
  recording: Recording,
  types: DeviceTypes,
  kernels: Record<string, KernelProgram>,
  layers: Record<string, WgslLayer>,
): GpuLayerRuntime {
  const rt: GpuLayerRuntime = {
    Float32Array: types.Float32Array,
    Int32Array: types.Int32Array,
    Uint32Array: types.Uint32Array,
    SaveStack: DeviceSaveStack,
    checkpointLoop,
    copyInto: (dst: DeviceArray | undefined, src: DeviceArray) => {
      if (dst && dst.length === src.length && dst.constructor === src.constructor) {
        dst.set(src);
        return dst;
      }
      return src.slice();
    },
    releaseCopy: () => {},
    add,
    scaled,
    accumulate: (dst: DeviceArray, src: DeviceArray, n: number) => {
      if (n <= 0) return;
      const r = recording.active();
      pass(r, r.gpu.helper(ADD_WGSL), new Uint32Array([n, 0, 0, 0]), [dst.gpu, src.gpu], n);
    },
  };
  for (const [name, kernel] of Object.entries(kernels)) {
    rt[name] = (...args: unknown[]) => {
      const r = recording.active();
      if (++r.calls > CALLS_PER_SUBMIT) {
        r.gpu.device.queue.submit([r.encoder.finish()]);
        r.encoder = r.gpu.device.createCommandEncoder({ label: 'parad layer' });
        r.calls = 1;
      }
      const out = kernel.encodePooled(
        r.encoder,
        r.pooled,
        ...args.map((a) => (a instanceof types.DeviceArray ? a.gpu : (a as number))),
      );
      if (!out) return undefined;
      if ('ret' in out) {
        const at = (index: number) => new DeviceScalar([{ buffer: out.ret, index, coef: 1 }]);
        return out.count === 1 ? at(0) : [at(0), at(1)];
      }
      return Object.fromEntries(
        out.keys.map((k, index) => [k, new DeviceScalar([{ buffer: out.scalars, index, coef: 1 }])]),
      );
    };
  }
  // a layer calling a layer: the callee's variant, made with the same runtime (layers are acyclic)
  for (const [name, layer] of Object.entries(layers)) {
    for (const [suffix, factory] of [
      ['', layer.primal],
      ['_d', layer.d],
      ['_b', layer.b],
    ] as const) {
      if (!factory) continue;
      let fn: ((...a: never[]) => unknown) | undefined;
      Object.defineProperty(rt, `${name}${suffix}`, { enumerable: true, get: () => (fn ??= factory(rt)) });
    }
  }
  return rt;
}

const isTyped = (a: unknown): a is TypedArray =>
  a instanceof Float32Array || a instanceof Int32Array || a instanceof Uint32Array;

/** Calls of the layers' WebGPU variants (`L`, `L_d`, `L_b`), with the TS functions' arguments (typed arrays or GPUBuffers). */
export function layerCalls(
  device: GPUDevice,
  layers: Record<string, WgslLayer>,
  kernels: Record<string, KernelProgram>,
): Record<string, KernelCall> {
  const recording = new Recording();
  const types = deviceArrayTypes(recording);
  const rt = layerRuntime(recording, types, kernels, layers);
  const gpu = contextOf(device);
  const programs = Object.values(kernels);
  const out: Record<string, KernelCall> = {};
  for (const [name, layer] of Object.entries(layers)) {
    for (const [suffix, factory] of [
      ['', layer.primal],
      ['_d', layer.d],
      ['_b', layer.b],
    ] as const) {
      if (!factory) continue;
      const fnName = `${name}${suffix}`;
      const call = (async (...args: unknown[]) => {
        // the kernels' pipelines, made before recording (one that fails rejects when the layer calls it)
        await Promise.allSettled([Promise.all(programs.map((k) => k.ready()))]);
        return runLayer(recording, types, gpu, fnName, rt[fnName] as (...a: unknown[]) => unknown, args);
      }) as unknown as KernelCall;
      call.encode = () => {
        throw new ParadGpuError(`${fnName}: a layer runs whole: call it (its values are read back)`);
      };
      out[fnName] = call;
    }
  }
  return out;
}

async function runLayer(
  recording: Recording,
  types: DeviceTypes,
  gpu: DeviceContext,
  name: string,
  fn: (...a: unknown[]) => unknown,
  args: unknown[],
): Promise<never> {
  if (recording.run) throw new ParadGpuError(`${name}: another layer call is being recorded`);
  const { device } = gpu;
  const r = new LayerRun(gpu, name);
  device.pushErrorScope('validation');
  recording.run = r;
  const typed: { data: TypedArray; array: DeviceArray }[] = [];
  let result: unknown;
  try {
    const mapped = args.map((a) => {
      if (isTyped(a)) {
        const array = new types[a.constructor.name as 'Float32Array' | 'Int32Array' | 'Uint32Array'](
          a.length,
          undefined,
          true,
        );
        device.queue.writeBuffer(array.gpu, 0, a.buffer, a.byteOffset, a.byteLength);
        typed.push({ data: a, array });
        return array;
      }
      if (isBuffer(a)) return new types.Float32Array(Math.floor(a.size / 4), a);
      if (typeof a !== 'number')
        throw new ParadGpuError(`${name}: arguments are typed arrays (32-bit), GPUBuffers or numbers`);
      return a;
    });
    result = fn(...mapped);
  } catch (e) {
    recording.run = undefined;
    await device.popErrorScope();
    // a failed run's buffers may be in any state: dropped, not pooled
    for (const b of r.pooled) b.destroy();
    throw e;
  }
  recording.run = undefined;
  // read back the typed arrays and every device float of the result
  const scalars: DeviceScalar[] = [];
  const collect = (v: unknown): void => {
    if (v instanceof DeviceScalar) scalars.push(v);
    else if (Array.isArray(v)) v.forEach(collect);
    else if (v && typeof v === 'object') Object.values(v).forEach(collect);
  };
  collect(result);
  const terms = scalars.flatMap((s) => s.terms);
  const stagingBytes = typed.reduce((n, t) => n + Math.ceil(t.data.byteLength / 4) * 4, 0) + terms.length * 4;
  const staging = device.createBuffer({
    size: Math.max(4, stagingBytes),
    usage: GPU_BUFFER_USAGE.MAP_READ | GPU_BUFFER_USAGE.COPY_DST,
  });
  let offset = 0;
  for (const t of typed) {
    if (t.data.byteLength) r.encoder.copyBufferToBuffer(t.array.gpu, 0, staging, offset, t.data.byteLength);
    offset += Math.ceil(t.data.byteLength / 4) * 4;
  }
  const termsAt = offset;
  terms.forEach((t, i) => r.encoder.copyBufferToBuffer(t.buffer, t.index * 4, staging, termsAt + i * 4, 4));
  device.queue.submit([r.encoder.finish()]);
  const err = await device.popErrorScope();
  if (err) {
    for (const b of [...r.pooled, staging]) b.destroy();
    throw new ParadGpuError(`${name}: ${err.message}`);
  }
  await staging.mapAsync(GPU_BUFFER_USAGE.MAP_READ);
  const bytes = new Uint8Array(staging.getMappedRange().slice(0));
  staging.unmap();
  staging.destroy();
  gpu.giveBack(r.pooled);
  offset = 0;
  for (const t of typed) {
    new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength).set(
      bytes.subarray(offset, offset + t.data.byteLength),
    );
    offset += Math.ceil(t.data.byteLength / 4) * 4;
  }
  const values = new Float32Array(bytes.buffer, termsAt, terms.length);
  let k = 0;
  const resolve = (v: unknown): unknown => {
    if (v instanceof DeviceScalar) {
      let s = v.constant;
      for (const t of v.terms) s += t.coef * values[k++];
      return s;
    }
    if (Array.isArray(v)) return v.map(resolve);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([key, x]) => [key, resolve(x)]));
    return v;
  };
  return resolve(result) as never;
}
