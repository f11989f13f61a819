// Builds the deblur example with esbuild and parad/esbuild (the kernel file's import gives the
// generated module, WGSL included) into examples/deblur/dist/; with --serve, serves it on
// http://localhost:8000/ (npm run example). Open it in a browser with WebGPU.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { parad } from 'parad/esbuild';

const here = path.dirname(fileURLToPath(import.meta.url));
const dist = path.join(here, 'dist');

/** The esbuild context of the example (also used by its end-to-end test). */
export async function exampleContext() {
  fs.mkdirSync(dist, { recursive: true });
  fs.copyFileSync(path.join(here, 'index.html'), path.join(dist, 'index.html'));
  return esbuild.context({
    entryPoints: [path.join(here, 'main.ts')],
    bundle: true,
    format: 'esm',
    target: 'es2022',
    outdir: dist,
    sourcemap: true,
    logLevel: 'info',
    plugins: [parad({ target: ['ts', 'wgsl'] })],
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const ctx = await exampleContext();
  if (process.argv.includes('--serve')) {
    await ctx.watch();
    const port = Number(process.env.PORT ?? 8000);
    await ctx.serve({ servedir: dist, port });
    console.log(`deblur example: http://localhost:${port}/ (open it in a browser with WebGPU; Ctrl-C stops)`);
  } else {
    await ctx.rebuild();
    await ctx.dispose();
  }
}
