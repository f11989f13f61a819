/**
 * Parse phase: TS text → ts-morph SourceFile, and the kernels it declares (exported functions whose
 * JSDoc carries `@kernel`), with their JSDoc directives.
 */
import { Project, Node, ts, type SourceFile, type FunctionDeclaration } from 'ts-morph';

let project: Project | undefined;
/** Files being parsed now (a layer's imported files are parsed while the layer's file is). */
let depth = 0;

/**
 * One in-memory project reused across calls (creating one costs far more than parsing a kernel).
 * The file is named by its nesting depth, not by a counter: ts-morph and TypeScript keep per-name
 * state, so a name per call would retain something of every call (a long watch session grows).
 */
export function parseSource<T>(text: string, use: (sf: SourceFile) => T): T {
  project ??= new Project({
    useInMemoryFileSystem: true,
    skipLoadingLibFiles: true,
    compilerOptions: { allowJs: false },
  });
  const sf = project.createSourceFile(`/parad_input_${depth++}.ts`, text, { overwrite: true });
  try {
    return use(sf);
  } finally {
    depth--;
    project.removeSourceFile(sf);
  }
}

/** A TypeScript syntax error of a parsed file (offsets into its text). */
export interface SyntaxProblem {
  start: number;
  end: number;
  /** TypeScript's message, without its final period, and its code (`TS1005`) */
  message: string;
}

/** TypeScript's syntactic diagnostics of `sf` (the parser's: `)` expected, a stray `}`, …). */
export function syntaxProblems(sf: SourceFile): SyntaxProblem[] {
  return sf
    .getProject()
    .getProgram()
    .compilerObject.getSyntacticDiagnostics(sf.compilerNode)
    .map((d) => {
      const start = d.start ?? 0;
      const message = ts.flattenDiagnosticMessageText(d.messageText, ' ').replace(/\.$/, '');
      return { start, end: start + (d.length ?? 1), message: `${message} (TS${d.code})` };
    });
}

export interface KernelDecl {
  fn: FunctionDeclaration;
  name: string;
  doc: string;
  nodiff: string[];
}

/**
 * The `/** … *\/` blocks of a function with their tags (name, offset of the `@`), read from the
 * compiler's nodes: ts-morph's JSDoc wrappers stay cached after their file is removed, so every
 * compile of a long watch session would keep some.
 */
export function jsDocsOf(fn: FunctionDeclaration): { text: string; tags: { name: string; start: number }[] }[] {
  const text = fn.getSourceFile().getFullText();
  const docs = (fn.compilerNode as ts.Node & { jsDoc?: ts.JSDoc[] }).jsDoc ?? [];
  return docs.map((d) => ({
    text: text.slice(d.pos, d.end),
    tags: (d.tags ?? []).map((t) => ({ name: t.tagName.text, start: t.pos })),
  }));
}

/** The JSDoc text of a function (all its `/** … *\/` blocks joined). */
function jsDocText(fn: FunctionDeclaration): string {
  return jsDocsOf(fn)
    .map((d) => d.text)
    .join('\n');
}

/** The functions whose JSDoc has `@kernel` (or `tag`: `@layer`). */
export function findKernels(sf: SourceFile, tag: 'kernel' | 'layer' = 'kernel'): KernelDecl[] {
  const out: KernelDecl[] = [];
  const re = new RegExp(`@${tag}\\b`);
  for (const stmt of sf.getStatements()) {
    if (!Node.isFunctionDeclaration(stmt)) continue;
    const doc = jsDocText(stmt);
    if (!re.test(doc)) continue;
    const nodiff: string[] = [];
    for (const m of doc.matchAll(/@nodiff\s+([A-Za-z_$][\w$]*(?:[\s,]+[A-Za-z_$][\w$]*)*)/g)) {
      for (const name of m[1].split(/[\s,]+/)) if (name && !name.startsWith('@')) nodiff.push(name);
    }
    out.push({ fn: stmt, name: stmt.getName() ?? '', doc, nodiff });
  }
  return out;
}

/** `import type { f32, f64 } from 'parad'` names, to re-import in the generated module. */
export function paradTypeImports(sf: SourceFile): string[] {
  const names = new Set<string>();
  for (const imp of sf.getImportDeclarations()) {
    if (imp.getModuleSpecifierValue() !== 'parad') continue;
    for (const n of imp.getNamedImports()) names.add(n.getName());
  }
  return [...names];
}

/** A named import from a relative module (`import { step } from './heat.kernel.js'`). */
export interface NamedImport {
  /** the name in this file */
  local: string;
  /** the name the other module exports */
  imported: string;
  /** the module specifier as written */
  from: string;
  start: number;
  end: number;
}

export function relativeImports(sf: SourceFile): NamedImport[] {
  const out: NamedImport[] = [];
  for (const imp of sf.getImportDeclarations()) {
    const from = imp.getModuleSpecifierValue();
    if (!from.startsWith('.') || imp.isTypeOnly()) continue;
    for (const n of imp.getNamedImports()) {
      if (n.isTypeOnly()) continue;
      out.push({
        local: n.getAliasNode()?.getText() ?? n.getName(),
        imported: n.getName(),
        from,
        start: n.getStart(),
        end: n.getEnd(),
      });
    }
  }
  return out;
}
