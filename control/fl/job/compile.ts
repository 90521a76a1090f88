/**
 * The job compiler: a schema-valid AggregationJob -> the internal chain it
 * deploys as (control/fl/DESIGN.md "Compiled form"), after the checks a
 * schema cannot express. Every problem is collected and thrown together
 * as ChainSpecErrors pointing at the YAML, as the chain compiler does.
 *
 * The chain: stages leaf-0..leaf-(L-1), mid-0..mid-(M-1) when clients >
 * fanIn^2, and top, in that order (ids follow); each runs ferryd's built-in
 * native aggregator as exactly one instance; next = its parent; the
 * gateway may inject into every leaf (ChainIR.entries).
 */
import { ChainSpecError, ChainSpecErrors, type PathSegment } from '../../chain/errors.js';
import type { ChainIR, StageIR } from '../../chain/ir.js';
import { locatorOf, type SpecLocator } from '../../chain/locate.js';
import { MAX_POOL_BYTES } from '../../chain/schema.js';
import { suggestionTail } from '../../chain/suggest.js';
import { DEFAULT_TENANT } from '../../chain/tenant.js';
import { checkPlan } from '../../node/pool/size-classes.js';
import { layerSize, type Layer } from '../model.js';
import { HEADER_SIZE } from '../wire.js';
import type { JobIR, LeafGroup } from './ir.js';
import { JOB_DEFAULTS, MAX_PARAMETERS, type JobSpec } from './schema.js';

/** What StartInstance is given for every aggregator (ferryd resolves it to
 * its own dataplane-native/out/ferry-aggregator.so). */
export const AGGREGATOR_HANDLER = 'builtin:aggregator';
/** Small messages (ACK, FLUSH, an empty PARTIAL) and error replies. */
export const SMALL_CLASSES = [64, 2048];
/** What the small classes may hold in service, beside the model buffers. */
export const SMALL_QUOTA_BYTES = 1 << 20;
/** An aggregator process without its buffers (runner, libc, stack). */
const AGGREGATOR_BASE_MB = 16;
/** Aggregators sleep between messages and stream through memory when
 * woken: a small CPU request lets a 2-core node hold a 100-client tree. */
const AGGREGATOR_CPU_MILLI = 100;

export interface JobCompileOptions {
  file: string;
  locator?: SpecLocator;
  defaultTenant?: string;
  /** Registered node names: placement hints must name one of them. Absent
   * (ferry validate): hints are not checked against a cluster. */
  nodeNames?: readonly string[];
}

const roundUp = (n: number, to: number) => Math.ceil(n / to) * to;

/** Leaves, mids and the groups under each parent, by stage id. */
export function tree(clients: number, fanIn: number): { leaves: number[]; mids: number[]; top: number; groups: LeafGroup[]; levels: 2 | 3 } {
  const L = Math.ceil(clients / fanIn);
  const three = clients > fanIn * fanIn;
  const M = three ? Math.ceil(L / fanIn) : 0;
  const leaves = Array.from({ length: L }, (_, i) => i);
  const mids = Array.from({ length: M }, (_, j) => L + j);
  const top = L + M;
  const groups: LeafGroup[] = three
    ? mids.map((mid, j) => ({ parent: mid, leaves: leaves.filter((i) => Math.floor(i / fanIn) === j) }))
    : [{ parent: top, leaves }];
  return { leaves, mids, top, groups, levels: three ? 3 : 2 };
}

/**
 * The pool: small classes and the model class, and a quota of model
 * buffers for everything that can be alive at once: an accumulator per
 * open round in every leaf, mid and the top (1 + maxStaleness rounds under
 * late-merge), the 2 sealed models kept, and the uploads being received
 * (at most 2 per leaf, never more than clients: more uploads at once wait
 * for a buffer, 503 busy after the body timeout). The uploads give way
 * first when the quota would pass ferryd's limit; none is an error.
 */
export function jobPool(job: Pick<JobIR, 'modelClassBytes' | 'leaves' | 'mids' | 'maxStaleness' | 'clients'>): { sizeClasses: number[]; poolBytes: number; inFlight: number } | { problem: string } {
  const open = 1 + job.maxStaleness;
  const fixed = (job.leaves.length + job.mids.length + 1) * open + 2;
  const room = Math.floor((MAX_POOL_BYTES - SMALL_QUOTA_BYTES) / job.modelClassBytes) - fixed;
  const inFlight = Math.min(job.clients, 2 * job.leaves.length, room);
  if (inFlight < 1) {
    const need = (fixed + 1) * job.modelClassBytes + SMALL_QUOTA_BYTES;
    return { problem: `the model needs ${fixed + 1} buffers of ${job.modelClassBytes} bytes (${need} bytes) in the job's pool, more than a pool may hold (${MAX_POOL_BYTES} bytes): use a smaller model, a larger fanIn (fewer leaves) or stragglers: drop` };
  }
  const sizeClasses = [...new Set([...SMALL_CLASSES, job.modelClassBytes])].sort((a, b) => a - b);
  const poolBytes = roundUp((fixed + inFlight) * job.modelClassBytes + SMALL_QUOTA_BYTES, 4096);
  const problem = checkPlan({ maxBodyBytes: job.modelClassBytes, quotaBytes: poolBytes, sizes: sizeClasses });
  return problem ? { problem } : { sizeClasses, poolBytes, inFlight };
}

export function compileJob(spec: JobSpec, opts: JobCompileOptions): ChainIR {
  const errors: ChainSpecError[] = [];
  const locator = opts.locator ?? locatorOf(spec);
  const fail = (path: readonly PathSegment[], message: string) =>
    errors.push(new ChainSpecError(locator?.site(path) ?? { file: opts.file, line: 0, column: 0 }, path, message));
  const s = spec.spec;

  const layers: Layer[] = (s.model.layers ?? []).map((l) => ({ name: l.name, shape: [...l.shape] }));
  let paramCount = s.model.parameters ?? 0;
  if (s.model.layers && s.model.parameters !== undefined) fail(['spec', 'model', 'parameters'], 'give exactly one of model.layers and model.parameters, not both');
  else if (!s.model.layers && s.model.parameters === undefined) fail(['spec', 'model'], 'the model needs its size: model.layers (names and shapes) or model.parameters (a flat count)');
  if (s.model.layers) {
    const seen = new Map<string, number>();
    s.model.layers.forEach((l, i) => {
      const first = seen.get(l.name);
      if (first !== undefined) fail(['spec', 'model', 'layers', i, 'name'], `duplicate layer name "${l.name}" (first at layers[${first}])`);
      else seen.set(l.name, i);
    });
    paramCount = layers.reduce((n, l) => n + layerSize(l), 0);
    if (paramCount > MAX_PARAMETERS) fail(['spec', 'model', 'layers'], `the layers hold ${paramCount} parameters, more than ${MAX_PARAMETERS}`);
  }

  const clients = s.clients;
  let quorum = clients;
  if (typeof s.quorum === 'number') {
    if (s.quorum > clients) fail(['spec', 'quorum'], `quorum ${s.quorum} is more than clients (${clients}): a round could never close; lower it or write a percentage ("80%")`);
    quorum = Math.min(s.quorum, clients);
  } else if (typeof s.quorum === 'string') {
    quorum = Math.max(1, Math.ceil((clients * Number(s.quorum.slice(0, -1))) / 100));
  }

  const stragglers = s.stragglers ?? JOB_DEFAULTS.stragglers;
  if (s.maxStaleness !== undefined && stragglers !== 'late-merge')
    fail(['spec', 'maxStaleness'], `maxStaleness applies to stragglers: late-merge only (this job drops stragglers: ${stragglers})`);
  const maxStaleness = stragglers === 'late-merge' ? (s.maxStaleness ?? JOB_DEFAULTS.maxStaleness) : 0;

  const known = opts.nodeNames;
  if (known) {
    (s.placement?.nodes ?? []).forEach((n, i) => {
      if (!known.includes(n)) fail(['spec', 'placement', 'nodes', i], `no node named "${n}"${suggestionTail(n, known, 'nodes')}`);
    });
    const top = s.placement?.top;
    if (top !== undefined && !known.includes(top)) fail(['spec', 'placement', 'top'], `no node named "${top}"${suggestionTail(top, known, 'nodes')}`);
  }

  const fanIn = s.hierarchy?.fanIn ?? JOB_DEFAULTS.fanIn;
  const t = tree(clients, fanIn);
  const modelBytes = 4 * paramCount;
  const job: JobIR = {
    name: spec.metadata.name,
    tenant: spec.metadata.tenant ?? opts.defaultTenant ?? DEFAULT_TENANT,
    paramCount,
    layers,
    initSeed: s.model.init?.seed ?? JOB_DEFAULTS.initSeed,
    rounds: s.rounds,
    clients,
    quorum,
    roundDeadlineMs: s.roundDeadlineMs ?? JOB_DEFAULTS.roundDeadlineMs,
    stragglers,
    maxStaleness,
    weighting: s.weighting ?? JOB_DEFAULTS.weighting,
    fanIn,
    ...t,
    modelBytes,
    modelClassBytes: roundUp(HEADER_SIZE + modelBytes, 64),
    placement: { ...(s.placement?.nodes ? { nodes: [...s.placement.nodes] } : {}), ...(s.placement?.top ? { top: s.placement.top } : {}) },
  };
  const pool = paramCount > 0 ? jobPool(job) : undefined;
  if (pool && 'problem' in pool) fail(['spec', 'model'], pool.problem);
  if (errors.length > 0) throw new ChainSpecErrors(errors);
  const { sizeClasses, poolBytes } = pool as { sizeClasses: number[]; poolBytes: number };
  return {
    name: job.name,
    tenant: job.tenant,
    entry: t.leaves[0]!,
    entries: [...t.leaves],
    // The largest body is one update; a round can take the whole deadline.
    maxBodyBytes: job.modelClassBytes,
    timeoutMs: Math.min(600_000, job.roundDeadlineMs + 10_000),
    bodyTimeoutMs: 60_000,
    poolBytes,
    sizeClasses,
    stages: stages(job),
    source: { file: opts.file },
    job,
  };
}

function stages(job: JobIR): StageIR[] {
  const parentOf = new Map<number, number>();
  for (const g of job.groups) for (const l of g.leaves) parentOf.set(l, g.parent);
  for (const m of job.mids) parentOf.set(m, job.top);
  const names = new Map<number, string>([...job.leaves.map((id, i) => [id, `leaf-${i}`] as const), ...job.mids.map((id, j) => [id, `mid-${j}`] as const), [job.top, 'top']]);
  // An aggregator holds an accumulator per open round and maps the update
  // it folds: about 2 models, whatever the number of clients.
  const memoryMb = Math.ceil((2 * job.modelClassBytes) / (1 << 20)) + AGGREGATOR_BASE_MB;
  return [...names].map(([id, name]) => {
    const parent = parentOf.get(id);
    return {
      id,
      name,
      runtime: 'native',
      handler: AGGREGATOR_HANDLER,
      archs: ['amd64', 'arm64'],
      resources: { cpuMilli: AGGREGATOR_CPU_MILLI, memoryMb },
      scale: { min: 1, max: 1 },
      next: parent === undefined ? [] : [{ name: names.get(parent)!, id: parent }],
      data: {},
    };
  });
}
