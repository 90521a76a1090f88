/**
 * Reading chain specs: YAML text -> schema-checked ChainSpec objects, with
 * every error positioned at the line and column it comes from. One file may
 * hold several chains as separate YAML documents (`---`).
 */
import { readFileSync } from 'node:fs';
import { Ajv, type ValidateFunction } from 'ajv';
import { isScalar, LineCounter, parseAllDocuments, type Document } from 'yaml';
import { ChainSpecError, ChainSpecErrors } from './errors.js';
import { attachLocator, SpecLocator } from './locate.js';
import { chainSchema, type ChainSpec } from './schema.js';
import { schemaProblems } from './schema-errors.js';
import { syntaxErrors } from './syntax.js';

export interface LoadedChain {
  spec: ChainSpec;
  doc: Document.Parsed;
  /** The file as given (used in messages). */
  file: string;
  /** Position of this document in its file, from 0 (empty documents are skipped). */
  index: number;
  locator: SpecLocator;
}

export interface LoadOptions {
  /** Reads the file; tests and the admin API can supply text from elsewhere. */
  readFile?: (path: string) => string;
}

const validateSchema = (): ValidateFunction<ChainSpec> => (compiled ??= specAjv.compile<ChainSpec>(chainSchema));
let compiled: ValidateFunction<ChainSpec> | undefined;

/** Parses and schema-checks every chain in `text`; throws ChainSpecErrors
 * listing all problems if there is any. */
export function parseChain(text: string, file: string): LoadedChain[] {
  const { chains, errors } = parseChainDocs(text, file);
  if (errors.length > 0) throw new ChainSpecErrors(errors);
  return chains;
}

/** Like parseChain, reading `path`; an unreadable file is a ChainSpecError too. */
export function loadChainFile(path: string, opts: LoadOptions = {}): LoadedChain[] {
  return parseChain(readChainText(path, opts), path);
}

/** The file's text, or ChainSpecErrors saying why it cannot be read. */
export function readChainText(path: string, opts: LoadOptions = {}): string {
  const read = opts.readFile ?? ((p: string) => readFileSync(p, 'utf8'));
  try {
    return read(path);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new ChainSpecErrors([new ChainSpecError({ file: path, line: 0, column: 0 }, '', `cannot read file: ${why}`)]);
  }
}

/** The non-throwing form: the chains that passed and the errors of those
 * that did not (a bad document does not hide the good ones beside it). */
export function parseChainDocs(text: string, file: string): { chains: LoadedChain[]; errors: ChainSpecError[] } {
  const { docs, errors } = parseSpecDocs(text, file, () => validateSchema(), 'no chain in this file (expected a document with apiVersion, kind, metadata and spec)');
  return { chains: docs as LoadedChain[], errors };
}

/** A document that passed its kind's schema; spec is that kind's type. */
export interface LoadedDoc {
  spec: object;
  doc: Document.Parsed;
  file: string;
  index: number;
  locator: SpecLocator;
}

/** The schema a document is checked against, or null to skip it (another
 * reader's kind), or an error about the document itself (an unknown kind). */
export type SchemaFor = (data: unknown, locator: SpecLocator) => ValidateFunction | null | ChainSpecError;

/** ajv as every spec kind uses it. allErrors: report every problem at
 * once. verbose: errors carry the failing schema and data, which the
 * messages are built from. */
export const specAjv = new Ajv({ allErrors: true, strict: true, verbose: true, allowUnionTypes: true });

/**
 * Every document of `text` parsed, positioned and checked against the
 * schema `schemaFor` picks for it (the kinds of the YAML family share this
 * front end: control/chain/kinds.ts). `none`: the error for a file with no
 * document at all; null: none is not an error.
 */
export function parseSpecDocs(text: string, file: string, schemaFor: SchemaFor, none: string | null): { docs: LoadedDoc[]; errors: ChainSpecError[] } {
  const lineCounter = new LineCounter();
  // prettyErrors off: we print our own caret display from the raw message.
  const parsed = parseAllDocuments(text, { lineCounter, prettyErrors: false });
  const docs: LoadedDoc[] = [];
  const errors: ChainSpecError[] = [];
  let seen = 0;
  parsed.forEach((doc, index) => {
    const locator = new SpecLocator(file, text, lineCounter, doc);
    if (doc.errors.length > 0) {
      errors.push(...syntaxErrors(doc, locator));
      return;
    }
    // A stray `---` at the end of a file makes an empty document: not a spec, not an error.
    if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) return;
    seen++;
    let data: unknown;
    try {
      data = doc.toJS({ maxAliasCount: 100 });
    } catch (err) {
      errors.push(new ChainSpecError(locator.site([]), '', err instanceof Error ? err.message : String(err)));
      return;
    }
    const validate = schemaFor(data, locator);
    if (validate === null) return;
    if (validate instanceof ChainSpecError) {
      errors.push(validate);
      return;
    }
    if (!validate(data)) {
      for (const p of schemaProblems(validate.errors ?? [], data)) {
        errors.push(new ChainSpecError(locator.site(p.path, p.at), p.path, p.message));
      }
      return;
    }
    attachLocator(data as object, locator);
    docs.push({ spec: data as object, doc, file, index, locator });
  });
  if (none !== null && seen === 0 && errors.length === 0) {
    // Only comments, whitespace or empty documents.
    const site = new SpecLocator(file, text, lineCounter, null).siteAt(0);
    errors.push(new ChainSpecError(site, '', none));
  }
  return { docs, errors };
}
