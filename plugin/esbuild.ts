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
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { createHash } from 'node:crypto';
import type { OnLoadResult, Plugin, PartialMessage } from 'esbuild';
import { ts } from 'ts-morph';
import { GenMapping, maybeAddMapping, setSourceContent, toEncodedMap } from '@jridgewell/gen-mapping';
import { compile, resolveFromDisk, type CompileResult, type Mode, type Target } from '../transformer/index.js';
import type { Diagnostic } from '../transformer/diagnostics.js';
import type { Strategy } from '../transformer/analysis/exclusive/index.js';

export interface ParadPluginOptions {
  /** kernel files (default `/\.kernel\.ts$/`) */
  filter?: RegExp;
  /** `['ts']` (default) or `['ts', 'wgsl']` (also export `wgsl`: docs/wgsl.md) */
  target?: Target[];
  /** derivative modes (default both: `['d', 'b']`) */
  modes?: Mode[];
  /** one adjoint strategy for every parallel read where it applies (as `parad transpile --adjoint`) */
  adjoint?: Strategy;
  /**
   * Write `<kernel>.ad.d.ts` beside each kernel file (default true): TypeScript then types an import
   * of `./blur.kernel.ad.js` (which the plugin resolves to `./blur.kernel.ts`) as the generated
   * module, `blur_b` and all. Written only when its text changes.
   */
  declarations?: boolean;
  /** keep each kernel's result for rebuilds while its text and the options are unchanged (default true) */
  cache?: boolean;
  /** called for each kernel file esbuild loads: transpiled, or answered from the cache (tools, tests) */
  onKernel?: (event: { file: string; transpiled: boolean; ms: number }) => void;
}

export function parad(options: ParadPluginOptions = {}): Plugin {
  const filter = options.filter ?? /\.kernel\.ts$/;
  // by path: the key (content and options) of the last transpile and what it gave esbuild
  // (and the kernel files its layers imported, with their text then)
  const cache = new Map<string, { key: string; imports: { fileName: string; source: string }[]; result: OnLoadResult }>();
  return {
    name: 'parad',
    setup(build) {
      const cwd = build.initialOptions.absWorkingDir ?? process.cwd();
      const sourcemap = !!build.initialOptions.sourcemap;
      // `./blur.kernel.ad.js` (typed by blur.kernel.ad.d.ts) is the generated module of ./blur.kernel.ts
      build.onResolve({ filter: AD_IMPORT }, async (args) => {
        const kernel = path.resolve(args.resolveDir, args.path.replace(AD_IMPORT, '.ts'));
        if (!filter.test(kernel) || !(await exists(kernel))) return undefined;
        return { path: kernel };
      });
      build.onLoad({ filter }, async (args) => {
        const source = await fs.readFile(args.path, 'utf8');
        const fileName = path.relative(cwd, args.path).split(path.sep).join('/');
        const key = createHash('sha256').update(JSON.stringify([source, fileName, options.target, options.modes, options.adjoint, sourcemap])).digest('hex');
        const hit = cache.get(args.path);
        const same = async (f: { fileName: string; source: string }) => (await fs.readFile(f.fileName, 'utf8').catch(() => undefined)) === f.source;
        if (hit?.key === key && options.cache !== false && (await Promise.all(hit.imports.map(same))).every(Boolean)) {
          options.onKernel?.({ file: fileName, transpiled: false, ms: 0 });
          return hit.result;
        }
        const t0 = performance.now();
        // the kernel files a layer imports: compiled into its module, watched, part of the cache key
        const imports: { fileName: string; source: string }[] = [];
        const resolveImport = (spec: string, from: string) => {
          const f = resolveFromDisk(spec, from, cwd);
          if (f) imports.push({ fileName: path.resolve(cwd, f.fileName), source: f.source });
          return f;
        };
        const r = await compile(source, { fileName, targets: options.target ?? ['ts'], modes: options.modes, strategy: options.adjoint, resolveImport });
        const messages = (severity: Diagnostic['severity']) => r.diagnostics.filter((d) => d.severity === severity).map((d) => message(d, args.path));
        const result: OnLoadResult = {
          errors: messages('error'),
          warnings: messages('warning'),
          watchFiles: [args.path, ...imports.map((f) => f.fileName)],
          resolveDir: path.dirname(args.path),
          loader: 'ts',
          ...(r.code ? { contents: sourcemap ? withSourceMap(r, source, args.path) : r.code } : {}),
        };
        cache.set(args.path, { key, imports, result });
        if (r.code && options.declarations !== false) await writeDeclarations(args.path, r.code);
        options.onKernel?.({ file: fileName, transpiled: true, ms: performance.now() - t0 });
        return result;
      });
    },
  };
}

/** An import of a kernel's generated module: `./blur.kernel.ad.js` (or `.ad`, `.ad.ts`). */
const AD_IMPORT = /\.ad(?:\.js|\.ts)?$/;

const exists = (file: string) => fs.access(file).then(() => true, () => false);

/** `<kernel>.ad.d.ts`: the declarations of the generated module (its signatures are all explicit). */
async function writeDeclarations(kernel: string, code: string): Promise<void> {
  const file = kernel.replace(/\.ts$/, '.ad.d.ts');
  const text = `// Generated by parad/esbuild from ${path.basename(kernel)}: the types of \`import … from './${path.basename(kernel, '.ts')}.ad.js'\`.\n${ts.transpileDeclaration(code, { compilerOptions: { target: ts.ScriptTarget.ES2022 } }).outputText}`;
  const old = await fs.readFile(file, 'utf8').catch(() => undefined);
  if (old !== text) await fs.writeFile(file, text);
}

/** A parad diagnostic as an esbuild message (esbuild's columns are 0-based). */
function message(d: Diagnostic, file: string): PartialMessage {
  return {
    id: d.code,
    pluginName: 'parad',
    text: `${d.code}: ${d.message}`,
    location: { file, line: d.line, column: Math.max(0, d.column - 1), length: d.length, lineText: d.lineText },
  };
}

/** The generated code with an inline source map: each line to the kernel line it comes from. */
function withSourceMap(r: CompileResult, source: string, file: string): string {
  const map = new GenMapping({ file: `${path.basename(file)}.ad.ts` });
  setSourceContent(map, file, source);
  (r.sourceLines ?? []).forEach((line, i) => {
    if (line > 0) maybeAddMapping(map, { generated: { line: i + 1, column: 0 }, source: file, original: { line, column: 0 } });
  });
  const json = JSON.stringify(toEncodedMap(map));
  return `${r.code}\n//# sourceMappingURL=data:application/json;base64,${Buffer.from(json).toString('base64')}\n`;
}
