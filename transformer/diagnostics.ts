/**
 * Diagnostics: every message parad reports carries a stable code, a location and a code frame.
 * Codes are listed (with examples) in docs/diagnostics.md.
 */
export type Severity = 'error' | 'warning';

/** A place in a file, with the text of its line. */
export interface Location {
  file: string;
  /** 1-based */
  line: number;
  /** 1-based */
  column: number;
  /** length of the highlighted span (>= 1) */
  length: number;
  /** the source line the location is on */
  lineText: string;
}

/** A second place a diagnostic names: the import that brought an imported kernel's code in. */
export interface RelatedLocation extends Location {
  message: string;
}

export interface Diagnostic extends Location {
  code: string; // PARAD1xxx: kernel language; PARAD2xxx: analysis; PARAD9xxx: internal
  severity: Severity;
  message: string;
  /**
   * Further places, printed after the first: for a diagnostic in a kernel file a layer imports
   * (located in that file), the import that brought it in, and the one that brought that file, …
   */
  related?: RelatedLocation[];
}

export class DiagnosticError extends Error {
  constructor(readonly diagnostics: Diagnostic[]) {
    super(diagnostics.map((d) => formatDiagnostic(d)).join('\n\n'));
  }
}

/**
 * `file:line:col - error PARAD1001: message` followed by a code frame, then each related location
 * (`file:line:col - note: imported here`) with its own frame. `sourceText`, the text of `d.file`,
 * adds a line of context around the first frame.
 */
export function formatDiagnostic(d: Diagnostic, sourceText?: string): string {
  const head = `${d.file}:${d.line}:${d.column} - ${d.severity} ${d.code}: ${d.message}`;
  let lines = sourceText?.split(/\r?\n/);
  // a text of another file (a caller passing the compiled file's for a diagnostic of an import)
  if (lines && lines[d.line - 1] !== d.lineText) lines = undefined;
  const notes = (d.related ?? []).map(
    (r) => `  ${r.file}:${r.line}:${r.column} - note: ${r.message}\n${codeFrame(r, undefined, '  ')}`,
  );
  return [`${head}\n${codeFrame(d, lines)}`, ...notes].join('\n');
}

/** The lines of `at` (and with `lines`, the ones around it), the span marked with `^`. */
function codeFrame(at: Location, lines: string[] | undefined, indent = ''): string {
  const frame: string[] = [];
  const width = String(at.line + 1).length;
  const show = (n: number, mark: boolean) => {
    const text = lines ? lines[n - 1] : n === at.line ? at.lineText : undefined;
    if (text === undefined) return;
    frame.push(`${indent}${mark ? '>' : ' '} ${String(n).padStart(width)} | ${text}`);
  };
  if (lines) show(at.line - 1, false);
  show(at.line, true);
  frame.push(
    `${indent}  ${' '.repeat(width)} | ${' '.repeat(Math.max(0, at.column - 1))}${'^'.repeat(Math.max(1, at.length))}`,
  );
  if (lines) show(at.line + 1, false);
  return frame.join('\n');
}

/** Collects diagnostics for one file. */
export class DiagnosticSink {
  readonly list: Diagnostic[] = [];
  constructor(
    readonly file: string,
    readonly text: string,
  ) {}

  private lineStarts?: number[];
  position(offset: number): { line: number; column: number; lineText: string } {
    if (!this.lineStarts) {
      this.lineStarts = [0];
      for (let i = 0; i < this.text.length; i++) if (this.text[i] === '\n') this.lineStarts.push(i + 1);
    }
    let lo = 0,
      hi = this.lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.lineStarts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    const start = this.lineStarts[lo];
    const end = this.text.indexOf('\n', start);
    const lineText = this.text.slice(start, end < 0 ? undefined : end).replace(/\r$/, '');
    return { line: lo + 1, column: offset - start + 1, lineText };
  }

  /** The location of the span `start`…`end` (offsets in the text). */
  locate(start: number, end: number): Location {
    const p = this.position(start);
    const length = Math.max(1, Math.min(end - start, p.lineText.length - p.column + 1));
    return { file: this.file, line: p.line, column: p.column, length, lineText: p.lineText };
  }

  report(
    severity: Severity,
    code: string,
    message: string,
    start: number,
    end: number,
    related?: RelatedLocation[],
  ): void {
    this.list.push({ code, severity, message, ...this.locate(start, end), ...(related?.length ? { related } : {}) });
  }

  /** A diagnostic located elsewhere (in a file this one imports). */
  add(d: Diagnostic): void {
    this.list.push(d);
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
