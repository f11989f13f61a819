/** Kernel files of the bundler plugin tests (test/esbuild.test.ts, test/bundlers.test.ts). */
import fs from 'node:fs';
import path from 'node:path';

/** A 1-D blur with a tanh: `gain` is the expression scaling the sum (edit it to change the kernel); the loop body is line 7. */
export const blurKernel = (gain = 'gain', name = 'blur') => `import type { f64, i32 } from 'parad';

/** @kernel */
export function ${name}(out: Float64Array, inp: Float64Array, gain: f64, n: i32): void {
  // @parallel
  for (let i = 1; i < n - 1; i++) {
    out[i] = Math.tanh(${gain} * (inp[i - 1] + inp[i] + inp[i + 1]));
  }
}
`;

/** A layer calling ./blur.kernel.ts's blur twice. */
export const twiceLayer = `import type { f64, i32 } from 'parad';
import { blur } from './blur.kernel.js';
/** @layer */
export function twice(out: Float64Array, inp: Float64Array, tmp: Float64Array, gain: f64, n: i32): void {
  blur(tmp, inp, gain, n);
  blur(out, tmp, gain, n);
}
`;

/** A gather whose reads parad cannot prove exclusive: a PARAD2003 warning at line 5. */
export const gatherKernel = `import type { i32 } from 'parad';
/** @kernel */
export function pick(y: Float64Array, x: Float64Array, idx: Int32Array, n: i32): void {
  // @parallel
  for (let i = 0; i < n; i++) {
    y[i] = x[idx[i]];
  }
}
`;

/** Writes `files` (name → text) under `dir`. */
export function writeFiles(dir: string, files: Record<string, string>): void {
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
}
