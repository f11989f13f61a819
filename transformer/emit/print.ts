/** Prints IR statements as TypeScript/JavaScript (expressions through ir/print.ts). */
import type { Stmt, ForLoop } from '../ir/types.js';
import { printExpr, printLValue, forHeader } from '../ir/print.js';

export { printExpr, printLValue, forHeader, reversedLoop } from '../ir/print.js';

export interface PrintOptions {
  /** file name for `// from file:LINE` comments on loops */
  fileName: string;
}

/** The source line of the first statement after `i` that has one, unless a generated statement other than a temporary comes first. */
function nextLine(body: Stmt[], i: number): number | undefined {
  for (let j = i + 1; j < body.length; j++) {
    const s = body[j];
    if ('loc' in s && s.loc) return s.loc.line;
    if (s.k !== 'decl') return undefined;
  }
  return undefined;
}

export class Printer {
  private lines: string[] = [];
  /** per printed line, the kernel source line it comes from (0: none): generated statements take their enclosing or preceding statement's */
  readonly sources: number[] = [];
  private at = 0;
  constructor(private readonly opts: PrintOptions) {}

  line(text: string, depth: number): void {
    this.lines.push(`${'  '.repeat(depth)}${text}`);
    this.sources.push(this.at);
  }

  stmts(body: Stmt[], depth: number): void {
    body.forEach((s, i) => {
      if ('loc' in s && s.loc) this.at = s.loc.line;
      // a generated temporary is computed for the next statement of the kernel's
      else if (s.k === 'decl') this.at = nextLine(body, i) ?? this.at;
      this.stmt(s, depth);
    });
  }

  private forHeader(s: ForLoop): string {
    return forHeader(s);
  }

  stmt(s: Stmt, depth: number): void {
    switch (s.k) {
      case 'decl':
        this.line(
          `${s.mutable ? 'let' : 'const'} ${s.name}${s.type ? `: ${s.type}` : ''} = ${printExpr(s.init)};`,
          depth,
        );
        return;
      case 'assign':
        this.line(`${printLValue(s.target)} ${s.op} ${printExpr(s.value)};`, depth);
        return;
      case 'if': {
        this.line(`if (${printExpr(s.cond)}) {`, depth);
        this.stmts(s.then, depth + 1);
        if (s.else.length === 1 && s.else[0].k === 'if') {
          const inner = new Printer(this.opts);
          inner.at = s.else[0].loc?.line ?? this.at;
          inner.stmt(s.else[0], depth);
          const [first, ...rest] = inner.lines;
          this.line(`} else ${first.trimStart()}`, depth);
          this.lines.push(...rest);
          this.sources.push(...inner.sources.slice(1));
          return;
        }
        if (s.else.length) {
          this.line('} else {', depth);
          this.stmts(s.else, depth + 1);
        }
        this.line('}', depth);
        return;
      }
      case 'for': {
        const tag = s.parallel ? ' (parallel)' : '';
        if (s.loc)
          this.line(`// from ${this.opts.fileName}:${s.loc.line}${s.reversed ? ', reversed' : ''}${tag}`, depth);
        this.line(`${this.forHeader(s)} {`, depth);
        this.stmts(s.body, depth + 1);
        this.line('}', depth);
        return;
      }
      case 'return':
        this.line(s.value ? `return ${printExpr(s.value)};` : 'return;', depth);
        return;
      case 'push':
        this.line(`${s.tape}.push(${printExpr(s.value)});`, depth);
        return;
      case 'pushArray':
        this.line(`${s.tape}.pushArray(${s.array});`, depth);
        return;
      case 'popArray':
        this.line(`${s.tape}.popArray(${s.array});`, depth);
        return;
      case 'saveArray':
        this.line(`const ${s.name} = ${s.array}.slice();`, depth);
        return;
      case 'restoreArray':
        this.line(`${s.array}.set(${s.name});`, depth);
        return;
      case 'effect':
        this.line(`${printExpr(s.e)};`, depth);
        return;
      case 'comment':
        for (const l of s.text.split('\n')) this.line(l ? `// ${l}` : '//', depth);
        return;
      case 'block':
        this.line('{', depth);
        this.stmts(s.body, depth + 1);
        this.line('}', depth);
        return;
      case 'line':
        this.line(s.text, depth);
        return;
      case 'nest':
        this.line(s.head ? `${s.head} {` : '{', depth);
        this.stmts(s.body, depth + 1);
        this.line(`}${s.tail ?? ''}`, depth);
        return;
      case 'invoke':
        this.line(`${s.fn}(${s.args.join(', ')});`, depth);
        return;
      case 'reduce':
        // only the WGSL adjoint has it; its host function calls the runtime's reduction instead
        throw new Error('internal: a reduce statement reached the TypeScript printer');
    }
  }

  text(): string {
    return this.lines.join('\n');
  }
}

export function printStmts(body: Stmt[], depth: number, opts: PrintOptions): string {
  return printMapped(body, depth, opts).text;
}

/** The printed statements and, per line, the kernel source line it comes from (0: none). */
export function printMapped(body: Stmt[], depth: number, opts: PrintOptions): { text: string; sources: number[] } {
  const p = new Printer(opts);
  p.stmts(body, depth);
  return { text: p.text(), sources: p.sources };
}
