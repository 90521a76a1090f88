/**
 * The kinds of the ferry.dev/v1 YAML family and the one front end over
 * them: `ferry validate` and `ferry apply` take a file of any kind, read
 * `kind` per document and hand each to its own schema and compiler. A
 * document of an unknown kind is an error at its `kind`, naming the kinds.
 */
import type { ValidateFunction } from 'ajv';
import { isMap, isScalar, parseAllDocuments } from 'yaml';
import { compileJob } from '../fl/job/compile.js';
import { JOB_KIND, jobSchema, type JobSpec } from '../fl/job/schema.js';
import { ChainSpecError, ChainSpecErrors, formatErrors, sortErrors } from './errors.js';
import type { ChainIR } from './ir.js';
import { parseSpecDocs, readChainText, specAjv, type LoadedChain, type LoadedDoc } from './load.js';
import { chainSchema, KIND as CHAIN_KIND } from './schema.js';
import { suggestionTail } from './suggest.js';
import { compileDocs, summaryLine, type FrontEndOptions, type ValidateResult, type ValidateFileJSON } from './validate.js';
import { DEFAULT_TENANT } from './tenant.js';

export const KINDS = [CHAIN_KIND, JOB_KIND] as const;
export type Kind = (typeof KINDS)[number];

const schemas = new Map<Kind, ValidateFunction>();
const schemaOf = (kind: Kind): ValidateFunction => {
  let v = schemas.get(kind);
  if (!v) schemas.set(kind, (v = specAjv.compile(kind === CHAIN_KIND ? chainSchema : jobSchema)));
  return v;
};

/** The kind a document says it is; an error at `kind` when it says none
 * ferry knows. A document without a kind is taken for a chain (the
 * chain schema then says kind is missing). */
function kindOf(data: unknown, locator: LoadedDoc['locator']): Kind | ChainSpecError {
  const kind = data !== null && typeof data === 'object' ? (data as Record<string, unknown>)['kind'] : undefined;
  if (kind === undefined) return CHAIN_KIND;
  if ((KINDS as readonly unknown[]).includes(kind)) return kind as Kind;
  const shown = typeof kind === 'string' ? `"${kind}"` : JSON.stringify(kind);
  return new ChainSpecError(locator.site(['kind']), ['kind'], `unknown kind ${shown}${suggestionTail(String(kind), KINDS, 'ferry knows the kinds')}`);
}

/** The kind of every document in `text` (a document naming none counts
 * as a chain), without checking anything else: what `ferry apply` needs
 * to pick the RPC; the control plane validates. */
export function kindsIn(text: string): string[] {
  return parseAllDocuments(text)
    .filter((d) => d.contents !== null && !(isScalar(d.contents) && d.contents.value === null))
    .map((d) => {
      const kind = isMap(d.contents) ? d.contents.get('kind') : undefined;
      return typeof kind === 'string' ? kind : CHAIN_KIND;
    });
}

export interface ParsedSpecs {
  chains: LoadedChain[];
  jobs: (LoadedDoc & { spec: JobSpec })[];
  errors: ChainSpecError[];
}

/** Every document of `text`, split by kind, each checked against its schema. */
export function parseSpecs(text: string, file: string): ParsedSpecs {
  const { docs, errors } = parseSpecDocs(
    text,
    file,
    (data, locator) => {
      const k = kindOf(data, locator);
      return k instanceof ChainSpecError ? k : schemaOf(k);
    },
    'nothing to validate in this file (expected a document with apiVersion, kind, metadata and spec)',
  );
  const kindOfDoc = (d: LoadedDoc) => ((d.spec as { kind?: string }).kind === JOB_KIND ? JOB_KIND : CHAIN_KIND);
  return {
    chains: docs.filter((d) => kindOfDoc(d) === CHAIN_KIND) as LoadedChain[],
    jobs: docs.filter((d) => kindOfDoc(d) === JOB_KIND) as ParsedSpecs['jobs'],
    errors,
  };
}

/** What a file holds, compiled: chains and jobs (both as the chain IR
 * they deploy as), and every error. */
export function compileSpecText(text: string, file: string, opts: FrontEndOptions & { nodeNames?: readonly string[] } = {}): { chains: ChainIR[]; jobs: ChainIR[]; errors: ChainSpecError[] } {
  const parsed = parseSpecs(text, file);
  const { irs, errors } = compileDocs({ chains: parsed.chains, errors: parsed.errors }, opts);
  const jobs: ChainIR[] = [];
  const seen = new Map<string, number>();
  for (const j of parsed.jobs) {
    const key = `${j.spec.metadata.tenant ?? opts.defaultTenant ?? DEFAULT_TENANT}/${j.spec.metadata.name}`;
    const site = j.locator.site(['metadata', 'name']);
    const first = seen.get(key);
    if (first !== undefined) errors.push(new ChainSpecError(site, ['metadata', 'name'], `duplicate job "${key}" in this file (first defined at line ${first})`));
    else seen.set(key, site.line);
    try {
      jobs.push(compileJob(j.spec, { file, locator: j.locator, defaultTenant: opts.defaultTenant, nodeNames: opts.nodeNames }));
    } catch (err) {
      if (!(err instanceof ChainSpecErrors)) throw err;
      errors.push(...err.errors);
    }
  }
  return { chains: irs, jobs, errors: sortErrors(errors) };
}

export interface ValidateSpecsJSON {
  ok: boolean;
  errorCount: number;
  files: (ValidateFileJSON & { jobs: { name: string; tenant: string; aggregators: number; levels: number }[] })[];
}

/** `ferry validate FILE...` over every kind. */
export function validateSpecFiles(paths: readonly string[], opts: FrontEndOptions = {}): Omit<ValidateResult, 'json'> & { json: ValidateSpecsJSON } {
  const files: ValidateSpecsJSON['files'] = [];
  const blocks: string[] = [];
  let errorCount = 0;
  for (const file of paths) {
    let result: ReturnType<typeof compileSpecText>;
    try {
      result = compileSpecText(readChainText(file, opts), file, opts);
    } catch (err) {
      if (!(err instanceof ChainSpecErrors)) throw err;
      result = { chains: [], jobs: [], errors: [...err.errors] };
    }
    const { chains, jobs, errors } = result;
    errorCount += errors.length;
    files.push({
      file,
      ok: errors.length === 0,
      chains: chains.map((ir) => ({ name: ir.name, tenant: ir.tenant, stages: ir.stages.length })),
      jobs: jobs.map((ir) => ({ name: ir.name, tenant: ir.tenant, aggregators: ir.stages.length, levels: ir.job!.levels })),
      errors: errors.map((e) => e.toJSON()),
    });
    if (errors.length > 0) {
      blocks.push(formatErrors(errors));
      continue;
    }
    const what = [
      ...chains.map((ir) => `chain ${ir.tenant}/${ir.name}, ${ir.stages.length} stage${ir.stages.length === 1 ? '' : 's'}`),
      ...jobs.map((ir) => {
        const j = ir.job!;
        return `job ${ir.tenant}/${ir.name}, ${j.paramCount} parameters, ${j.leaves.length} lea${j.leaves.length === 1 ? 'f' : 'ves'}${j.mids.length ? ` + ${j.mids.length} mid` : ''} + top, quorum ${j.quorum}/${j.clients}`;
      }),
    ];
    blocks.push(`${file}: ok (${what.join('; ')})`);
  }
  const summary = summaryLine(paths.length, errorCount, files.filter((f) => !f.ok).length);
  const ok = errorCount === 0 && paths.length > 0;
  return { ok, text: [...blocks, summary].join('\n') + '\n', json: { ok, errorCount, files } };
}
