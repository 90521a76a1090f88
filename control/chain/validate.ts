/**
 * The whole front end in one call: read, parse, schema-check and compile
 * chain files, collecting every error. `ferry validate FILE...` prints the
 * result of validateFiles; the control plane uses compileChainFile/Text.
 */
import { compileChain, type CompileOptions } from './compile.js';
import { ChainSpecError, ChainSpecErrors, formatErrors, sortErrors, type ChainSpecErrorJSON } from './errors.js';
import type { FileExists } from './handler.js';
import type { Arch, ChainIR } from './ir.js';
import { parseChainDocs, readChainText, type LoadedChain, type LoadOptions } from './load.js';
import { DEFAULT_TENANT } from './tenant.js';

export interface FrontEndOptions extends LoadOptions {
  nodeArchs?: readonly Arch[];
  fileExists?: FileExists;
  /** The tenant of chains whose metadata names none (default: "default"). */
  defaultTenant?: string;
}

/** Every chain in `text` compiled, or ChainSpecErrors with all problems. */
export function compileChainText(text: string, file: string, opts: FrontEndOptions = {}): ChainIR[] {
  const { irs, errors } = compileDocs(parseChainDocs(text, file), opts);
  if (errors.length > 0) throw new ChainSpecErrors(errors);
  return irs;
}

/** compileChainText on a file's contents. */
export function compileChainFile(path: string, opts: FrontEndOptions = {}): ChainIR[] {
  const { irs, errors } = checkFile(path, opts);
  if (errors.length > 0) throw new ChainSpecErrors(errors);
  return irs;
}

export interface ValidateFileJSON {
  file: string;
  ok: boolean;
  chains: { name: string; tenant: string; stages: number }[];
  errors: ChainSpecErrorJSON[];
}

export interface ValidateJSON {
  ok: boolean;
  errorCount: number;
  files: ValidateFileJSON[];
}

export interface ValidateResult {
  ok: boolean;
  /** For people: `file: ok (...)` lines, or compiler-style errors with carets. */
  text: string;
  /** For `-o json`. */
  json: ValidateJSON;
}

export function validateFiles(paths: readonly string[], opts: FrontEndOptions = {}): ValidateResult {
  const files: ValidateFileJSON[] = [];
  const blocks: string[] = [];
  let errorCount = 0;
  for (const file of paths) {
    const { irs, errors } = checkFile(file, opts);
    errorCount += errors.length;
    files.push({
      file,
      ok: errors.length === 0,
      chains: irs.map((ir) => ({ name: ir.name, tenant: ir.tenant, stages: ir.stages.length })),
      errors: errors.map((e) => e.toJSON()),
    });
    if (errors.length > 0) blocks.push(formatErrors(errors));
    else blocks.push(`${file}: ok (${irs.map((ir) => `chain ${ir.tenant}/${ir.name}, ${ir.stages.length} stage${ir.stages.length === 1 ? '' : 's'}`).join('; ')})`);
  }
  const summary = summaryLine(paths.length, errorCount, files.filter((f) => !f.ok).length);
  const ok = errorCount === 0 && paths.length > 0;
  return { ok, text: [...blocks, summary].join('\n') + '\n', json: { ok, errorCount, files } };
}

/** The last line of a validation report. */
export function summaryLine(files: number, errorCount: number, bad: number): string {
  if (files === 0) return 'no files to validate';
  if (errorCount === 0) return `${files} file${files === 1 ? '' : 's'} valid`;
  return `${errorCount} error${errorCount === 1 ? '' : 's'} in ${bad} file${bad === 1 ? '' : 's'}`;
}

function checkFile(path: string, opts: FrontEndOptions): { irs: ChainIR[]; errors: ChainSpecError[] } {
  let text: string;
  try {
    text = readChainText(path, opts);
  } catch (err) {
    if (err instanceof ChainSpecErrors) return { irs: [], errors: [...err.errors] };
    throw err;
  }
  return compileDocs(parseChainDocs(text, path), opts);
}

/** Compiles every parsed chain, adding its errors to the parse errors. Two
 * chains with the same tenant and name in one file would overwrite each
 * other when registered, so that is an error too. */
export function compileDocs(
  parsed: { chains: LoadedChain[]; errors: ChainSpecError[] },
  opts: FrontEndOptions,
): { irs: ChainIR[]; errors: ChainSpecError[] } {
  const errors = [...parsed.errors];
  const irs: ChainIR[] = [];
  const seen = new Map<string, number>();
  for (const c of parsed.chains) {
    const key = `${c.spec.metadata.tenant ?? opts.defaultTenant ?? DEFAULT_TENANT}/${c.spec.metadata.name}`;
    const firstLine = seen.get(key);
    const site = c.locator.site(['metadata', 'name']);
    if (firstLine !== undefined) {
      errors.push(new ChainSpecError(site, ['metadata', 'name'], `duplicate chain "${key}" in this file (first defined at line ${firstLine})`));
    } else {
      seen.set(key, site.line);
    }
    const compileOpts: CompileOptions = { file: c.file, locator: c.locator };
    if (opts.nodeArchs) compileOpts.nodeArchs = opts.nodeArchs;
    if (opts.fileExists) compileOpts.fileExists = opts.fileExists;
    if (opts.defaultTenant) compileOpts.defaultTenant = opts.defaultTenant;
    try {
      irs.push(compileChain(c.spec, compileOpts));
    } catch (err) {
      if (!(err instanceof ChainSpecErrors)) throw err;
      errors.push(...err.errors);
    }
  }
  return { irs, errors: sortErrors(errors) };
}
