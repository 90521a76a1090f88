/**
 * YAML syntax errors as users need them. The parser's recovery after a
 * mistake produces follow-on errors at lines that are fine, and its first
 * error sometimes sits a line away from the cause; so per document we keep
 * the first error, move it to where the fix goes, and add a hint. Tab
 * indentation is the exception: every tab-indented line needs fixing, and
 * the errors around them are all fallout, so then only those are reported.
 */
import type { Document, ErrorCode, YAMLError } from 'yaml';
import { ChainSpecError } from './errors.js';
import type { SpecLocator } from './locate.js';

const hints: Partial<Record<ErrorCode, string>> = {
  BAD_INDENT: 'check the indentation',
  BLOCK_AS_IMPLICIT_KEY: 'check the indentation',
  MULTILINE_IMPLICIT_KEY: 'a key and its colon must be on one line; check the indentation',
  TAB_AS_INDENT: 'indent with spaces',
  DUPLICATE_KEY: 'each field may appear once',
  MISSING_CHAR: 'is a bracket or quote left unclosed?',
};

export function syntaxErrors(doc: Document.Parsed, locator: SpecLocator): ChainSpecError[] {
  const tabs = doc.errors.filter((e) => e.code === 'TAB_AS_INDENT');
  if (tabs.length > 0) {
    const byLine = new Map<number, YAMLError>();
    for (const e of tabs) {
      const line = locator.lineCounter.linePos(e.pos[0]).line;
      if (!byLine.has(line)) byLine.set(line, e);
    }
    return [...byLine.values()].map((e) => positioned(e, locator));
  }
  const first = [...doc.errors].sort((a, b) => a.pos[0] - b.pos[0])[0];
  return first ? [positioned(first, locator)] : [];
}

function positioned(e: YAMLError, locator: SpecLocator): ChainSpecError {
  const text = locator.text;
  const raw = e.message.replace(/\.$/, '');

  // "...must be sufficiently indented and end with a ]": the parser noticed
  // at the next line, but the fix is at the bracket that was never closed.
  const close = /end with an? ([\]}])/.exec(raw)?.[1];
  if (close) {
    const at = unclosedOpener(text, e.pos[0], close === ']' ? '[' : '{', close);
    if (at !== undefined) {
      return new ChainSpecError(locator.siteAt(at, at + 1), '', `YAML syntax error: "${text[at]}" is never closed (${raw})`);
    }
  }

  // `key: value` followed by a line indented further: the parser complains
  // at the value, but the line to fix is the over-indented one below it.
  if (e.code === 'BLOCK_AS_IMPLICIT_KEY' && raw.startsWith('Nested mappings')) {
    const at = nextLineContent(text, e.pos[0]);
    if (at !== undefined) {
      const end = lineEnd(text, at);
      return new ChainSpecError(
        locator.siteAt(at, end),
        '',
        'YAML syntax error: this line is indented further than the field above it, which already has a value (check the indentation)',
      );
    }
  }

  const hint = hints[e.code];
  return new ChainSpecError(locator.siteAt(e.pos[0], e.pos[1]), '', `YAML syntax error: ${raw}${hint ? ` (${hint})` : ''}`);
}

/** The last `open` before `from` that no `close` matches, ignoring quoted
 * text and comments on each line. */
function unclosedOpener(text: string, from: number, open: string, close: string): number | undefined {
  let depth = 0;
  const opens: number[] = [];
  let quote: string | null = null;
  let comment = false;
  for (let i = 0; i < from; i++) {
    const ch = text[i];
    if (ch === '\n') {
      comment = false;
      continue;
    }
    if (comment) continue;
    if (quote) {
      if (ch === quote) quote = null;
      continue;
    }
    if (ch === '"' || ch === "'") quote = ch;
    else if (ch === '#' && (i === 0 || /\s/.test(text[i - 1] ?? ''))) comment = true;
    else if (ch === open) {
      opens[depth++] = i;
    } else if (ch === close && depth > 0) depth--;
  }
  return depth > 0 ? opens[depth - 1] : undefined;
}

/** Offset of the first non-blank character on a line after `from`'s line. */
function nextLineContent(text: string, from: number): number | undefined {
  let i = text.indexOf('\n', from);
  while (i !== -1 && i < text.length) {
    const m = /[^ \t\r\n]/.exec(text.slice(i + 1, lineEnd(text, i + 1)));
    if (m) return i + 1 + m.index;
    i = text.indexOf('\n', i + 1);
  }
  return undefined;
}

function lineEnd(text: string, from: number): number {
  const nl = text.indexOf('\n', from);
  return (nl === -1 ? text.length : nl) - (text[nl - 1] === '\r' ? 1 : 0);
}
