/**
 * Request checks for NodeDaemon: each turns a request as received into the
 * values ferryd acts on, or throws INVALID_ARGUMENT naming the field (by its
 * .proto name). Checks that need ferryd's state (does the pool exist?) are
 * made where that state lives.
 */
import { statSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { MAX_INSTANCES, MAX_REPLICAS, STAGE_REPLY } from '../dataplane/descriptor.js';
import type { SizeClass } from '../dataplane/native.js';
import { DEFAULT_LIFETIME_MS, DEFAULT_POOL_QUOTA, type InstanceResources, type InstanceSpec } from '../node/dataplane.js';
import { checkPlan, planClasses } from '../node/pool/size-classes.js';
import { checkBalance, type BalanceSpec } from '../balance/registry.js';
import { parseHostPort } from './address.js';
import type { AllowEdge, BalancePolicy, CreatePoolRequest, GatewayConfig, IdleStage, Peer, ProgramChainRequest, RemoteGateway, Resources, RestartPolicy, SetPeersRequest,
  StageRoute, StartInstanceRequest, StopInstanceRequest, StreamStatsRequest } from './proto.js';
import { isBuiltin, resolveBuiltin } from './builtins.js';
import { invalid } from './rpc-error.js';

/** Instance ids are allocated by the control plane, cluster-unique, and
 * index the BPF sockhash: 1..MAX_INSTANCES-1. */
export const MAX_INSTANCE_ID = MAX_INSTANCES - 1;

/** Pool limits: what one chain may ask of a node. */
export const MAX_POOL_CLASSES = 8;
export const MAX_BUFFER_SIZE = 1 << 30;
/** The most a chain's pool may hold in service on one node. */
export const MAX_POOL_QUOTA = 2 ** 31;
export const DEFAULT_MAX_BODY_BYTES = 1 << 20;
export const MAX_LIFETIME_MS = 3_600_000;

export const DEFAULT_DRAIN_TIMEOUT_MS = 10_000;
export const MAX_DRAIN_TIMEOUT_MS = 10 * 60_000;
export const DEFAULT_STATS_INTERVAL_MS = 1000;
export const MIN_STATS_INTERVAL_MS = 10;
export const MAX_STATS_INTERVAL_MS = 3_600_000;
export const DEFAULT_GATEWAY_TIMEOUT_MS = 30_000;
export const DEFAULT_BODY_TIMEOUT_MS = 10_000;
export const DEFAULT_HOLD_REQUESTS = 1000;

/** Chain and stage names: URL-safe, and free of the ',' and '=' that
 * FERRY_NEXT uses as separators. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/**
 * StartInstance's env is the caller's, handed to a function that may run
 * code of another tenant's choosing in its runtime: nothing in it may change
 * how that runtime loads or links code, or what ferryd sets itself.
 */
const ENV_KEY = /^[A-Z_][A-Z0-9_]*$/;
export const MAX_ENV_ENTRIES = 64;
export const MAX_ENV_KEY_CHARS = 128;
export const MAX_ENV_VALUE_BYTES = 4096;
export const MAX_ENV_BYTES = 32 * 1024;
const REFUSED_ENV_PREFIXES: [string, string][] = [
  ['FERRY_', 'is reserved: ferryd sets the FERRY_* variables itself'],
  ['NODE_', 'changes how Node.js loads code (NODE_OPTIONS, NODE_PATH, ...)'],
  ['LD_', 'changes how programs are linked and loaded (LD_PRELOAD, LD_LIBRARY_PATH, ...)'],
  ['MALLOC_', "changes glibc's allocator"],
  ['GLIBC_', "changes glibc's behaviour (GLIBC_TUNABLES)"],
  ['TSX_', 'changes how tsx loads TypeScript'],
  ['UV_', "changes libuv's set-up (thread pool)"],
  ['OPENSSL_', 'makes OpenSSL load other configuration, engines or providers'],
];
/** glibc's list of variables it drops for privileged programs
 * (UNSECURE_ENVVARS), and what ferryd fixes. */
const REFUSED_ENV = new Map<string, string>([
  ['PATH', 'is fixed by ferryd'],
  ['HOME', 'is fixed by ferryd (/tmp, the instance\'s own)'],
  ...['GCONV_PATH', 'GETCONF_DIR', 'HOSTALIASES', 'LOCALDOMAIN', 'LOCPATH', 'NIS_PATH', 'NLSPATH', 'RESOLV_HOST_CONF', 'RES_OPTIONS', 'TMPDIR', 'TZDIR'].map(
    (k): [string, string] => [k, 'makes glibc load files of its choosing (one of the variables glibc ignores in privileged programs)'],
  ),
]);

/** Why an environment variable may not be set for an instance. */
export function refusedEnv(key: string): string | undefined {
  const exact = REFUSED_ENV.get(key);
  if (exact) return exact;
  return REFUSED_ENV_PREFIXES.find(([p]) => key.startsWith(p))?.[1];
}

/** Per StartInstance: what an instance may ask of its cgroup. */
export const MAX_CPU_MILLI = 1_000_000;
export const MAX_MEMORY_MB = 16 << 20;
/** The kernel's PID_MAX_LIMIT. */
export const MAX_PIDS = 4_194_304;

function instanceId(v: number, field: string): number {
  if (!Number.isInteger(v) || v < 1 || v > MAX_INSTANCE_ID) throw invalid(field, `must be 1..${MAX_INSTANCE_ID} (got ${v})`);
  return v;
}

function chainId(v: number, field = 'chain_id'): number {
  if (!Number.isInteger(v) || v < 1) throw invalid(field, `must be 1 or more (got ${v})`);
  return v;
}

function name(v: string, field: string): string {
  if (!v) throw invalid(field, 'is required');
  if (!NAME.test(v)) throw invalid(field, `"${v}" must be 1-128 of A-Z a-z 0-9 . _ -, starting with a letter or digit`);
  return v;
}

/** A stage a descriptor can target (not the reply pseudo-stage). */
function stage(v: number, field: string): number {
  if (!Number.isInteger(v) || v < 0 || v >= STAGE_REPLY) throw invalid(field, `must be 0..${STAGE_REPLY - 1} (got ${v})`);
  return v;
}

/** The gateway's idle stages: each once, each a stage with a name. */
function idleStages(idle: IdleStage[]): IdleStage[] {
  const seen = new Set<number>();
  return idle.map((x, i) => {
    const st = stage(x.stage, `gateway.idle[${i}].stage`);
    if (seen.has(st)) throw invalid(`gateway.idle[${i}].stage`, `stage ${st} is listed twice`);
    seen.add(st);
    return { stage: st, name: name(x.name, `gateway.idle[${i}].name`) };
  });
}

/** Either side of an allow-list edge; 65535 stands for the gateway. */
function edgeEnd(v: number, field: string): number {
  if (!Number.isInteger(v) || v < 0 || v > STAGE_REPLY) throw invalid(field, `must be 0..${STAGE_REPLY} (got ${v})`);
  return v;
}

export interface PoolRequest {
  chainId: number;
  name: string;
  tenant: string;
  /** Sizes, first counts and the slots each may grow to. */
  classes: SizeClass[];
  quotaBytes: number;
  maxBodyBytes: number;
  lifetimeMs: number;
}

function tenantName(v: string): string {
  if (v.length > 128) throw invalid('tenant', 'must be at most 128 characters');
  if (v.includes('\0')) throw invalid('tenant', 'must not contain NUL');
  return v;
}

export function checkCreatePool(req: CreatePoolRequest): PoolRequest {
  const tenant = tenantName(req.tenant);
  const quotaBytes = req.quotaBytes || DEFAULT_POOL_QUOTA;
  if (!Number.isInteger(quotaBytes) || quotaBytes < 4096 || quotaBytes > MAX_POOL_QUOTA)
    throw invalid('quota_bytes', `must be 4096..${MAX_POOL_QUOTA} (got ${quotaBytes})`);
  // With explicit classes and no body limit, a body may fill the largest.
  const maxBodyBytes = req.maxBodyBytes || (req.classes.length ? Math.max(...req.classes.map((c) => c.size)) : DEFAULT_MAX_BODY_BYTES);
  if (!Number.isInteger(maxBodyBytes) || maxBodyBytes < 1 || maxBodyBytes > MAX_BUFFER_SIZE)
    throw invalid('max_body_bytes', `must be 1..${MAX_BUFFER_SIZE} (got ${maxBodyBytes})`);
  const lifetimeMs = req.lifetimeMs || DEFAULT_LIFETIME_MS;
  if (!Number.isInteger(lifetimeMs) || lifetimeMs > MAX_LIFETIME_MS) throw invalid('lifetime_ms', `must be 1..${MAX_LIFETIME_MS} (got ${lifetimeMs})`);
  sizeClasses(req.classes);
  const plan = { maxBodyBytes, quotaBytes, sizes: req.classes.length ? req.classes.map((c) => c.size) : undefined };
  const problem = checkPlan(plan);
  if (problem) throw invalid(req.classes.length ? 'classes' : 'max_body_bytes', problem);
  // Explicit first counts are kept where the quota allows them.
  const classes = planClasses(plan).map((c, i) => {
    const asked = req.classes[i]?.count ?? 0;
    return asked > 0 ? { ...c, count: Math.min(asked, c.maxCount ?? asked) } : c;
  });
  const start = classes.reduce((n, c) => n + c.size * c.count, 0);
  if (start > quotaBytes)
    throw invalid('classes', `the first buffers take ${start} bytes, more than quota_bytes (${quotaBytes}); ask for fewer`);
  return { chainId: chainId(req.chainId), name: name(req.chainName, 'chain_name'), tenant, classes, quotaBytes, maxBodyBytes, lifetimeMs };
}

function sizeClasses(classes: SizeClass[]): void {
  if (classes.length > MAX_POOL_CLASSES) throw invalid('classes', `at most ${MAX_POOL_CLASSES} size classes (got ${classes.length})`);
  classes.forEach((c, i) => {
    const f = `classes[${i}]`;
    if (c.size === 0 || c.size % 64 !== 0 || c.size > MAX_BUFFER_SIZE)
      throw invalid(`${f}.size`, `must be a multiple of 64 bytes, 64..${MAX_BUFFER_SIZE} (got ${c.size})`);
    const prev = classes[i - 1];
    if (prev && c.size <= prev.size) throw invalid(`${f}.size`, `classes must be in ascending size order (${c.size} after ${prev.size})`);
  });
}

export interface StartRequest {
  spec: InstanceSpec;
  restart: RestartPolicy;
}

export function checkStartInstance(req: StartInstanceRequest): StartRequest {
  const id = instanceId(req.instanceId, 'instance_id');
  if (req.runtime !== 'node' && req.runtime !== 'native')
    throw invalid('runtime', `must be "node" or "native" (got "${req.runtime}")`);
  // The generated type says one of the two names, but a value this .proto
  // does not know arrives as its number: keep refusing it.
  if (req.restart !== 'RESTART_ALWAYS' && req.restart !== 'RESTART_NEVER')
    throw invalid('restart', `unknown restart policy ${String(req.restart)}`);
  const seen = new Set<string>();
  const next = req.next.map((s, i) => {
    const n = name(s.name, `next[${i}].name`);
    if (seen.has(n)) throw invalid(`next[${i}].name`, `"${n}" is listed twice`);
    seen.add(n);
    return { name: n, id: stage(s.id, `next[${i}].id`) };
  });
  return {
    spec: {
      instanceId: id,
      chainId: chainId(req.chainId),
      stage: stage(req.stage, 'stage'),
      stageName: name(req.stageName, 'stage_name'),
      runtime: req.runtime,
      handler: isBuiltin(req.handler) ? resolveBuiltin(req.handler, req.runtime) : handlerPath(req.handler),
      next,
      env: environment(req.env),
      tenant: tenantName(req.tenant),
      resources: resources(req.resources),
    },
    restart: req.restart,
  };
}

function environment(given: Record<string, string>): Record<string, string> {
  const entries = Object.entries(given);
  if (entries.length > MAX_ENV_ENTRIES) throw invalid('env', `at most ${MAX_ENV_ENTRIES} variables (got ${entries.length})`);
  let bytes = 0;
  for (const [k, v] of entries) {
    const f = `env["${k.slice(0, MAX_ENV_KEY_CHARS)}"]`;
    if (k.length > MAX_ENV_KEY_CHARS) throw invalid(f, `name longer than ${MAX_ENV_KEY_CHARS} characters`);
    if (!ENV_KEY.test(k)) throw invalid(f, 'is not a valid variable name: use upper-case letters, digits and _ ([A-Z_][A-Z0-9_]*)');
    const why = refusedEnv(k);
    if (why) throw invalid(f, `${why}: not allowed for a function; pass your setting under a name of your own`);
    if (v.includes('\0')) throw invalid(f, 'must not contain NUL');
    const size = Buffer.byteLength(v);
    if (size > MAX_ENV_VALUE_BYTES) throw invalid(f, `value of ${size} bytes is more than ${MAX_ENV_VALUE_BYTES}`);
    bytes += k.length + size;
  }
  if (bytes > MAX_ENV_BYTES) throw invalid('env', `${bytes} bytes of variables, more than ${MAX_ENV_BYTES}`);
  return Object.fromEntries(entries);
}

function resources(r: Resources | null): InstanceResources {
  const cpuMilli = r?.cpuMilli ?? 0;
  const memoryMb = r?.memoryMb ?? 0;
  const pids = r?.pids ?? 0;
  if (cpuMilli > MAX_CPU_MILLI) throw invalid('resources.cpu_milli', `must be at most ${MAX_CPU_MILLI} (got ${cpuMilli})`);
  if (memoryMb > MAX_MEMORY_MB) throw invalid('resources.memory_mb', `must be at most ${MAX_MEMORY_MB} (got ${memoryMb})`);
  if (pids > MAX_PIDS) throw invalid('resources.pids', `must be at most ${MAX_PIDS} (got ${pids})`);
  return { cpuMilli, memoryMb, pids };
}

function handlerPath(p: string): string {
  if (!p) throw invalid('handler', 'is required');
  if (!isAbsolute(p)) throw invalid('handler', `must be an absolute path on the node (got "${p}")`);
  let isFile = false;
  try {
    isFile = statSync(p).isFile();
  } catch {
    throw invalid('handler', `${p} does not exist on this node`);
  }
  if (!isFile) throw invalid('handler', `${p} is not a file`);
  return p;
}

export interface StopRequest {
  instanceId: number;
  drainTimeoutMs: number;
}

export function checkStopInstance(req: StopInstanceRequest): StopRequest {
  instanceId(req.instanceId, 'instance_id');
  if (req.drainTimeoutMs > MAX_DRAIN_TIMEOUT_MS)
    throw invalid('drain_timeout_ms', `must be at most ${MAX_DRAIN_TIMEOUT_MS} (got ${req.drainTimeoutMs})`);
  return { instanceId: req.instanceId, drainTimeoutMs: req.drainTimeoutMs || DEFAULT_DRAIN_TIMEOUT_MS };
}

export function checkDeleteChain(req: { chainId: number }): number {
  return chainId(req.chainId);
}

/** 0 stands for "all chains". */
export function checkListChain(req: { chainId: number }): number | undefined {
  return req.chainId === 0 ? undefined : chainId(req.chainId);
}

export interface ChainProgram {
  chainId: number;
  /** Targets keep their node ('' for local). */
  routes: StageRoute[];
  /** Each routed stage's balance policy (undefined: ferryd's default). */
  balance: Map<number, BalanceSpec | undefined>;
  allow: AllowEdge[];
  /** maxBodyBytes 0: the pool's largest buffer. */
  gateway: GatewayConfig | null;
  remoteGateways: RemoteGateway[];
}

/** A stage's policy as ProgramChain gives it; undefined: the default. */
export function checkStageBalance(b: BalancePolicy | null, field: string): BalanceSpec | undefined {
  if (!b || (b.name === '' && Object.keys(b.params ?? {}).length === 0 && !b.keyHeader && !b.keyField)) return undefined;
  if (b.name === '') throw invalid(`${field}.name`, 'parameters or a request key were given without a policy name');
  if (b.keyHeader && b.keyField) throw invalid(`${field}.key_header`, 'give the request key as a header or as a JSON field, not both');
  const key = b.keyHeader ? { header: b.keyHeader } : b.keyField ? { field: b.keyField } : undefined;
  const { spec, problems } = checkBalance({ policy: b.name, params: b.params ?? {}, key });
  const p = problems[0];
  if (!spec || p) {
    const at = p!.field === 'policy' ? 'name' : p!.field === 'key' ? (b.keyField ? 'key_field' : 'key_header') : `params.${p!.field}`;
    throw invalid(`${field}.${at}`, p!.message);
  }
  return spec;
}

export function checkProgramChain(req: ProgramChainRequest): ChainProgram {
  const stages = new Set<number>();
  const balance = new Map<number, BalanceSpec | undefined>();
  const routes = req.routes.map((r, i) => {
    const s = stage(r.stage, `routes[${i}].stage`);
    if (stages.has(s)) throw invalid(`routes[${i}].stage`, `stage ${s} has two routes`);
    stages.add(s);
    if (r.targets.length > MAX_REPLICAS) throw invalid(`routes[${i}].targets`, `at most ${MAX_REPLICAS} instances per stage (got ${r.targets.length})`);
    const ids = new Set<number>();
    const targets = r.targets.map((t, j) => {
      const f = `routes[${i}].targets[${j}]`;
      instanceId(t.instance, `${f}.instance`);
      if (ids.has(t.instance)) throw invalid(`${f}.instance`, `instance ${t.instance} is listed twice`);
      ids.add(t.instance);
      if (t.node) name(t.node, `${f}.node`);
      return { instance: t.instance, weight: t.weight, node: t.node };
    });
    const total = targets.reduce((sum, t) => sum + t.weight, 0);
    // The router draws a 32-bit random number modulo the total.
    if (total > 0xffffffff) throw invalid(`routes[${i}].targets`, `weights add up to ${total}, more than 4294967295`);
    balance.set(s, checkStageBalance(r.balance, `routes[${i}].balance`));
    return { stage: s, targets, balance: r.balance };
  });
  const allow = req.allow.map((e, i) => ({
    fromStage: edgeEnd(e.fromStage, `allow[${i}].from_stage`),
    toStage: edgeEnd(e.toStage, `allow[${i}].to_stage`),
  }));
  let gateway: GatewayConfig | null = null;
  if (req.gateway) {
    const g = req.gateway;
    gateway = {
      chainName: name(g.chainName, 'gateway.chain_name'),
      entryStage: stage(g.entryStage, 'gateway.entry_stage'),
      maxBodyBytes: g.maxBodyBytes,
      timeoutMs: g.timeoutMs || DEFAULT_GATEWAY_TIMEOUT_MS,
      gatewayInstanceId: instanceId(g.gatewayInstanceId, 'gateway.gateway_instance_id'),
      bodyTimeoutMs: g.bodyTimeoutMs || DEFAULT_BODY_TIMEOUT_MS,
      idle: idleStages(g.idle),
      holdRequests: g.holdRequests || DEFAULT_HOLD_REQUESTS,
      holdTimeoutMs: g.holdTimeoutMs || g.timeoutMs || DEFAULT_GATEWAY_TIMEOUT_MS,
    };
  }
  const gwIds = new Set<number>();
  const remoteGateways = req.remoteGateways.map((g, i) => {
    const f = `remote_gateways[${i}]`;
    instanceId(g.instance, `${f}.instance`);
    if (gwIds.has(g.instance)) throw invalid(`${f}.instance`, `gateway ${g.instance} is listed twice`);
    if (gateway && g.instance === gateway.gatewayInstanceId) throw invalid(`${f}.instance`, `${g.instance} is this node's own gateway for the chain`);
    gwIds.add(g.instance);
    return { instance: g.instance, node: name(g.node, `${f}.node`) };
  });
  return { chainId: chainId(req.chainId), routes, balance, allow, gateway, remoteGateways };
}

export interface PeersConfig {
  peers: Peer[];
  infraIdBase: number;
  infraIdCount: number;
}

export function checkSetPeers(req: SetPeersRequest, self: string): PeersConfig {
  const seen = new Set<string>();
  const peers = req.peers.map((p, i) => {
    const n = name(p.name, `peers[${i}].name`);
    if (n === self) throw invalid(`peers[${i}].name`, `"${n}" is this node itself`);
    if (seen.has(n)) throw invalid(`peers[${i}].name`, `"${n}" is listed twice`);
    seen.add(n);
    try {
      parseHostPort(p.address, 'address');
    } catch (err) {
      throw invalid(`peers[${i}].address`, (err as Error).message);
    }
    return { name: n, address: p.address };
  });
  const { infraIdBase: base, infraIdCount: count } = req;
  if (count > 0 && (base < 1 || base + count - 1 > MAX_INSTANCE_ID))
    throw invalid('infra_id_base', `the block ${base}..${base + count - 1} must lie within 1..${MAX_INSTANCE_ID}`);
  if (peers.length > 0 && count === 0) throw invalid('infra_id_count', 'peers need infra ids for the egress and ingress endpoints (got 0)');
  return { peers, infraIdBase: base, infraIdCount: count };
}

export function checkStreamStats(req: StreamStatsRequest): number {
  const ms = req.intervalMs || DEFAULT_STATS_INTERVAL_MS;
  if (ms < MIN_STATS_INTERVAL_MS || ms > MAX_STATS_INTERVAL_MS)
    throw invalid('interval_ms', `must be ${MIN_STATS_INTERVAL_MS}..${MAX_STATS_INTERVAL_MS} (got ${ms})`);
  return ms;
}
