/**
 * The fixtures made 32-bit for WebGPU (which runs f32): a source, and the kernel files a fixture's
 * layers import, read from fixtures/ and made 32-bit too (compile's `resolveImport`).
 * test/support/webgpu-run.mjs, plain Node, has its own copy.
 */
import fs from 'node:fs';
import path from 'node:path';

export const to32 = (src: string): string => src.replaceAll('Float64Array', 'Float32Array').replace(/\bf64\b/g, 'f32');

const fixtures = path.resolve(import.meta.dirname, '../../fixtures');

export const imports32 =
  (dir: string) =>
  (spec: string): { fileName: string; source: string } | undefined => {
    const file = path.resolve(fixtures, dir, spec).replace(/\.js$/, '.ts');
    return fs.existsSync(file) ? { fileName: file, source: to32(fs.readFileSync(file, 'utf8')) } : undefined;
  };
