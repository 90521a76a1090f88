/**
 * Maps a field path inside a parsed spec back to its place in the YAML text,
 * so schema and semantic errors point at the line and column a user typed.
 * Positions come from the yaml Document's node ranges (absolute offsets into
 * the whole file, even with several documents) and a LineCounter.
 */
import { isAlias, isCollection, isMap, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';
import type { ErrorSite, PathSegment } from './errors.js';

export class SpecLocator {
  constructor(
    readonly file: string,
    readonly text: string,
    readonly lineCounter: LineCounter,
    readonly doc: Document.Parsed | null,
  ) {}

  /**
   * Where the value at `path` is. `at: 'key'` points at the key of a map
   * entry instead (an unknown field). A path that is not in the document (a
   * defaulted field) points at its nearest written ancestor.
   */
  site(path: readonly PathSegment[], at: 'value' | 'key' = 'value'): ErrorSite {
    const found = this.walk(path);
    const node = at === 'key' && found.exact && found.key ? found.key : found.node;
    if (!node?.range) return this.siteAt(this.docStart());
    const [start, valueEnd] = node.range;
    // Collections get a single caret: underlining a whole block map would
    // underline whatever its first line happens to be.
    return this.siteAt(start, isCollection(node) ? undefined : valueEnd);
  }

  /** The site at an absolute offset, optionally underlining up to `end`. */
  siteAt(offset: number, end?: number): ErrorSite {
    const { line, col } = this.lineCounter.linePos(offset);
    const site: ErrorSite = { file: this.file, line, column: col, sourceLine: this.sourceLine(line) };
    if (end !== undefined && end > offset) {
      const e = this.lineCounter.linePos(end);
      if (e.line === line) site.endColumn = e.col;
    }
    return site;
  }

  private docStart(): number {
    return this.doc?.contents?.range?.[0] ?? this.doc?.range[0] ?? 0;
  }

  private sourceLine(line: number): string | undefined {
    const starts = this.lineCounter.lineStarts;
    const start = starts[line - 1];
    if (start === undefined) return undefined;
    const end = starts[line] ?? this.text.length;
    return this.text.slice(start, end).replace(/\r?\n$/, '');
  }

  /** Follows `path` as far as it exists; `exact` says whether it got all the way. */
  private walk(path: readonly PathSegment[]): { node: Node | null; key: Node | null; exact: boolean } {
    let node: Node | null = this.doc?.contents ?? null;
    let key: Node | null = null;
    for (const seg of path) {
      if (isAlias(node) && this.doc) node = (node.resolve(this.doc) as Node | undefined) ?? node;
      let next: Node | null | undefined;
      let nextKey: Node | null = null;
      if (isMap(node) && typeof seg === 'string') {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === seg);
        if (pair) {
          nextKey = pair.key as Node;
          next = pair.value as Node | null;
          // `field:` with nothing after it: the empty value has no width, so
          // point at the key instead.
          if (!next || (isScalar(next) && next.value === null && next.range?.[0] === next.range?.[1])) next = nextKey;
        }
      } else if (isSeq(node) && typeof seg === 'number') {
        next = node.items[seg] as Node | null | undefined;
      }
      if (!next) return { node, key, exact: false };
      node = next;
      key = nextKey;
    }
    return { node, key, exact: true };
  }
}

// Specs produced by the loader remember where they came from, so
// compileChain(spec, ...) can position its errors without a second argument.
const registry = new WeakMap<object, SpecLocator>();

export function attachLocator(spec: object, locator: SpecLocator): void {
  registry.set(spec, locator);
}

export function locatorOf(spec: object): SpecLocator | undefined {
  return registry.get(spec);
}
