/**
 * Long sessions (watch mode, a dev server): compile() keeps nothing per call. Measured in a child
 * process with --expose-gc over the built package: the heap after many compiles of changing kernels,
 * collected, against the heap after a warm-up. Before the JSDoc of kernels was read from the
 * compiler's nodes, every compile kept ~37 KB (ts-morph's cached JSDoc wrappers).
 */
import { expect, test } from 'vitest';
import { execFileSync } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');

test('the heap stays flat over hundreds of compiles (needs npm run build)', () => {
  const script = `
    const { compile } = await import(${JSON.stringify(path.join(root, 'dist/transformer/index.js'))});
    const fs = await import('node:fs');
    const src = fs.readFileSync(${JSON.stringify(path.join(root, 'examples/blur.ts'))}, 'utf8');
    const heap = () => { globalThis.gc(); return process.memoryUsage().heapUsed; };
    const run = async (n) => { for (let i = 0; i < n; i++) await compile(src.replace('gain * s', 'gain * s + ' + (i % 5)), { fileName: 'blur.ts' }); };
    await run(100);
    const before = heap();
    await run(600);
    console.log(JSON.stringify({ perCompile: (heap() - before) / 600 }));
  `;
  const out = execFileSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], {
    cwd: root,
    encoding: 'utf8',
  });
  const { perCompile } = JSON.parse(out.trim().split('\n').pop()!);
  expect(perCompile, `${Math.round(perCompile)} bytes kept per compile`).toBeLessThan(8 * 1024);
});
