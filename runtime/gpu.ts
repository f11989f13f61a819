/**
 * parad/runtime: runs a generated module's WGSL programs on a `GPUDevice` (browser or Node).
 *
 *   const k = await createKernels(device, mod.wgsl);
 *   await k.heat(u, tmp, kappa, n, T);       // same positional arguments as the TS function
 *   await k.heat_d(u, ud, tmp, tmpd, kappa, kappad, n, T);
 *
 * With typed arrays a call uploads them, runs the passes, and copies every array a pass writes back
 * into the same typed array; with GPUBuffers (STORAGE usage) it works on them in place.
 * `k.heat.encode(encoder, ...)` records into a caller's command encoder (GPUBuffers only).
 * Pipelines are cached per device (by shader); a call's upload, uniform and read-back buffers go
 * back to a per-device pool for the next call.
 *
 * This file is the entry (`parad/runtime`); the runtime is in layers, each importing only the ones
 * below it: device.ts (buffer pool, pipelines, device loss, per device) → kernels.ts (a kernel's
 * program as a call) → layers.ts (layers' WebGPU variants: device arrays, one run object per call),
 * with the checkpoint driver (checkpoint.ts) and the shader messages (shader-check.ts) beside them.
 */
/// <reference types="@webgpu/types" />
import type { WgslModule } from './index.js';
import { ParadGpuError, contextOf } from './device.js';
import { kernelPrograms, type KernelCall, type KernelOptions } from './kernels.js';
import { layerCalls } from './layers.js';

export {
  checkShaderModule,
  shaderSourceMap,
  type ShaderSourceLocation,
  type ShaderWarningHandler,
} from './shader-check.js';
export {
  GPU_BUFFER_USAGE,
  MAX_WORKGROUPS,
  ParadGpuError,
  STORAGE_USAGE,
  giveBack,
  isBuffer,
  takeStorage,
  takeUniform,
  type TypedArray,
} from './device.js';
export { REDUCE_WGSL, prepareKernels, type KernelCall, type KernelOptions } from './kernels.js';

/** Kernels, tangents and adjoints of a generated module's `wgsl` export, by function name (`K`, `K_d`, `K_b`). */
export async function createKernels(
  device: GPUDevice,
  wgsl: WgslModule,
  options: KernelOptions = {},
): Promise<Record<string, KernelCall>> {
  if (wgsl?.version !== 1)
    throw new ParadGpuError('createKernels: expected the `wgsl` export of a module generated with --target ts,wgsl');
  contextOf(device); // the device's loss is watched from here on
  const programs = kernelPrograms(device, wgsl.kernels, options);
  const out: Record<string, KernelCall> = Object.fromEntries(
    Object.entries(programs).map(([name, p]) => [name, p.call]),
  );
  if (wgsl.layers) Object.assign(out, layerCalls(device, wgsl.layers, programs));
  return out;
}
