/** ferry get chains|nodes|instances [NAME]: what runs where. */
import type { ChainStatus } from '../../controlplane/admin/proto.js';
import { withAdmin, type Command } from '../context.js';
import { CliError, print, table } from '../output.js';

const mib = (bytes: number) => `${Math.round(bytes / (1 << 20))}Mi`;

/** A chain's stages and instances, for people. */
export function describeChain(c: ChainStatus): string {
  const rows = c.stages.map((s) => ({
    stage: s.name,
    runtime: s.runtime,
    next: s.next.length ? s.next.join(',') : '(reply)',
    instances: s.instances.map((i) => `${i.id}@${i.node}:${i.state.toLowerCase()}${i.restarts ? `(${i.restarts} restarts)` : ''}`).join(' '),
    'rx/s': s.rxPerSec.toFixed(1),
    rx: s.rxMsgs,
    drops: s.drops,
  }));
  const head = `tenant ${c.tenant}, entry ${c.entry}, from ${c.sourceFile}`;
  const urls = c.endpoints.length ? `\nserved at: ${c.endpoints.join(' ')}` : '';
  return `${head}\n${table(rows)}${urls}`;
}

export const get: Command = async (ctx) => {
  const [what, name] = ctx.args;
  switch (what) {
    case 'chain':
    case 'chains': {
      if (name) {
        const c = await withAdmin(ctx, (a) => a.call('GetChain', { name }));
        print(ctx.format, c, () => `chain ${c.name} (generation ${c.generation})\n${describeChain(c)}`);
        return;
      }
      const { chains } = await withAdmin(ctx, (a) => a.call('ListChains', {}));
      print(ctx.format, chains, () =>
        table(
          chains.map((c) => ({
            name: c.name,
            tenant: c.tenant,
            stages: c.stages.length,
            instances: c.stages.reduce((n, s) => n + s.instances.length, 0),
            running: c.stages.reduce((n, s) => n + s.instances.filter((i) => i.state === 'RUNNING').length, 0),
            generation: c.generation,
            endpoint: c.endpoints[0] ?? '',
          })),
        ),
      );
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
      const { chains } = await withAdmin(ctx, (a) => a.call('ListChains', {}));
      const rows = chains
        .filter((c) => !name || c.name === name)
        .flatMap((c) => c.stages.flatMap((s) => s.instances.map((i) => ({ id: i.id, chain: c.name, stage: s.name, runtime: s.runtime, node: i.node, pid: i.pid, state: i.state, restarts: i.restarts }))));
      print(ctx.format, rows, () => table(rows));
      return;
    }
    default:
      throw new CliError(`usage: ferry get chains|nodes|instances [NAME]${what ? ` ("${what}" is not one of them)` : ''}`);
  }
};
