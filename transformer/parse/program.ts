/**
 * Lowering a file: its kernels, its layers, and the kernels and layers its layers import from
 * other files (read through `resolve`, lowered and checked the same way, and emitted as
 * module-local functions of this file's module, so it imports nothing but `parad`).
 */
import type { SourceFile } from 'ts-morph';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve as resolvePath, sep } from 'node:path';
import { DiagnosticSink } from '../diagnostics.js';
import { CODES } from '../check/codes.js';
import {
  parseSource,
  syntaxProblems,
  findKernels,
  paradTypeImports,
  relativeImports,
  type KernelDecl,
} from './parse.js';
import { Lowerer } from './lower.js';
import { LayerLowerer } from './lower-layer.js';
import type { Kernel } from '../ir/types.js';
import type { Callee, Layer } from '../ir/layer.js';
import { forEachLStmt, layerAccesses } from '../ir/layer.js';
import { forEachStmt, ownExprs } from '../ir/walk.js';
import { walkExpr } from '../ir/build.js';
import { checkKernel } from '../check/subset.js';
import { checkPragmas } from '../check/pragmas.js';

/** Reads the module `specifier` imports from `fromFile`: its file name and text, or undefined. */
export type ResolveImport = (specifier: string, fromFile: string) => { fileName: string; source: string } | undefined;

/**
 * Reads relative specifiers from disk as TypeScript resolves them (`./x.js` is `./x.ts`, `./x` is
 * `./x.ts`), relative to `fromFile`'s folder; `fromFile` and the file name returned are relative to
 * `cwd` (default: the working directory) unless absolute.
 */
export function resolveFromDisk(
  specifier: string,
  fromFile: string,
  cwd = process.cwd(),
): { fileName: string; source: string } | undefined {
  for (const c of importCandidates(specifier, fromFile, cwd)) {
    if (!existsSync(c)) continue;
    const fileName = isAbsolute(fromFile) ? c : relative(cwd, c).split(sep).join('/');
    return { fileName, source: readFileSync(c, 'utf8') };
  }
  return undefined;
}

/** The absolute paths resolveFromDisk tries for `specifier`, in order (a bundler watches them while none exists). */
export function importCandidates(specifier: string, fromFile: string, cwd = process.cwd()): string[] {
  const base = resolvePath(cwd, dirname(fromFile), specifier);
  return [...new Set([base.replace(/\.(m?)js$/, '.$1ts'), `${base}.ts`, base, `${base}/index.ts`])].filter((c) =>
    /\.m?ts$/.test(c),
  );
}

export interface Unit {
  fileName: string;
  kernels: Kernel[];
  layers: Layer[];
  typeImports: string[];
  /** the callees visible in this file: its own and the ones it imports, by local name */
  callees: Map<string, Callee>;
}

export interface Program {
  main: Unit;
  /** the imported files, each with only the kernels and layers the main file's layers use (transitively) */
  imported: Unit[];
  /** every file read for the imports, by name: its text and the import that brought it (in the main file or another import) */
  files: ImportedFiles;
}

/** Files read for imports, by name: their text, and the import (a span of the importing file) that brought each in first. */
export type ImportedFiles = Map<string, { source: string; importedAt: { file: string; start: number; end: number } }>;

export function kernelCallee(k: Kernel): Callee {
  const writes = new Set<string>();
  const reads = new Set<string>();
  forEachStmt(k.body, (s) => {
    if (s.k === 'assign' && s.target.k === 'index') {
      writes.add(s.target.array);
      if (s.op !== '=') reads.add(s.target.array);
    }
    for (const e of ownExprs(s)) walkExpr(e, (x) => void (x.k === 'index' && reads.add(x.array)));
  });
  return { name: k.name, kind: 'kernel', params: k.params, returns: k.returns, writes, reads };
}

/** Lowers `source` and what its layers import; problems go to `sink` (an imported file's errors located in it, the import a related location). */
export function lowerProgram(
  source: string,
  fileName: string,
  sink: DiagnosticSink,
  resolve: ResolveImport = (spec, from) => resolveFromDisk(spec, from),
): Program {
  const units = new Map<string, Unit | 'loading'>();
  const files: ImportedFiles = new Map();
  const main = lowerUnit(source, fileName, sink, resolve, units, files, true);
  // the imported functions the main file's layers reach
  const needed = new Map<Unit, Set<string>>();
  const visit = (unit: Unit, names: Iterable<string>) => {
    for (const n of names) {
      const c = unit.callees.get(n);
      if (!c) continue;
      const owner = [...units.values()].find(
        (u): u is Unit =>
          u !== 'loading' &&
          (u.kernels.some((k) => k.name === c.name) || u.layers.some((l) => l.name === c.name)) &&
          u.callees.get(c.name) === c,
      );
      if (!owner || owner === main) continue;
      const set = needed.get(owner) ?? new Set();
      if (set.has(c.name)) continue;
      needed.set(owner, set.add(c.name));
      const layer = owner.layers.find((l) => l.name === c.name);
      if (layer) visit(owner, calledBy(layer));
    }
  };
  for (const l of main.layers) visit(main, calledBy(l));
  const imported = [...needed].map(([u, names]) => ({
    ...u,
    kernels: u.kernels.filter((k) => names.has(k.name)),
    layers: u.layers.filter((l) => names.has(l.name)),
  }));
  // two functions of one generated module cannot share a name: reported at the imported one, in its
  // file, with the other and the import that brought it in as the next places
  const seen = new Map<string, { file: string; start: number; end: number }>();
  const locateIn = (file: string, start: number, end: number) =>
    file === fileName
      ? sink.locate(start, end)
      : new DiagnosticSink(file, files.get(file)?.source ?? '').locate(start, end);
  for (const f of [...main.kernels, ...main.layers]) seen.set(f.name, { file: fileName, ...f.loc });
  for (const u of imported) {
    for (const f of [...u.kernels, ...u.layers]) {
      const other = seen.get(f.name);
      if (other && other.file !== u.fileName) {
        const at = files.get(u.fileName)?.importedAt;
        sink.add({
          code: CODES.layerImport,
          severity: 'error',
          message: `'${f.name}' of ${u.fileName} has the name of a function of ${other.file}: rename one (the generated module holds both)`,
          ...locateIn(u.fileName, f.loc.start, f.loc.end),
          related: [
            { ...locateIn(other.file, other.start, other.end), message: `the function of ${other.file}` },
            ...(at ? [{ ...locateIn(at.file, at.start, at.end), message: 'imported here' }] : []),
          ],
        });
      }
      seen.set(f.name, { file: u.fileName, ...f.loc });
    }
  }
  return { main, imported, files };
}

function calledBy(layer: Layer): Set<string> {
  const out = new Set<string>();
  forEachLStmt(layer.body, (s) => {
    if (s.k === 'call') out.add(s.callee);
  });
  return out;
}

function lowerUnit(
  source: string,
  fileName: string,
  sink: DiagnosticSink,
  resolve: ResolveImport,
  units: Map<string, Unit | 'loading'>,
  files: ImportedFiles,
  isMain = false,
): Unit {
  units.set(fileName, 'loading');
  const unit = parseSource(source, (sf): Unit => {
    // a file TypeScript cannot parse is reported as such, not as whatever its error recovery lowers to
    const syntax = syntaxProblems(sf);
    for (const p of syntax) sink.error(CODES.syntax, `syntax error: ${p.message}`, p.start, p.end);
    if (syntax.length) return { fileName, kernels: [], layers: [], typeImports: [], callees: new Map() };
    const lowerer = new Lowerer(sink);
    const kernelDecls = findKernels(sf);
    const layerDecls = findKernels(sf, 'layer');
    checkPragmas(
      sf,
      [
        ...kernelDecls.map((d) => ({ fn: d.fn, kind: 'kernel' as const })),
        ...layerDecls.map((d) => ({ fn: d.fn, kind: 'layer' as const })),
      ],
      sink,
    );
    const kernels: Kernel[] = [];
    for (const decl of kernelDecls) {
      const k = lowerer.kernel(decl.fn, decl.doc, decl.nodiff);
      if (k) kernels.push(k);
    }
    // an imported file without kernels is a plain module the layers do not call into
    if (!kernelDecls.length && !layerDecls.length && isMain) {
      sink.error(
        CODES.noKernels,
        'no kernels in this file: mark exported functions with a /** @kernel */ (or /** @layer */) JSDoc',
        0,
        0,
      );
    }
    const callees = new Map<string, Callee>(kernels.map((k) => [k.name, kernelCallee(k)]));
    if (layerDecls.length) importCallees(sf, fileName, sink, resolve, units, files, callees);
    const layers = lowerLayers(layerDecls, sink, callees, fileName);
    return { fileName, kernels, layers, typeImports: paradTypeImports(sf), callees };
  });
  for (const k of unit.kernels) checkKernel(k, sink);
  units.set(fileName, unit);
  return unit;
}

function importCallees(
  sf: SourceFile,
  fileName: string,
  sink: DiagnosticSink,
  resolve: ResolveImport,
  units: Map<string, Unit | 'loading'>,
  files: ImportedFiles,
  callees: Map<string, Callee>,
): void {
  const byModule = new Map<string, ReturnType<typeof relativeImports>>();
  for (const imp of relativeImports(sf)) byModule.set(imp.from, [...(byModule.get(imp.from) ?? []), imp]);
  for (const [from, imps] of byModule) {
    const at = imps[0];
    const file = resolve(from, fileName);
    if (!file) continue; // not a kernel file parad can read: calling its functions is reported at the call
    let unit = units.get(file.fileName);
    if (unit === 'loading') {
      sink.error(
        CODES.layerImport,
        `${from} imports this file back: kernel files cannot import each other in a cycle`,
        at.start,
        at.end,
      );
      continue;
    }
    if (!unit) {
      files.set(file.fileName, { source: file.source, importedAt: { file: fileName, start: at.start, end: at.end } });
      const inner = new DiagnosticSink(file.fileName, file.source);
      unit = lowerUnit(file.source, file.fileName, inner, resolve, units, files);
      // its errors where they are, with this import as the next place (its warnings are its own transpilation's)
      const errors = inner.list.filter((d) => d.severity === 'error');
      const here = { ...sink.locate(at.start, at.end), message: 'imported here' };
      for (const d of errors) sink.add({ ...d, related: [...(d.related ?? []), here] });
      if (errors.length) continue;
    }
    for (const imp of imps) {
      const c = unit.callees.get(imp.imported);
      if (c && (unit.kernels.some((k) => k.name === c.name) || unit.layers.some((l) => l.name === c.name))) {
        if (imp.local !== imp.imported)
          sink.error(
            CODES.layerImport,
            `import kernels and layers under their own names (${imp.imported}, not ${imp.local})`,
            imp.start,
            imp.end,
          );
        callees.set(imp.local, c);
      }
    }
  }
}

function lowerLayers(
  decls: KernelDecl[],
  sink: DiagnosticSink,
  callees: Map<string, Callee>,
  fileName: string,
): Layer[] {
  // signatures first (a layer may call one declared after it), then bodies
  const quiet = new Lowerer(new DiagnosticSink(fileName, decls[0]?.fn.getSourceFile().getFullText() ?? ''));
  const own = new Map<string, Callee>();
  for (const d of decls) {
    const sig = quiet.signature(d.fn, d.nodiff, 'layer');
    if (!sig) continue;
    if (callees.has(sig.name)) continue;
    const c: Callee = {
      name: sig.name,
      kind: 'layer',
      params: sig.params,
      returns: sig.returns,
      writes: new Set(),
      reads: new Set(),
    };
    own.set(sig.name, c);
    callees.set(sig.name, c);
  }
  const layers: Layer[] = [];
  for (const d of decls) {
    const l = new LayerLowerer(sink, callees).layer(d.fn, d.doc, d.nodiff);
    if (l) layers.push(l);
  }
  // what each layer reads and writes depends on what its callees do: iterate to the fixpoint
  for (let changed = true; changed; ) {
    changed = false;
    for (const l of layers) {
      const { reads, writes } = layerAccesses(l, callees);
      const c = own.get(l.name);
      for (const [mine, theirs] of [
        [writes, c?.writes],
        [reads, c?.reads],
      ] as const) {
        if (theirs && [...mine].some((x) => !theirs.has(x))) {
          for (const x of mine) theirs.add(x);
          changed = true;
        }
      }
      l.writes = writes;
      l.reads = reads;
    }
  }
  // a layer cannot reach itself
  const calls = new Map(layers.map((l) => [l.name, calledBy(l)]));
  for (const l of layers) {
    const seen = new Set<string>();
    const stack = [...(calls.get(l.name) ?? [])];
    while (stack.length) {
      const n = stack.pop()!;
      if (n === l.name) {
        sink.error(
          CODES.layerRecursion,
          `layer '${l.name}' calls itself (through ${[...seen].join(', ') || 'itself'}): layers cannot be recursive`,
          l.loc.start,
          l.loc.start + 1,
        );
        break;
      }
      if (seen.has(n)) continue;
      seen.add(n);
      stack.push(...(calls.get(n) ?? []));
    }
  }
  return layers;
}
