/**
 * Reading load scenarios (bench/scenarios/*.json, issue #10): JSON ->
 * schema-checked (scenario.schema.json, ajv) -> checked against the repo
 * (the chain exists, its sample requests exist, bodies fit the chain's
 * limit, thresholds are no looser than its SLO) -> a typed Scenario. Every
 * problem of a file is reported at once, each naming the file and the field.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { Ajv } from 'ajv';
import { formatPath, type PathSegment } from '../../control/chain/errors.js';
import { loadChainFile } from '../../control/chain/load.js';
import type { ChainSpec } from '../../control/chain/schema.js';
import { schemaProblems } from '../../control/chain/schema-errors.js';
import { suggestionTail } from '../../control/chain/suggest.js';
import { DEFAULTS } from '../../control/chain/schema.js';
import { repoRoot } from '../../control/paths.js';
import { minPaddedBytes, utf8Length, type Scenario, type ScenarioKind } from './scenario.js';

/** One problem: `file: field: message` ('' field: the file as a whole). */
export class ScenarioError extends Error {
  override readonly name = 'ScenarioError';
  readonly file: string;
  readonly field: string;

  constructor(file: string, field: string | readonly PathSegment[], message: string) {
    super(message);
    this.file = file;
    this.field = typeof field === 'string' ? field : formatPath(field);
  }

  override toString(): string {
    return this.field === '' ? `${this.file}: ${this.message}` : `${this.file}: ${this.field}: ${this.message}`;
  }
}

/** All problems of one file; the message lists them, one a line. */
export class ScenarioErrors extends Error {
  override readonly name = 'ScenarioErrors';
  readonly errors: readonly ScenarioError[];

  constructor(errors: readonly ScenarioError[]) {
    super(`${errors.length} error${errors.length === 1 ? '' : 's'} in scenario\n${errors.map(String).join('\n')}`);
    this.errors = errors;
  }
}

export interface LoadScenarioOptions {
  /** Where chains/ lives (the checkout by default); tests point it elsewhere. */
  root?: string;
}

/** The scenario files shipped with ferry. */
export const scenarioDir = join(repoRoot, 'bench/scenarios');
export const schemaPath = join(scenarioDir, 'scenario.schema.json');

interface SchemaJson {
  properties: Record<string, unknown>;
  required: string[];
  allOf: { if: { properties: { kind: { const: ScenarioKind } } }; then: { required: string[] } }[];
}

const schema = JSON.parse(readFileSync(schemaPath, 'utf8')) as SchemaJson;
// As control/chain/load.ts: every problem at once, with the failing schema
// and data (verbose) that schemaProblems builds its messages from.
// strictRequired off: the per-kind `then: {required}` name fields defined
// at the top level, not beside them.
const ajv = new Ajv({ allErrors: true, strict: true, strictRequired: false, verbose: true });
const validate = ajv.compile<Scenario>(schema);

/** Fields each kind uses: the common required ones, the kind's own (from
 * the schema's allOf), and $schema for editors. */
const fieldsOf = new Map<ScenarioKind, Set<string>>(
  schema.allOf.map((rule) => [rule.if.properties.kind.const, new Set(['$schema', ...schema.required, ...rule.then.required])]),
);

/** The *.json scenario files in `dir` (the schema excepted), sorted. */
export function scenarioFiles(dir = scenarioDir): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json') && !f.endsWith('.schema.json'))
    .sort()
    .map((f) => join(dir, f));
}

/** Reads, schema-checks and cross-checks `file`; throws ScenarioErrors. */
export function loadScenario(file: string, opts: LoadScenarioOptions = {}): Scenario {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ScenarioErrors([new ScenarioError(file, '', `cannot read file: ${err instanceof Error ? err.message : String(err)}`)]);
  }
  return parseScenario(text, file, opts);
}

/** As loadScenario, from text already read; `file` names it in messages
 * and gives the name the scenario must have. */
export function parseScenario(text: string, file: string, opts: LoadScenarioOptions = {}): Scenario {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new ScenarioErrors([new ScenarioError(file, '', `not JSON: ${err instanceof Error ? err.message : String(err)}`)]);
  }
  if (!validate(data)) {
    const problems = schemaProblems(validate.errors ?? [], data);
    throw new ScenarioErrors(problems.map((p) => new ScenarioError(file, p.path, p.message)));
  }
  const errors = crossCheck(data, file, opts.root ?? repoRoot);
  if (errors.length > 0) throw new ScenarioErrors(errors);
  return data;
}

/** What the schema cannot say: fields the kind does not use, and the
 * scenario against the chain it names. */
function crossCheck(s: Scenario, file: string, root: string): ScenarioError[] {
  const errors: ScenarioError[] = [];
  const fail = (field: string | PathSegment[], message: string) => errors.push(new ScenarioError(file, field, message));

  const stem = basename(file, '.json');
  if (s.name !== stem) fail('name', `expected "${stem}" (the file's name), found "${s.name}"`);

  const used = fieldsOf.get(s.kind) ?? new Set<string>();
  for (const key of Object.keys(s)) {
    if (!used.has(key)) fail(key, `not used by a ${s.kind} scenario (it uses: ${[...used].filter((k) => k !== '$schema').join(', ')})`);
  }

  const chainDir = join(root, 'chains', s.chain);
  const chainFile = join(chainDir, 'chain.yaml');
  if (!existsSync(chainFile)) {
    fail('chain', `no chain "${s.chain}": ${relative(root, chainFile)} does not exist${suggestionTail(s.chain, knownChains(root), 'chains')}`);
    return errors;
  }
  let chain: ChainSpec;
  try {
    const found = loadChainFile(chainFile).find((c) => c.spec.metadata.name === s.chain);
    if (!found) {
      fail('chain', `${relative(root, chainFile)} defines no chain named "${s.chain}"`);
      return errors;
    }
    chain = found.spec;
  } catch (err) {
    fail('chain', `${relative(root, chainFile)} does not load: ${err instanceof Error ? err.message : String(err)}`);
    return errors;
  }
  const maxBodyBytes = chain.spec.limits?.maxBodyBytes ?? DEFAULTS.maxBodyBytes;

  if (s.kind === 'admin') return errors;

  const slo = chain.spec.slo?.p99Ms;
  if (slo !== undefined && s.thresholds.p99Ms > slo)
    fail(['thresholds', 'p99Ms'], `${s.thresholds.p99Ms} ms is looser than chain "${s.chain}"'s SLO (spec.slo.p99Ms: ${slo})`);

  const requestDir = join(chainDir, 'requests');
  const samples = existsSync(requestDir) ? readdirSync(requestDir).filter((f) => f.endsWith('.json')).sort() : [];
  const bodies: (Record<string, unknown> | undefined)[] = s.requests.map((name, i) => {
    const path = join(requestDir, name);
    const where = relative(root, path);
    if (!samples.includes(name)) {
      fail(['requests', i], `no sample request ${where}${suggestionTail(name, samples, `chain "${s.chain}" has`)}`);
      return undefined;
    }
    const text = readFileSync(path, 'utf8');
    const bytes = utf8Length(text);
    if (s.kind !== 'sweep' && bytes > maxBodyBytes)
      fail(['requests', i], `${where} is ${bytes} bytes, over chain "${s.chain}"'s limit (maxBodyBytes: ${maxBodyBytes})`);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (err) {
      fail(['requests', i], `${where} is not JSON: ${err instanceof Error ? err.message : String(err)}`);
      return undefined;
    }
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      fail(['requests', i], `${where} is not a JSON object`);
      return undefined;
    }
    return body as Record<string, unknown>;
  });

  if (s.kind === 'sweep') {
    if (s.requests.length !== 1) fail('requests', `expected 1 item (the request every size is padded from), found ${s.requests.length} items`);
    const base = bodies[0];
    const min = base ? minPaddedBytes(base) : 0;
    s.payloadBytes.forEach((bytes, i) => {
      if (bytes > maxBodyBytes) fail(['payloadBytes', i], `${bytes} bytes is over chain "${s.chain}"'s limit (maxBodyBytes: ${maxBodyBytes})`);
      else if (base && bytes < min) fail(['payloadBytes', i], `${bytes} bytes is smaller than ${s.requests[0]} padded with nothing (${min} bytes)`);
    });
  }
  if (s.kind === 'burst' && s.stages.every((st) => st.rate === 0)) fail('stages', 'every stage has rate 0: the burst would send nothing');
  return errors;
}

function knownChains(root: string): string[] {
  const dir = join(root, 'chains');
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((d) => existsSync(join(dir, d, 'chain.yaml'))).sort();
}
