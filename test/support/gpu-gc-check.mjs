// Regression check for openDevice (gpu-check.mjs): the caller drops the object of dawn.node's
// `create()` (as gpu-fuzz-run.mjs did), garbage collections run, and the device must still work
// (mapAsync round trips). Before openDevice kept that object, this aborted or segfaulted dawn.node
// (the Dawn instance freed under the live device); test/gpu-fuzz.test.ts runs it.
//   node --expose-gc test/support/gpu-gc-check.mjs   (prints { canRun, seen: the values read back }, exits 0)
import { openDevice } from './gpu-check.mjs';

const { device, canRun } = await openDevice();
const seen = [];
for (let round = 0; round < 5; round++) {
  globalThis.gc();
  await new Promise((r) => setTimeout(r, 20));
  const b = device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  device.queue.writeBuffer(b, 0, new Float32Array([round, 1, 2, 3]));
  await b.mapAsync(GPUMapMode.READ);
  seen.push(new Float32Array(b.getMappedRange())[0]);
  b.unmap();
  b.destroy();
}
console.log(JSON.stringify({ canRun, seen }));
device.destroy();
process.exit(0);
