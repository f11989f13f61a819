/**
 * Deblurring as an inverse problem: an image is blurred by an unknown K×K filter; gradient descent
 * on Σ (blur(img, w) − target)² recovers the filter. The gradient comes from the generated adjoint
 * `blur_b`, run on WebGPU through parad/runtime (the loss seed is a kernel too); Adam updates the 25
 * filter values on the host.
 * Importing the kernel file gives the generated module (parad/esbuild in build.mjs, parad/vite in
 * vite.config.mjs).
 */
import { createKernels } from 'parad/runtime';
import * as deblur from './deblur.kernel.ad.js';

const H = 64, W = 64, K = 5, OH = H - K + 1, OW = W - K + 1, N = OH * OW;
const STEPS = 200;

/** A deterministic test image: smooth shapes and a few edges. */
function image(): Float32Array {
  const img = new Float32Array(H * W);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const r = Math.hypot(x - 20, y - 24);
      img[y * W + x] = (r < 12 ? 1 : 0) + 0.5 * Math.sin(x / 3) * Math.cos(y / 5) + (x > 44 && y > 10 && y < 50 ? 0.8 : 0);
    }
  }
  return img;
}

/** The unknown filter: an anisotropic Gaussian, slightly off-centre. */
function trueFilter(): Float32Array {
  const w = new Float32Array(K * K);
  let sum = 0;
  for (let ky = 0; ky < K; ky++) {
    for (let kx = 0; kx < K; kx++) {
      const v = Math.exp(-((kx - 2.4) ** 2) / 1.5 - ((ky - 2) ** 2) / 3);
      w[ky * K + kx] = v;
      sum += v;
    }
  }
  return w.map((v) => v / sum);
}

const status = (text: string) => (document.getElementById('status')!.textContent = text);

async function main(): Promise<void> {
  const adapter = await navigator.gpu?.requestAdapter();
  if (!adapter) throw new Error('WebGPU is not available in this browser');
  const device = await adapter.requestDevice({ requiredLimits: { maxStorageBuffersPerShaderStage: adapter.limits.maxStorageBuffersPerShaderStage } });
  const k = await createKernels(device, deblur.wgsl);
  const gpuName = [adapter.info?.vendor, adapter.info?.architecture, adapter.info?.description].filter(Boolean).join(' ');
  status(`running on ${gpuName || 'an unnamed adapter'}…`);

  const img = image(), wTrue = trueFilter();
  const target = new Float32Array(N);
  await k.blur(target, img, wTrue, H, W, K);

  // start from a flat filter; each step: out = blur(w), seed = 2 (out − target), wb = blur_b(seed), Adam on w
  const w = new Float32Array(K * K).fill(1 / (K * K));
  const out = new Float32Array(N), seed = new Float32Array(N), wb = new Float32Array(K * K);
  const m = new Float64Array(K * K), v = new Float64Array(K * K);
  const losses: number[] = [];
  const rate = 0.01;
  for (let s = 1; s <= STEPS; s++) {
    await k.blur(out, img, w, H, W, K);
    let loss = 0;
    for (let i = 0; i < N; i++) loss += (out[i] - target[i]) ** 2;
    losses.push(loss);
    await k.lossSeed(seed, out, target, N);
    wb.fill(0);
    await k.blur_b(out, seed, img, w, wb, H, W, K);
    for (let i = 0; i < K * K; i++) {
      m[i] = 0.9 * m[i] + 0.1 * wb[i];
      v[i] = 0.999 * v[i] + 0.001 * wb[i] * wb[i];
      w[i] -= (rate * (m[i] / (1 - 0.9 ** s))) / (Math.sqrt(v[i] / (1 - 0.999 ** s)) + 1e-12);
    }
    if (s % 10 === 0) {
      drawLoss(losses);
      await new Promise((r) => requestAnimationFrame(r));
    }
  }
  drawLoss(losses);
  drawFilter('true', wTrue);
  drawFilter('recovered', w);
  const err = Math.max(...w.map((v, i) => Math.abs(v - wTrue[i])));
  status(`done on ${gpuName || 'an unnamed adapter'}: loss ${losses[0].toExponential(2)} → ${losses.at(-1)!.toExponential(2)} in ${STEPS} steps; largest filter error ${err.toExponential(2)}`);
  (window as unknown as { __deblur: unknown }).__deblur = { done: true, losses, filterError: err, adapter: gpuName };
}

function drawLoss(losses: number[]): void {
  const c = document.getElementById('loss') as HTMLCanvasElement;
  const g = c.getContext('2d')!;
  g.clearRect(0, 0, c.width, c.height);
  const logs = losses.map((l) => Math.log10(Math.max(l, 1e-12)));
  const hi = Math.max(...logs), lo = Math.min(...logs, hi - 1);
  g.strokeStyle = '#2060c0';
  g.beginPath();
  logs.forEach((v, i) => {
    const x = 30 + (i / Math.max(1, STEPS - 1)) * (c.width - 40);
    const y = 10 + ((hi - v) / (hi - lo)) * (c.height - 30);
    if (i === 0) g.moveTo(x, y);
    else g.lineTo(x, y);
  });
  g.stroke();
  g.fillStyle = '#333';
  g.fillText(`log10 loss: ${hi.toFixed(1)} … ${lo.toFixed(1)}`, 30, c.height - 5);
}

function drawFilter(id: string, w: Float32Array): void {
  const c = document.getElementById(id) as HTMLCanvasElement;
  const g = c.getContext('2d')!;
  const cell = c.width / K, max = Math.max(...w);
  for (let ky = 0; ky < K; ky++) {
    for (let kx = 0; kx < K; kx++) {
      const v = Math.max(0, Math.round((255 * w[ky * K + kx]) / max));
      g.fillStyle = `rgb(${v}, ${v}, ${v})`;
      g.fillRect(kx * cell, ky * cell, cell, cell);
    }
  }
}

main().catch((e: unknown) => {
  status(`error: ${(e as Error).message}`);
  console.error(e);
  (window as unknown as { __deblur: unknown }).__deblur = { done: true, error: String((e as Error).message) };
});
