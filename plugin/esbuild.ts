/**
 * parad/esbuild: importing a kernel file yields the module `parad transpile` generates for it
 * (the primal kernels, `K_d`, `K_b`, and `wgsl` with target wgsl).
 *
 *   import { parad } from 'parad/esbuild';
 *   await esbuild.build({ entryPoints: ['app.ts'], bundle: true, plugins: [parad({ target: ['ts', 'wgsl'] })] });
 *
 * A file of `@layer` functions is a kernel file too: the kernel files it imports are compiled into
 * its module. Errors and warnings are esbuild messages with a location (esbuild prints the code
 * frames); every kernel file (and what its layers import) is in `watchFiles`; a kernel whose text and options are unchanged is not
 * transpiled again (watch mode, `context().rebuild()`); with `sourcemap` set, the generated code
 * maps to the kernel's lines.
 *
 * The transpiling, cache and declarations are plugin/core.ts's, shared with the unplugin-based
 * plugins (parad/vite, parad/rollup, parad/webpack, parad/rspack, parad/bun); this one speaks
 * esbuild's own API for its messages (line text, length, esbuild's code frames).
 */
import path from 'node:path';
import type { OnLoadResult, Plugin, PartialMessage } from 'esbuild';
import type { Diagnostic, Location } from '../transformer/diagnostics.js';
import { AD_IMPORT, kernelTranspiler, withInlineMap, type ParadPluginOptions } from './core.js';

export type { ParadPluginOptions } from './core.js';

export function parad(options: ParadPluginOptions = {}): Plugin {
  const kernels = kernelTranspiler(options);
  return {
    name: 'parad',
    setup(build) {
      const root = build.initialOptions.absWorkingDir ?? process.cwd();
      const sourcemap = !!build.initialOptions.sourcemap;
      // `./blur.kernel.ad.js` (typed by blur.kernel.ad.d.ts) is the generated module of ./blur.kernel.ts
      build.onResolve({ filter: AD_IMPORT }, async (args) => {
        const kernel = await kernels.resolveAdImport(args.path, args.resolveDir);
        return kernel ? { path: kernel } : undefined;
      });
      build.onLoad({ filter: kernels.filter }, async (args): Promise<OnLoadResult> => {
        const k = await kernels.load(args.path, { root, format: 'ts', sourcemap });
        // a diagnostic of a kernel file a layer imports is in that file (and its import a note)
        const fileOf = (name: string) => (name === k.fileName ? args.path : path.resolve(root, name));
        const messages = (severity: Diagnostic['severity']) =>
          k.diagnostics.filter((d) => d.severity === severity).map((d) => message(d, fileOf));
        return {
          errors: messages('error'),
          warnings: messages('warning'),
          watchFiles: k.watchFiles,
          resolveDir: path.dirname(args.path),
          loader: 'ts',
          ...(k.code ? { contents: k.map ? withInlineMap(k.code, k.map) : k.code } : {}),
        };
      });
    },
  };
}

/** A parad diagnostic as an esbuild message (esbuild's columns are 0-based); its related locations are notes. */
function message(d: Diagnostic, fileOf: (name: string) => string): PartialMessage {
  const location = (l: Location) => ({
    file: fileOf(l.file),
    line: l.line,
    column: Math.max(0, l.column - 1),
    length: l.length,
    lineText: l.lineText,
  });
  return {
    id: d.code,
    pluginName: 'parad',
    text: `${d.code}: ${d.message}`,
    location: location(d),
    ...(d.related ? { notes: d.related.map((r) => ({ text: r.message, location: location(r) })) } : {}),
  };
}
