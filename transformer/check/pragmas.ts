/**
 * Pragma and JSDoc-tag checks, on the syntax tree (comments are not in the IR): a pragma parad does
 * not know, an option it does not know, a name that is not a parameter, or a pragma that applies to
 * nothing is reported instead of being ignored. The pragmas themselves are read where they are used
 * (`pragmaBefore` in parse/lower.ts; `parseParallelPragma` in parse/pragma.ts; `@checkpoint` options in
 * parse/lower-layer.ts, which reports its own option errors).
 *
 * Severity: a near miss of a known pragma or tag (`@paralel`, `@nodif`) and an unknown option or
 * value of a known pragma are errors (the user meant something parad would silently not do); any
 * other `// @word` comment in a kernel or layer, and a pragma not on the line right before a `for`,
 * are warnings (ignored).
 */
import { Node, ts, type FunctionDeclaration, type SourceFile } from 'ts-morph';
import type { DiagnosticSink } from '../diagnostics.js';
import { ARRAY_TYPES, pragmaBefore } from '../parse/lower.js';
import { STRATEGIES } from '../parse/pragma.js';
import { CODES } from './codes.js';
import { jsDocsOf } from '../parse/parse.js';

/** The loop pragmas, by the kind of function whose loops they mark. */
const LOOP_PRAGMAS = { kernel: 'parallel', layer: 'checkpoint' } as const;
/** parad's JSDoc tags. */
const PARAD_TAGS = ['kernel', 'layer', 'nodiff'];
/** Standard JSDoc / TSDoc tags: never taken for misspelt parad tags. */
const JSDOC_TAGS = new Set([
  'param',
  'returns',
  'return',
  'example',
  'see',
  'deprecated',
  'remarks',
  'throws',
  'link',
  'since',
  'type',
  'typedef',
  'template',
  'inheritdoc',
  'internal',
  'public',
  'private',
  'protected',
  'alpha',
  'beta',
  'todo',
  'author',
  'version',
  'license',
  'module',
  'override',
  'readonly',
  'default',
  'defaultvalue',
  'packagedocumentation',
  'privateremarks',
  'label',
  'summary',
  'description',
  'experimental',
  'virtual',
  'sealed',
  'eventproperty',
  'typeparam',
  'linkcode',
  'linkplain',
]);
/** `@parallel`'s options (docs/kernel-language.md). */
const PARALLEL_OPTIONS = ['exclusive-read', 'adjoint', 'workgroup'];
const STRATEGY_NAMES: readonly string[] = STRATEGIES;

export interface PragmaTarget {
  fn: FunctionDeclaration;
  kind: 'kernel' | 'layer';
}

/** Checks the pragmas in the bodies of `targets` and the parad tags in every function's JSDoc. */
export function checkPragmas(sf: SourceFile, targets: PragmaTarget[], sink: DiagnosticSink): void {
  checkTags(sf, new Set(targets.map((t) => t.fn)), sink);
  for (const t of targets) checkBody(t, sink);
}

/** Damerau–Levenshtein distance (adjacent transpositions count 1), for "did you mean". */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/** The candidate closest to `word` if it is a likely misspelling of it (distance 1 from 3 letters on, 2 from 5). */
export function nearest(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const dist = editDistance(word.toLowerCase(), c.toLowerCase());
    if (dist < bestDistance) [best, bestDistance] = [c, dist];
  }
  const length = Math.min(word.length, best?.length ?? 0);
  return best !== undefined && best !== word && bestDistance <= (length >= 5 ? 2 : length >= 3 ? 1 : 0)
    ? best
    : undefined;
}

/** `@kernal` on any function, `@nodif` in a kernel's JSDoc: misspelt parad tags. */
function checkTags(sf: SourceFile, targets: Set<FunctionDeclaration>, sink: DiagnosticSink): void {
  for (const stmt of sf.getStatements()) {
    if (!Node.isFunctionDeclaration(stmt)) continue;
    for (const doc of jsDocsOf(stmt)) {
      for (const tag of doc.tags) {
        const name = tag.name;
        if (PARAD_TAGS.includes(name) || JSDOC_TAGS.has(name.toLowerCase())) continue;
        const guess = nearest(name, PARAD_TAGS);
        if (!guess) continue;
        const start = tag.start;
        const what = targets.has(stmt) ? '' : ` ('${stmt.getName() ?? 'this function'}' is not transpiled)`;
        sink.error(
          CODES.unknownPragma,
          `unknown JSDoc tag @${name}: did you mean @${guess}?${what}`,
          start,
          start + name.length + 1,
        );
      }
    }
  }
}

interface LineComment {
  pos: number;
  text: string;
}

/** The `//` comments inside `fn`'s body. */
function lineComments(fn: FunctionDeclaration): LineComment[] {
  const body = fn.getBody();
  if (!body) return [];
  const text = fn.getSourceFile().getFullText();
  const scanner = ts.createScanner(
    ts.ScriptTarget.Latest,
    false,
    ts.LanguageVariant.Standard,
    text,
    undefined,
    body.getStart(),
    body.getEnd() - body.getStart(),
  );
  const out: LineComment[] = [];
  for (let k = scanner.scan(); k !== ts.SyntaxKind.EndOfFileToken; k = scanner.scan()) {
    if (k === ts.SyntaxKind.SingleLineCommentTrivia)
      out.push({ pos: scanner.getTokenStart(), text: scanner.getTokenText() });
  }
  return out;
}

function checkBody({ fn, kind }: PragmaTarget, sink: DiagnosticSink): void {
  // the comments pragmaBefore reads: the last leading comment of a for statement, on the line before it
  const attached = new Map<number, string>();
  fn.getBody()?.forEachDescendant((n) => {
    if (!Node.isForStatement(n)) return;
    const ranges = n.getLeadingCommentRanges();
    const last = ranges[ranges.length - 1];
    for (const tag of Object.values(LOOP_PRAGMAS))
      if (last && pragmaBefore(n, tag) !== undefined) attached.set(last.getPos(), tag);
  });
  const params = fn
    .getParameters()
    .map((p) => ({ name: p.getName(), array: ARRAY_TYPES.has(p.getTypeNode()?.getText() ?? '') }));
  const own = LOOP_PRAGMAS[kind];
  const known: string[] = Object.values(LOOP_PRAGMAS);
  for (const c of lineComments(fn)) {
    const m = /^\/\/\s*@(\w+)(.*)$/.exec(c.text);
    // TypeScript's own comment directives (`// @ts-expect-error`) are not pragmas
    if (!m || /^\/\/\s*@ts-/.test(c.text)) continue;
    const [, tag, rest] = m;
    const start = c.pos + c.text.indexOf('@');
    const span = [start, start + tag.length + 1] as const;
    if (!known.includes(tag)) {
      const guess = nearest(tag, known);
      if (guess) sink.error(CODES.unknownPragma, `unknown pragma @${tag}: did you mean @${guess}?`, ...span);
      else
        sink.warning(
          CODES.unknownPragma,
          `unknown pragma @${tag} is ignored (${kind}s know // @${own} on the line before a for loop)`,
          ...span,
        );
      continue;
    }
    if (tag !== own) {
      // a layer's @parallel loop is reported by the layer lowering
      if (kind === 'layer' && attached.has(c.pos)) continue;
      sink.error(
        CODES.unknownPragma,
        `@${tag} is a pragma of ${kind === 'kernel' ? 'layers (docs/layers.md)' : 'kernels'}; ${kind}s have // @${own}`,
        ...span,
      );
      continue;
    }
    if (!attached.has(c.pos)) {
      sink.warning(
        CODES.misplacedPragma,
        `// @${tag} applies to the for loop on the line right after it: this one is ignored`,
        ...span,
      );
      continue;
    }
    if (tag === 'parallel') checkParallelOptions(rest, start + tag.length + 1, params, sink);
  }
}

/** `exclusive-read(a, b) adjoint=gather workgroup=8x8`: each option known, each value valid. */
function checkParallelOptions(
  text: string,
  offset: number,
  params: { name: string; array: boolean }[],
  sink: DiagnosticSink,
): void {
  const arrays = params.filter((p) => p.array).map((p) => p.name);
  for (const m of text.matchAll(/[^\s(]+\([^)]*\)?|\S+/g)) {
    const option = m[0];
    const at = offset + m.index;
    const name = /^[^=(]*/.exec(option)![0];
    const value = option.slice(name.length);
    if (name === 'exclusive-read' && value.startsWith('(')) {
      if (!value.endsWith(')')) {
        sink.error(
          CODES.pragmaOption,
          `exclusive-read( needs its closing parenthesis: exclusive-read(${value.slice(1)})`,
          at,
          at + option.length,
        );
        continue;
      }
      let p = at + name.length + 1;
      for (const part of value.slice(1, -1).split(/([\s,]+)/)) {
        if (part && !/^[\s,]+$/.test(part) && !arrays.includes(part)) {
          const scalar = params.some((q) => q.name === part);
          const guess = scalar ? undefined : nearest(part, arrays);
          const why = scalar ? `'${part}' is a scalar parameter` : `'${part}' is not a parameter of this kernel`;
          sink.error(
            CODES.pragmaName,
            `exclusive-read(${part}): ${why}; name the array parameters whose reads are exclusive${guess ? ` (did you mean ${guess}?)` : ''}`,
            p,
            p + part.length,
          );
        }
        p += part.length;
      }
      if (!value.slice(1, -1).trim())
        sink.error(CODES.pragmaOption, 'exclusive-read() names no array', at, at + option.length);
    } else if (name === 'adjoint' && value.startsWith('=')) {
      const strategy = value.slice(1);
      if (!STRATEGY_NAMES.includes(strategy)) {
        const guess = nearest(strategy, STRATEGY_NAMES);
        sink.error(
          CODES.pragmaOption,
          `unknown adjoint strategy '${strategy}'${guess ? ` (did you mean ${guess}?)` : ''}: one of ${STRATEGY_NAMES.join(', ')}`,
          at,
          at + option.length,
        );
      }
    } else if (name === 'workgroup' && value.startsWith('=')) {
      if (!/^=\d+(x\d+)*$/.test(value))
        sink.error(
          CODES.pragmaOption,
          `workgroup${value}: write the workgroup size as workgroup=64, workgroup=16x16 or workgroup=4x4x4`,
          at,
          at + option.length,
        );
    } else {
      const guess = nearest(name, PARALLEL_OPTIONS);
      sink.error(
        CODES.pragmaOption,
        `unknown @parallel option '${option}'${guess ? ` (did you mean ${guess}?)` : ''}; the options are exclusive-read(<arrays>), adjoint=<strategy> and workgroup=<size>`,
        at,
        at + option.length,
      );
    }
  }
}
