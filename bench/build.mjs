// npm run bench:build: parad/esbuild on a project of 20 kernel files (the fixtures' 1-D kernels,
// renamed): cold build, and rebuild after touching one kernel, with the plugin's cache and without
// it (cache: false re-transpiles every kernel on every rebuild). Median of BENCH_REPS (default 7).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { parad } from '../dist/plugin/esbuild.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const REPS = Number(process.env.BENCH_REPS ?? 7);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parad-bench-build-'));
const kernel = (i, gain) => `import type { f64, i32 } from 'parad';

/** @kernel */
export function blur${i}(out: Float64Array, inp: Float64Array, w: Float64Array, gain: f64, n: i32): void {
  // @parallel
  for (let k = 1; k < n - 1; k++) {
    const s = w[0] * inp[k - 1] + w[1] * inp[k] + w[2] * inp[k + 1];
    out[k] = Math.tanh(${gain} * s);
  }
}
`;
for (let i = 0; i < 20; i++) fs.writeFileSync(path.join(dir, `k${i}.kernel.ts`), kernel(i, 'gain'));
fs.writeFileSync(
  path.join(dir, 'index.ts'),
  Array.from({ length: 20 }, (_, i) => `export * from './k${i}.kernel.ts';`).join('\n'),
);

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
async function measure(cache) {
  const cold = [],
    rebuild = [];
  let transpiled = 0;
  for (let rep = 0; rep < REPS; rep++) {
    const ctx = await esbuild.context({
      entryPoints: [path.join(dir, 'index.ts')],
      bundle: true,
      format: 'esm',
      platform: 'node',
      write: false,
      logLevel: 'silent',
      absWorkingDir: dir,
      alias: { parad: path.join(root, 'dist/runtime/index.js') },
      plugins: [
        parad({
          cache,
          onKernel: (e) => {
            if (e.transpiled) transpiled++;
          },
        }),
      ],
    });
    let t0 = performance.now();
    await ctx.rebuild();
    cold.push(performance.now() - t0);
    fs.writeFileSync(path.join(dir, 'k7.kernel.ts'), kernel(7, rep % 2 ? 'gain' : '2 * gain'));
    transpiled = 0;
    t0 = performance.now();
    await ctx.rebuild();
    rebuild.push(performance.now() - t0);
    await ctx.dispose();
  }
  return { cold: median(cold), rebuild: median(rebuild), transpiled };
}
const withCache = await measure(true);
const without = await measure(false);
console.log(
  `parad bench:build (node ${process.version}, esbuild ${esbuild.version}, median of ${REPS}): 20 kernel files`,
);
console.log('                 cold build ms   rebuild after one change ms   kernels transpiled by the rebuild');
console.log(
  `with cache      ${withCache.cold.toFixed(1).padStart(11)}   ${withCache.rebuild.toFixed(1).padStart(27)}   ${String(withCache.transpiled).padStart(5)}`,
);
console.log(
  `without cache   ${without.cold.toFixed(1).padStart(11)}   ${without.rebuild.toFixed(1).padStart(27)}   ${String(without.transpiled).padStart(5)}`,
);
console.log(`rebuild speed-up from the cache: ${(without.rebuild / withCache.rebuild).toFixed(1)}×`);
fs.rmSync(dir, { recursive: true, force: true });
