/**
 * Errors in a chain spec, positioned like a compiler's: every problem says
 * where (file, line, column, and the field path inside the spec), what was
 * expected and what was found. All problems of a file are reported together,
 * so a user fixes a whole spec in one round instead of one error per run.
 */

/** Where an error points. Lines and columns are 1-based; 0 = unknown. */
export interface ErrorSite {
  file: string;
  line: number;
  column: number;
  /** Column just past the offending text on the same line (for the ~~~ underline). */
  endColumn?: number;
  /** The text of the offending source line, for the caret display. */
  sourceLine?: string;
}

/** One field path segment: a map key or a list index. */
export type PathSegment = string | number;

/** The JSON form of an error (validate -o json, admin API). */
export interface ChainSpecErrorJSON {
  file: string;
  line: number;
  column: number;
  path: string;
  message: string;
}

export class ChainSpecError extends Error {
  override readonly name = 'ChainSpecError';
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly endColumn: number | undefined;
  readonly sourceLine: string | undefined;
  /** e.g. `spec.functions[2].next[0]`; '' for the document as a whole or a YAML syntax error. */
  readonly path: string;

  constructor(site: ErrorSite, path: string | readonly PathSegment[], message: string) {
    super(message);
    this.file = site.file;
    this.line = site.line;
    this.column = site.column;
    this.endColumn = site.endColumn;
    this.sourceLine = site.sourceLine;
    this.path = typeof path === 'string' ? path : formatPath(path);
  }

  /** `file:line:col: path: message`, one line. */
  override toString(): string {
    return headline(this);
  }

  toJSON(): ChainSpecErrorJSON {
    return { file: this.file, line: this.line, column: this.column, path: this.path, message: this.message };
  }
}

/** Every error found in one or more files, sorted by file, line, column. */
export class ChainSpecErrors extends Error {
  override readonly name = 'ChainSpecErrors';
  readonly errors: readonly ChainSpecError[];

  constructor(errors: readonly ChainSpecError[]) {
    const sorted = sortErrors(errors);
    // The message is the full report so an uncaught throw is still readable.
    super(`${sorted.length} error${sorted.length === 1 ? '' : 's'} in chain spec\n${formatErrors(sorted)}`);
    this.errors = sorted;
  }
}

export function sortErrors(errors: readonly ChainSpecError[]): ChainSpecError[] {
  return [...errors].sort(
    (a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column || a.path.localeCompare(b.path),
  );
}

/** ['spec', 'functions', 2, 'next', 0] -> `spec.functions[2].next[0]`. Keys
 * that are not plain identifiers are quoted, so a data label like "a.b"
 * cannot be mistaken for nesting. */
export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

function headline(e: ChainSpecError): string {
  const where = e.line > 0 ? `${e.file}:${e.line}:${e.column}` : e.file;
  return e.path === '' ? `${where}: ${e.message}` : `${where}: ${e.path}: ${e.message}`;
}

/**
 * The compiler-style report: a headline per error, then the source line
 * with a caret under the offending text:
 *
 *     chain.yaml:7:14: spec.functions[1].next[0]: unknown stage "serch"
 *         7 |       next: [serch]
 *           |              ^~~~~
 */
export function formatErrors(errors: readonly ChainSpecError[]): string {
  return errors.map(formatOne).join('\n');
}

function formatOne(e: ChainSpecError): string {
  const lines = [headline(e)];
  if (e.line > 0 && e.sourceLine !== undefined) {
    const gutter = String(e.line);
    const pad = ' '.repeat(gutter.length);
    const src = e.sourceLine.replace(/\s+$/, '');
    // Keep tabs as tabs in the caret prefix so the caret lines up however
    // the terminal expands them.
    const prefix = src.slice(0, Math.max(0, e.column - 1)).replace(/[^\t]/g, ' ');
    const width = Math.max(1, Math.min(e.endColumn ?? e.column + 1, src.length + 1) - e.column);
    lines.push(`    ${gutter} | ${src}`);
    lines.push(`    ${pad} | ${prefix}^${'~'.repeat(width - 1)}`);
  }
  return lines.join('\n');
}
