/** Prints IR statements as TypeScript/JavaScript (expressions through ir/print.ts). */
import type { Stmt, ForLoop, Expr, Closure } from '../ir/types.js';
import { printExpr, printLValue, forHeader, printType } from '../ir/print.js';

export { printExpr, printLValue, forHeader, reversedLoop } from '../ir/print.js';

/** A checkpointed loop's callbacks, in the order `checkpointLoop` is given them. */
const CHECKPOINT_OPS = ['save', 'restore', 'forward', 'reverse', 'free'] as const;

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
        this.expr(
          `${s.mutable ? 'let' : 'const'} ${s.name}${s.type ? `: ${printType(s.type)}` : ''} = `,
          s.init,
          depth,
        );
        return;
      case 'declare':
        this.line(`let ${s.name}!: ${printType(s.type)};`, depth);
        return;
      case 'destructure':
        this.expr(`${s.decl ? 'const ' : ''}[${s.names.join(', ')}] = `, s.value, depth);
        return;
      case 'assign':
        this.expr(`${printLValue(s.target)} ${s.op} `, s.value, depth);
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
        this.expr('', s.e, depth);
        return;
      case 'comment':
        for (const l of s.text.split('\n')) this.line(l ? `// ${l}` : '//', depth);
        return;
      case 'block':
        this.line('{', depth);
        this.stmts(s.body, depth + 1);
        this.line('}', depth);
        return;
      case 'invoke':
        this.line(`${s.fn}(${s.args.join(', ')});`, depth);
        return;
      case 'reduce':
        // only the WGSL adjoint has it; its host function calls the runtime's reduction instead
        throw new Error('internal: a reduce statement reached the TypeScript printer');
    }
  }

  /**
   * `prefix`, the expression and `;`: on one line, unless it is a runtime call with callbacks
   * (a checkpointed loop's driver, its costs), whose closures' bodies are printed as statements.
   */
  private expr(prefix: string, e: Expr, depth: number): void {
    const at = this.at;
    if (e.k === 'runtime' && e.call.fn === 'checkpointLoop') {
      const c = e.call;
      const slots = c.site.slots ? `, slots: ${c.site.slots}` : '';
      const site = `{ layer: ${JSON.stringify(c.site.layer)}, line: ${c.site.line}${slots} }`;
      this.line(`${prefix}checkpointLoop(${site}, ${printExpr(c.steps)}, ${printExpr(c.bytes)}, {`, depth);
      for (const name of CHECKPOINT_OPS) this.closure(`${name}: `, c.ops[name], ',', depth + 1, at);
      this.line(`}${c.costs ? `, ${c.costs}` : ''});`, depth);
      return;
    }
    if (e.k === 'runtime' && e.call.fn === 'arrayFrom') {
      this.closure(`${prefix}Array.from({ length: ${printExpr(e.call.length)} }, `, e.call.map, ');', depth, at);
      return;
    }
    this.line(`${prefix}${printExpr(e)};`, depth);
  }

  /** `prefix(params) => {`, the body, `}suffix`; the first line comes from the statement's source line, `at` */
  private closure(prefix: string, f: Closure, suffix: string, depth: number, at: number): void {
    const params = f.params.map((p) => (p.type ? `${p.name}: ${printType(p.type)}` : p.name)).join(', ');
    this.at = at;
    this.line(`${prefix}(${params}) => {`, depth);
    this.stmts(f.body, depth + 1);
    this.line(`}${suffix}`, depth);
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
