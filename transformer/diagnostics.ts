/**
 * Diagnostics: every message parad reports carries a stable code, a location and a code frame.
 * Codes are listed (with examples) in docs/diagnostics.md.
 */
export type Severity = 'error' | 'warning';

export interface Diagnostic {
  code: string; // PARAD1xxx: kernel language; PARAD2xxx: analysis; PARAD9xxx: internal
  severity: Severity;
  message: string;
  file: string;
  /** 1-based */
  line: number;
  /** 1-based */
  column: number;
  /** length of the highlighted span (>= 1) */
  length: number;
  /** the source line the diagnostic points at */
  lineText: string;
}

export class DiagnosticError extends Error {
  constructor(readonly diagnostics: Diagnostic[]) {
    super(diagnostics.map((d) => formatDiagnostic(d)).join('\n\n'));
  }
}

/** `file:line:col - error PARAD1001: message` followed by a code frame. */
export function formatDiagnostic(d: Diagnostic, sourceText?: string): string {
  const head = `${d.file}:${d.line}:${d.column} - ${d.severity} ${d.code}: ${d.message}`;
  const lines = sourceText?.split(/\r?\n/);
  const frame: string[] = [];
  const width = String(d.line + 1).length;
  const show = (n: number, mark: boolean) => {
    const text = lines ? lines[n - 1] : n === d.line ? d.lineText : undefined;
    if (text === undefined) return;
    frame.push(`${mark ? '>' : ' '} ${String(n).padStart(width)} | ${text}`);
  };
  if (lines) show(d.line - 1, false);
  show(d.line, true);
  frame.push(`  ${' '.repeat(width)} | ${' '.repeat(Math.max(0, d.column - 1))}${'^'.repeat(Math.max(1, d.length))}`);
  if (lines) show(d.line + 1, false);
  return `${head}\n${frame.join('\n')}`;
}

/** Collects diagnostics for one file. */
export class DiagnosticSink {
  readonly list: Diagnostic[] = [];
  constructor(readonly file: string, readonly text: string) {}

  private lineStarts?: number[];
  position(offset: number): { line: number; column: number; lineText: string } {
    if (!this.lineStarts) {
      this.lineStarts = [0];
      for (let i = 0; i < this.text.length; i++) if (this.text[i] === '\n') this.lineStarts.push(i + 1);
    }
    let lo = 0, hi = this.lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.lineStarts[mid] <= offset) lo = mid; else hi = mid - 1;
    }
    const start = this.lineStarts[lo];
    const end = this.text.indexOf('\n', start);
    const lineText = this.text.slice(start, end < 0 ? undefined : end).replace(/\r$/, '');
    return { line: lo + 1, column: offset - start + 1, lineText };
  }

  report(severity: Severity, code: string, message: string, start: number, end: number): void {
    const p = this.position(start);
    const length = Math.max(1, Math.min(end - start, p.lineText.length - p.column + 1));
    this.list.push({ code, severity, message, file: this.file, line: p.line, column: p.column, length, lineText: p.lineText });
  }
  error(code: string, message: string, start: number, end: number): void {
    this.report('error', code, message, start, end);
  }
  warning(code: string, message: string, start: number, end: number): void {
    this.report('warning', code, message, start, end);
  }
  get hasErrors(): boolean {
    return this.list.some((d) => d.severity === 'error');
  }
}
