/**
 * The unplugin core of parad/vite, parad/rollup, parad/webpack, parad/rspack and parad/bun: one
 * plugin (resolve `./x.kernel.ad.js` to the kernel file, load a kernel file as its generated
 * module) over plugin/core.ts, the transpiler and cache parad/esbuild uses too. Same options
 * (`ParadPluginOptions`), same cache, same declarations; diagnostics in each tool's own way:
 *
 * - Rollup and Vite: `this.error` / `this.warn` with `loc` (file, line, 0-based column), `frame`
 *   (the code frame) and `pluginCode` (`PARAD1301`), which Rollup prints and Vite's overlay shows.
 * - webpack and Rspack: the module build fails with the diagnostics as `parad transpile` prints
 *   them (`file:line:col - error PARAD…`, code frame); warnings are module warnings, the same text.
 * - Bun: the load throws the same text (Bun prints it); warnings go to `console.warn`.
 *
 * Watch mode and HMR: the kernel files a layer imports are watch files of the layer's module
 * (`addWatchFile`: Rollup's watcher, webpack's file dependencies, Vite's module graph), so editing
 * one transpiles the layer again; an edited kernel file is transpiled again on its next load.
 */
import path from 'node:path';
import { createUnplugin, type UnpluginContext, type UnpluginInstance } from 'unplugin';
import { formatDiagnostic } from '../transformer/index.js';
import type { Diagnostic } from '../transformer/diagnostics.js';
import { AD_IMPORT, kernelTranspiler, type LoadedKernel, type ParadPluginOptions } from './core.js';

export type { ParadPluginOptions } from './core.js';

/** A bundler's module id as a file path: no query (`?v=…`), no virtual-module prefix. */
const fileOf = (id: string) => id.replace(/^\0/, '').replace(/[?#].*$/, '');

export const unpluginParad: UnpluginInstance<ParadPluginOptions | undefined, false> = createUnplugin<
  ParadPluginOptions | undefined,
  false
>((options = {}, meta) => {
  const kernels = kernelTranspiler(options);
  let root = process.cwd();
  // esbuild and Bun compile TypeScript themselves; the others get JavaScript (and its map)
  const format = meta.framework === 'bun' || meta.framework === 'esbuild' ? 'ts' : 'js';
  const rollupLike =
    meta.framework === 'rollup' ||
    meta.framework === 'vite' ||
    meta.framework === 'rolldown' ||
    meta.framework === 'unloader';

  /** The kernel's diagnostics, in the tool's way (an error throws). */
  function report(ctx: UnpluginContext, k: LoadedKernel): void {
    const warnings = k.diagnostics.filter((d) => d.severity === 'warning');
    const errors = k.diagnostics.filter((d) => d.severity === 'error');
    const file = path.resolve(root, k.fileName);
    if (rollupLike) {
      const log = (d: Diagnostic, rest: Diagnostic[] = []) => ({
        message: `${d.code}: ${d.message}${rest.map((r) => `\n\n${formatDiagnostic(r, k.source)}`).join('')}`,
        id: file,
        // a diagnostic of a kernel file a layer imports is in that file (formatDiagnostic adds the import)
        loc: { file: path.resolve(root, d.file), line: d.line, column: Math.max(0, d.column - 1) },
        frame: formatDiagnostic(d, k.source).split('\n').slice(1).join('\n'),
        pluginCode: d.code,
      });
      for (const w of warnings) ctx.warn(log(w));
      // an Error (Vite throws what it is given as it is)
      if (errors.length) {
        const { message, ...located } = log(errors[0], errors.slice(1));
        ctx.error(Object.assign(new Error(message), located));
      }
      return;
    }
    for (const w of warnings) ctx.warn(formatDiagnostic(w, k.source));
    if (errors.length) {
      const text = errors.map((d) => formatDiagnostic(d, k.source)).join('\n\n');
      // the diagnostics are the whole story: no stack of parad's own frames under them
      throw Object.assign(new Error(text), { name: 'ParadError', stack: text });
    }
  }

  return {
    name: 'parad',
    enforce: 'pre',
    // `./blur.kernel.ad.js` (typed by blur.kernel.ad.d.ts) is the generated module of ./blur.kernel.ts
    resolveId: {
      filter: { id: AD_IMPORT },
      async handler(id, importer) {
        if (!importer) return null;
        return (await kernels.resolveAdImport(id, path.dirname(fileOf(importer)))) ?? null;
      },
    },
    load: {
      filter: { id: kernels.filter },
      async handler(id) {
        const file = fileOf(id);
        if (!kernels.filter.test(file) || !path.isAbsolute(file)) return null;
        const k = await kernels.load(file, { root, format, sourcemap: true });
        // Rollup watches only the files it read itself (Vite's module graph has the kernel file already)
        for (const f of k.watchFiles) if (f !== file || meta.framework !== 'vite') this.addWatchFile(f);
        report(this, k);
        return k.code === undefined ? null : { code: k.code, map: k.map && JSON.stringify(k.map) };
      },
    },
    vite: {
      configResolved(config) {
        root = config.root;
      },
    },
    webpack(compiler) {
      root = compiler.context;
    },
    rspack(compiler) {
      root = compiler.context;
    },
    bun: {
      setup(build) {
        root = build.config?.root ? path.resolve(build.config.root) : process.cwd();
      },
    },
  };
});
