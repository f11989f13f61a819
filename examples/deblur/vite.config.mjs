// Builds the deblur example with Vite and parad/vite into examples/deblur/dist/vite/ (the same page as
// build.mjs's esbuild build; test/deblur.e2e.test.ts runs both in Chromium).
//   npx vite build --config examples/deblur/vite.config.mjs      (or: npx vite --config …, the dev server)
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { parad } from 'parad/vite';

const here = path.dirname(fileURLToPath(import.meta.url));

export default defineConfig({
  root: here,
  base: './',
  logLevel: 'warn',
  build: { outDir: path.join(here, 'dist/vite'), emptyOutDir: true, target: 'es2022', sourcemap: true },
  plugins: [
    parad({ target: ['ts', 'wgsl'] }),
    // index.html loads ./main.js, esbuild's output; Vite builds it from ./main.ts
    { name: 'deblur-entry', transformIndexHtml: { order: 'pre', handler: (html) => html.replace('src="./main.js"', 'src="./main.ts"') } },
  ],
});
