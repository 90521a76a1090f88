/** ferry get chains|jobs|nodes|instances [NAME | TENANT/NAME]: what runs
 * where. Without --tenant, `get chains` and `get jobs` list everything the
 * credential reaches. */
import { formatChainRef } from '../../chain/tenant.js';
import type { ChainStatus } from '../../controlplane/admin/proto.js';
import { chainArg, withAdmin, type Command } from '../context.js';
import { CliError, print, table } from '../output.js';
import { getJobs } from './jobs.js';

const mib = (bytes: number) => `${Math.round(bytes / (1 << 20))}Mi`;

/** 2048 -> 2Ki, 1048576 -> 1Mi. */
function size(bytes: number): string {
  if (bytes >= 1 << 20 && bytes % (1 << 20) === 0) return `${bytes / (1 << 20)}Mi`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024}Ki`;
  return String(bytes);
}

/** Bytes in use / in service / quota, over the chain's nodes. */
function poolSummary(c: ChainStatus): string {
  if (c.pools.length === 0) return '';
  const sum = (f: (p: ChainStatus['pools'][number]) => number) => c.pools.reduce((n, p) => n + f(p), 0);
  const fmt = (b: number) => (b >= 1 << 20 ? `${(b / (1 << 20)).toFixed(1)}Mi` : `${Math.ceil(b / 1024)}Ki`);
  return `${fmt(sum((p) => p.inUseBytes))}/${fmt(sum((p) => p.capacityBytes))}/${fmt(sum((p) => p.quotaBytes))}`;
}

/** Milliseconds for people: "-" when nothing was measured. */
function latency(ms: number): string {
  if (!ms) return '-';
  return ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2);
}

/** One line per node: the pool's occupancy per size class. */
function describePools(c: ChainStatus): string {
  if (c.pools.length === 0) return '';
  const rows = c.pools.map((p) => ({
    node: p.node,
    'in use/service/quota': `${mib(p.inUseBytes)}/${mib(p.capacityBytes)}/${mib(p.quotaBytes)}`,
    classes: p.classes.map((k) => `${size(k.size)} ${k.inUse}/${k.capacity}`).join('  '),
    'alloc-failures': p.allocFailures,
    expired: p.expired,
  }));
  return `
pool (buffers in use/in service per size class):
${table(rows)}`;
}

/** An instance for people: id@node:state, restarts, and why it is not up. */
function describeInstance(i: ChainStatus['stages'][number]['instances'][number]): string {
  const state = i.state === 'RUNNING' && !i.ready ? 'starting' : i.state.toLowerCase();
  const restarts = i.restarts ? `(${i.restarts} restarts)` : '';
  return `${i.id}@${i.node}:${state}${restarts}`;
}

/** A chain's stages and instances, for people. */
export function describeChain(c: ChainStatus): string {
  const rows = c.stages.map((s) => ({
    stage: s.name,
    runtime: s.runtime,
    next: s.next.length ? s.next.join(',') : '(reply)',
    instances: s.instances.map(describeInstance).join(' '),
    'rx/s': s.rxPerSec.toFixed(1),
    'p50 ms': latency(s.serviceP50Ms),
    'p99 ms': latency(s.serviceP99Ms),
    'in-flight': s.inFlight,
    rx: s.rxMsgs,
    drops: s.drops,
  }));
  const head = `${c.state}${c.reason ? `: ${c.reason}` : ''}\ntenant ${c.tenant}, entry ${c.entry}, from ${c.sourceFile}`;
  const urls = c.endpoints.length ? `\nserved at: ${c.endpoints.join(' ')}` : '';
  const errors = c.stages
    .flatMap((s) => s.instances.filter((i) => i.lastError && i.state !== 'RUNNING').map((i) => `  ${s.name} ${i.id}: ${i.lastError}`))
    .join('\n');
  const cold =
    c.heldRequests > 0 || c.coldStartP99Ms > 0
      ? `\nscale from zero: ${c.heldRequests} request(s) held now; cold starts (arrival to reply, last 10 s) p50 ${latency(c.coldStartP50Ms)} ms, p99 ${latency(c.coldStartP99Ms)} ms`
      : '';
  return `${head}\n${table(rows)}${describePools(c)}${cold}${urls}${errors ? `\nnot running:\n${errors}` : ''}`;
}

export const get: Command = async (ctx) => {
  const [what, name] = ctx.args;
  switch (what) {
    case 'chain':
    case 'chains': {
      if (name) {
        const c = await withAdmin(ctx, (a) => a.call('GetChain', chainArg(ctx, name)));
        print(ctx.format, c, () => `chain ${formatChainRef(c)} (generation ${c.generation})\n${describeChain(c)}`);
        return;
      }
      const { chains } = await withAdmin(ctx, (a) => a.call('ListChains', { tenant: ctx.tenant ?? '' }));
      const rows = chains.map((c) => ({
        name: c.name,
        tenant: c.tenant,
        state: c.state,
        stages: c.stages.length,
        instances: c.stages.reduce((n, s) => n + s.instances.length, 0),
        ready: c.stages.reduce((n, s) => n + s.instances.filter((i) => i.ready).length, 0),
        'req/s': c.requestsPerSec,
        'p50 ms': latency(c.latencyP50Ms),
        'p99 ms': latency(c.latencyP99Ms),
        'pool used/service/quota': poolSummary(c),
        generation: c.generation,
        endpoint: c.endpoints[0] ?? '',
      }));
      // Reasons are sentences: under the table, not in it.
      const reasons = chains.filter((c) => c.reason).map((c) => `${c.name}: ${c.reason}`);
      print(ctx.format, chains, () => [table(rows), ...reasons].join('\n'));
      return;
    }
    case 'node':
    case 'nodes': {
      const { nodes } = await withAdmin(ctx, (a) => a.call('ListNodes', {}));
      print(ctx.format, nodes, () =>
        table(
          nodes.map((n) => ({
            name: n.name,
            ready: n.ready ? 'yes' : 'NO',
            mode: n.dataplaneMode,
            sandbox: n.sandbox,
            archs: n.archs.join(','),
            cpus: n.cpus,
            memory: mib(n.memoryBytes),
            'cpu-busy': `${Math.round(n.cpuBusy * 100)}%`,
            instances: n.instances,
            ferryd: n.address,
            gateway: n.gatewayAddress,
          })),
        ),
      );
      return;
    }
    case 'instance':
    case 'instances': {
      const { chains } = await withAdmin(ctx, async (a) => (name ? { chains: [await a.call('GetChain', chainArg(ctx, name))] } : a.call('ListChains', { tenant: ctx.tenant ?? '' })));
      const rows = chains
        .flatMap((c) => c.stages.flatMap((s) => s.instances.map((i) => ({ id: i.id, chain: c.name, tenant: c.tenant, stage: s.name, runtime: s.runtime, node: i.node, pid: i.pid, state: i.state, restarts: i.restarts, version: i.version }))));
      print(ctx.format, rows, () => table(rows));
      return;
    }
    case 'job':
    case 'jobs':
      return getJobs(ctx, name);
    default:
      throw new CliError(`usage: ferry get chains|jobs|nodes|instances [NAME]${what ? ` ("${what}" is not one of them)` : ''}`);
  }
};
