// GPUBuffers for the WebGPU checks and bench:gpu: a typed array uploaded to a storage buffer, and a
// buffer read back as f32 (one submit and map per call; for checks, not hot paths).

/** A STORAGE | COPY_SRC | COPY_DST buffer holding `a` (at least 4 bytes). */
export function upload(device, a) {
  const b = device.createBuffer({
    size: Math.max(4, a.byteLength),
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
  });
  device.queue.writeBuffer(b, 0, a);
  return b;
}

/** The buffer's contents as a Float32Array, after the work submitted so far. */
export async function download(device, b) {
  const staging = device.createBuffer({ size: b.size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const enc = device.createCommandEncoder();
  enc.copyBufferToBuffer(b, 0, staging, 0, b.size);
  device.queue.submit([enc.finish()]);
  await staging.mapAsync(GPUMapMode.READ);
  const data = new Float32Array(staging.getMappedRange().slice(0));
  staging.unmap();
  staging.destroy();
  return data;
}
