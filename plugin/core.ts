/**
 * The core of parad's bundler plugins (parad/esbuild, and parad/vite, parad/rollup, parad/webpack,
 * parad/rspack, parad/bun through unplugin.ts): a kernel file read from disk becomes the module
 * `parad transpile` generates for it, with its diagnostics, the files to watch (the kernel file and
 * the kernel files its layers import), a source map to the kernel's lines, and the `.ad.d.ts`
 * declarations beside it. A kernel whose text, imports and options are unchanged is answered from
 * the cache (rebuilds, watch mode, HMR).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { ts } from 'ts-morph';
import {
  GenMapping,
  maybeAddMapping,
  setSourceContent,
  toEncodedMap,
  type EncodedSourceMap,
} from '@jridgewell/gen-mapping';
import { TraceMap, eachMapping } from '@jridgewell/trace-mapping';
import { compile, importCandidates, resolveFromDisk, type Mode, type Target } from '../transformer/index.js';
import type { Diagnostic } from '../transformer/diagnostics.js';
import type { Strategy } from '../transformer/analysis/exclusive/index.js';

export type { EncodedSourceMap } from '@jridgewell/gen-mapping';

/** The options of every parad bundler plugin (docs/bundlers.md). */
export interface ParadPluginOptions {
  /** kernel files (default `/\.kernel\.ts$/`) */
  filter?: RegExp;
  /** `['ts']` (default) or `['ts', 'wgsl']` (also export `wgsl`: docs/wgsl.md) */
  target?: Target[];
  /** derivative modes (default both: `['d', 'b']`) */
  modes?: Mode[];
  /** one adjoint strategy for every parallel read where it applies (as `parad transpile --adjoint`) */
  adjoint?: Strategy;
  /** how the JavaScript adjoint's parallel loops are scheduled (as `parad transpile --schedule`; default `sequential`) */
  schedule?: 'sequential' | 'parallel';
  /**
   * Write `<kernel>.ad.d.ts` beside each kernel file (default true): TypeScript then types an import
   * of `./blur.kernel.ad.js` (which the plugin resolves to `./blur.kernel.ts`) as the generated
   * module, `blur_b` and all. Written only when its text changes.
   */
  declarations?: boolean;
  /** keep each kernel's result for rebuilds while its text and the options are unchanged (default true) */
  cache?: boolean;
  /** called for each kernel file the bundler loads: transpiled, or answered from the cache (tools, tests) */
  onKernel?: (event: { file: string; transpiled: boolean; ms: number }) => void;
}

/** One kernel file, transpiled (or from the cache). */
export interface LoadedKernel {
  /** the kernel file relative to the build's root, `/`-separated (as diagnostics name it) */
  fileName: string;
  /** the kernel file's text */
  source: string;
  /** errors and warnings, in source order */
  diagnostics: Diagnostic[];
  /** the generated module (TypeScript or JavaScript, as asked); undefined when there are errors */
  code?: string;
  /** with `sourcemap`: each generated line to the kernel line it comes from (an imported kernel's: in its own file) */
  map?: EncodedSourceMap;
  /**
   * absolute paths: the kernel file, the kernel files its layers import (compiled into its module),
   * and, for an import that does not resolve (a deleted file), the paths it would resolve to: its
   * return triggers a rebuild
   */
  watchFiles: string[];
}

export interface LoadOptions {
  /** the build's root: diagnostics name files relative to it, a layer's imports resolve under it */
  root: string;
  /** `ts` (esbuild and Bun compile it further) or `js` (types stripped: Rollup, Vite, webpack, Rspack) */
  format: 'ts' | 'js';
  /** make `map` */
  sourcemap: boolean;
}

/** An import of a kernel's generated module: `./blur.kernel.ad.js` (or `.ad`, `.ad.ts`). */
export const AD_IMPORT = /\.ad(?:\.js|\.ts)?$/;

/** The text of a file the last transpile read (or `undefined`: it was missing then). */
interface Read {
  fileName: string;
  source: string | undefined;
}

/** The results kept per option set while a kernel file's text is unchanged (two builds with other options share one plugin). */
const VARIANTS = 8;

/** The transpiler of one plugin instance, with its cache (shared by every build the instance serves). */
export function kernelTranspiler(options: ParadPluginOptions = {}) {
  const filter = options.filter ?? /\.kernel\.ts$/;
  // by path: the text (and name) of the file last transpiled, and per set of options that change
  // the output, the files its layers' imports read (with their text then, or missing) and what it gave
  const cache = new Map<string, { text: string; variants: Map<string, { imports: Read[]; result: LoadedKernel }> }>();
  const same = async (f: Read) => (await fs.readFile(f.fileName, 'utf8').catch(() => undefined)) === f.source;

  /** Transpiles the kernel file `file` (absolute), or answers from the cache. */
  async function load(file: string, { root, format, sourcemap }: LoadOptions): Promise<LoadedKernel> {
    const source = await fs.readFile(file, 'utf8');
    const fileName = path.relative(root, file).split(path.sep).join('/');
    const text = hash([source, fileName]);
    // every option that changes the generated module or its map
    const key = hash([
      options.target ?? ['ts'],
      options.modes ?? ['d', 'b'],
      options.adjoint ?? null,
      options.schedule ?? 'sequential',
      format,
      sourcemap,
    ]);
    const entry = cache.get(file);
    const hit = entry?.text === text ? entry.variants.get(key) : undefined;
    if (hit && options.cache !== false && (await Promise.all(hit.imports.map(same))).every(Boolean)) {
      options.onKernel?.({ file: fileName, transpiled: false, ms: 0 });
      return hit.result;
    }
    const t0 = performance.now();
    // the kernel files a layer imports: compiled into its module, watched, checked by the cache;
    // an import that does not resolve: the paths it would resolve to, watched till one appears
    const imports: Read[] = [];
    const resolveImport = (spec: string, from: string) => {
      const f = resolveFromDisk(spec, from, root);
      if (f) imports.push({ fileName: path.resolve(root, f.fileName), source: f.source });
      else for (const c of importCandidates(spec, from, root)) imports.push({ fileName: c, source: undefined });
      return f;
    };
    const r = await compile(source, {
      fileName,
      targets: options.target ?? ['ts'],
      modes: options.modes,
      strategy: options.adjoint,
      schedule: options.schedule,
      resolveImport,
    });
    const result: LoadedKernel = {
      fileName,
      source,
      diagnostics: r.diagnostics,
      watchFiles: [file, ...new Set(imports.map((f) => f.fileName))],
    };
    if (r.code) {
      const lines = r.sourceLines ?? [];
      // the files of the lines: this kernel file, then the imported ones (their text as compiled)
      const files = (r.sourceFiles ?? [fileName]).map((f, i) => {
        const abs = i === 0 ? file : path.resolve(root, f);
        return { file: abs, source: i === 0 ? source : (imports.find((x) => x.fileName === abs)?.source ?? null) };
      });
      const at = (line: number): [number, number] => [r.sourceFileOf?.[line] ?? 0, lines[line] ?? 0];
      if (format === 'ts') {
        result.code = r.code;
        if (sourcemap)
          result.map = lineMap(
            lines.map((_, i) => [i + 1, ...at(i)]),
            file,
            files,
          );
      } else {
        const js = ts.transpileModule(r.code, {
          compilerOptions: {
            target: ts.ScriptTarget.ES2022,
            module: ts.ModuleKind.ESNext,
            verbatimModuleSyntax: false,
            sourceMap: sourcemap,
          },
        });
        result.code = js.outputText.replace(/\n\/\/# sourceMappingURL=.*\s*$/, '\n');
        // the JavaScript's lines → the TypeScript's lines → the kernel's lines
        if (sourcemap && js.sourceMapText) {
          const byLine = new Map<number, [number, number]>();
          eachMapping(new TraceMap(js.sourceMapText), (m) => {
            if (m.originalLine !== null && !byLine.has(m.generatedLine))
              byLine.set(m.generatedLine, at(m.originalLine - 1));
          });
          result.map = lineMap(
            [...byLine].map(([g, [f, l]]) => [g, f, l]),
            file,
            files,
          );
        }
      }
    }
    // a result in which z3 failed (PARAD2004) is not kept: the next build asks z3 again
    if (!r.diagnostics.some((d) => d.code === 'PARAD2004')) {
      const variants = entry?.text === text ? entry.variants : new Map();
      variants.delete(key);
      if (variants.size >= VARIANTS) variants.delete(variants.keys().next().value);
      cache.set(file, { text, variants: variants.set(key, { imports, result }) });
    }
    if (r.code && options.declarations !== false) await writeDeclarations(file, r.code);
    options.onKernel?.({ file: fileName, transpiled: true, ms: performance.now() - t0 });
    return result;
  }

  /** `./blur.kernel.ad.js` imported from the folder `dir`: the kernel file it stands for, if there is one. */
  async function resolveAdImport(spec: string, dir: string): Promise<string | undefined> {
    if (!AD_IMPORT.test(spec) || (!/^\.{1,2}\//.test(spec) && !path.isAbsolute(spec))) return undefined;
    const kernel = path.resolve(dir, spec.replace(AD_IMPORT, '.ts'));
    return filter.test(kernel) && (await exists(kernel)) ? kernel : undefined;
  }

  return { filter, load, resolveAdImport };
}

const hash = (value: unknown) => createHash('sha256').update(JSON.stringify(value)).digest('hex');

const exists = (file: string) =>
  fs.access(file).then(
    () => true,
    () => false,
  );

/** `<kernel>.ad.d.ts`: the declarations of the generated module (its signatures are all explicit). */
async function writeDeclarations(kernel: string, code: string): Promise<void> {
  const file = kernel.replace(/\.ts$/, '.ad.d.ts');
  const text = `// Generated by parad's bundler plugin from ${path.basename(kernel)}: the types of \`import … from './${path.basename(kernel, '.ts')}.ad.js'\`.\n${ts.transpileDeclaration(code, { compilerOptions: { target: ts.ScriptTarget.ES2022 } }).outputText}`;
  const old = await fs.readFile(file, 'utf8').catch(() => undefined);
  if (old !== text) await fs.writeFile(file, text);
}

/**
 * A source map of whole lines: `[generated line, file, kernel line]` (lines 1-based, kernel line 0:
 * none; file: an index into `files`, the kernel file and the imported ones, with their text).
 */
function lineMap(
  entries: [number, number, number][],
  file: string,
  files: { file: string; source: string | null }[],
): EncodedSourceMap {
  const map = new GenMapping({ file: `${path.basename(file)}.ad.ts` });
  for (const f of files) setSourceContent(map, f.file, f.source);
  for (const [generated, index, line] of entries) {
    if (line > 0 && files[index])
      maybeAddMapping(map, {
        generated: { line: generated, column: 0 },
        source: files[index].file,
        original: { line, column: 0 },
      });
  }
  return toEncodedMap(map);
}

/** `code` with `map` as an inline `//# sourceMappingURL=data:` comment. */
export function withInlineMap(code: string, map: EncodedSourceMap): string {
  return `${code}\n//# sourceMappingURL=data:application/json;base64,${Buffer.from(JSON.stringify(map)).toString('base64')}\n`;
}

/** The diagnostics of a kernel, formatted as `parad transpile` prints them (location, code frame). */
export { formatDiagnostic } from '../transformer/index.js';
