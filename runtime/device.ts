/**
 * parad/runtime, bottom layer: what belongs to a `GPUDevice` and nothing else. Per device, one
 * `DeviceContext` holds the buffer pool (a call's upload, uniform and read-back buffers are kept
 * for the next call of the same size and usage instead of being destroyed), the compute pipelines
 * by WGSL source, and the reason the device was lost, if it was. Kernels (kernels.ts) and layers
 * (layers.ts) take their buffers and pipelines here; nothing here knows about either.
 */
/// <reference types="@webgpu/types" />

export type TypedArray = Float32Array | Int32Array | Uint32Array;

export const isBuffer = (a: unknown): a is GPUBuffer =>
  typeof a === 'object' &&
  a !== null &&
  typeof (a as GPUBuffer).mapAsync === 'function' &&
  typeof (a as GPUBuffer).size === 'number';

export const GPU_BUFFER_USAGE = { MAP_READ: 0x1, COPY_SRC: 0x4, COPY_DST: 0x8, UNIFORM: 0x40, STORAGE: 0x80 };
/** Storage buffers of a call: arrays, scratch, copies (copied to and from). */
export const STORAGE_USAGE = GPU_BUFFER_USAGE.STORAGE | GPU_BUFFER_USAGE.COPY_SRC | GPU_BUFFER_USAGE.COPY_DST;
/** WebGPU's per-dimension limit on workgroups in one dispatch. */
export const MAX_WORKGROUPS = 65535;

/** Errors of a call: wrong arguments, shader compilation, device loss. */
export class ParadGpuError extends Error {}

/** Buffers kept for reuse, by size and usage. */
class BufferPool {
  private readonly free = new Map<string, GPUBuffer[]>();
  constructor(private readonly device: GPUDevice) {}
  take(size: number, usage: number): GPUBuffer {
    return this.free.get(`${size}:${usage}`)?.pop() ?? this.device.createBuffer({ size, usage });
  }
  give(buffer: GPUBuffer): void {
    const key = `${buffer.size}:${buffer.usage}`;
    const list = this.free.get(key) ?? [];
    list.push(buffer);
    this.free.set(key, list);
  }
}

/** The state parad keeps for one device: its buffer pool, its pipelines, whether it was lost. */
export class DeviceContext {
  readonly pool: BufferPool;
  /** compute pipelines by WGSL source */
  readonly pipelines = new Map<string, GPUComputePipeline>();
  /** why the device was lost (every later call rejects with it), once it was */
  private lost: string | undefined;

  constructor(readonly device: GPUDevice) {
    this.pool = new BufferPool(device);
    device.lost?.then((info) => (this.lost = `${info.reason ?? 'unknown'}${info.message ? `: ${info.message}` : ''}`));
  }

  /** Throws the ParadGpuError of `name`'s call once the device is lost. */
  checkLost(name: string): void {
    if (this.lost !== undefined)
      throw new ParadGpuError(
        `${name}: the GPU device was lost (${this.lost}); create a new device and call createKernels again`,
      );
  }

  /** A storage buffer from the pool (not zeroed), at least 4 bytes, a multiple of 4. */
  takeStorage(bytes: number): GPUBuffer {
    return this.pool.take(Math.max(4, Math.ceil(bytes / 4) * 4), STORAGE_USAGE);
  }

  /** A uniform buffer holding `data`: from the pool when `pooled` (a call's), else a new one (an `encode`'s: the caller submits later). */
  uniform(data: ArrayBuffer | Uint32Array<ArrayBuffer>, pooled = true): GPUBuffer {
    const usage = GPU_BUFFER_USAGE.UNIFORM | GPU_BUFFER_USAGE.COPY_DST;
    const uniform = pooled
      ? this.pool.take(data.byteLength, usage)
      : this.device.createBuffer({ size: data.byteLength, usage });
    this.device.queue.writeBuffer(uniform, 0, data);
    return uniform;
  }

  /** Buffers taken from the pool, back to it once the work that used them is done. */
  giveBack(buffers: Iterable<GPUBuffer>): void {
    for (const b of buffers) this.pool.give(b);
  }

  /** The pipeline of a one-pass helper shader (entry point `main`), compiled once per device. */
  helper(code: string, label?: string): GPUComputePipeline {
    let p = this.pipelines.get(code);
    if (!p) {
      const module = this.device.createShaderModule(label ? { code, label } : { code });
      p = this.device.createComputePipeline(
        label
          ? { layout: 'auto', compute: { module, entryPoint: 'main' }, label }
          : { layout: 'auto', compute: { module, entryPoint: 'main' } },
      );
      this.pipelines.set(code, p);
    }
    return p;
  }
}

// the one association of parad's state with a device: its context (collected with the device)
const contexts = new WeakMap<GPUDevice, DeviceContext>();

/** The context of `device` (made on first use). */
export function contextOf(device: GPUDevice): DeviceContext {
  let c = contexts.get(device);
  if (!c) contexts.set(device, (c = new DeviceContext(device)));
  return c;
}

/** Buffers a pooled `encode` took, back to the device's pool once the work that used them is done. */
export function giveBack(device: GPUDevice, buffers: GPUBuffer[]): void {
  contextOf(device).giveBack(buffers);
}

/** A uniform buffer holding `data`, from the device's pool. */
export function takeUniform(device: GPUDevice, data: Uint32Array<ArrayBuffer>): GPUBuffer {
  return contextOf(device).uniform(data);
}

/** A storage buffer from the device's pool (not zeroed). */
export function takeStorage(device: GPUDevice, bytes: number): GPUBuffer {
  return contextOf(device).takeStorage(bytes);
}
