/**
 * The peer links between nodes: every node whose ferryd has a peer listener
 * learns the peer address of every other such node (SetPeers), with its own
 * block of infrastructure ids for the endpoints the links need. A restarted
 * ferryd has forgotten all of it, so this runs again whenever a node comes
 * (back); it is idempotent and serialised.
 */
import type { Logger } from '../../log.js';
import { infraBlock } from '../chains/ids.js';
import { hasPeerListener, type NodeEntry, type NodeRegistry } from './registry.js';

export class PeerMesh {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly nodes: NodeRegistry,
    private readonly log: Logger,
  ) {}

  /** Tell every ready, peered node about all the others. Throws when a
   * node refuses, naming it. */
  sync(): Promise<void> {
    const run = this.queue.then(() => this.syncNow());
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async syncNow(): Promise<void> {
    // Lost nodes stay in the others' lists: their links redial by themselves.
    const peered = this.nodes.list().filter(hasPeerListener);
    const failures: string[] = [];
    for (const n of peered.filter((p) => p.ready)) {
      const peers = peered.filter((p) => p !== n).map((p) => ({ name: p.name, address: dialable(p) }));
      const { base, count } = infraBlock(n.slot);
      try {
        const { connected } = await n.client.setPeers({ peers, infraIdBase: base, infraIdCount: count });
        this.log.debug('peers set', { node: n.name, peers: peers.map((p) => p.name), connected });
      } catch (err) {
        failures.push(`node ${n.name} refused its peers: ${(err as Error).message}`);
      }
    }
    if (failures.length) throw new Error(failures.join('; '));
  }
}

/** A peer listener bound to every interface (0.0.0.0, ::) is dialled at
 * the host the control plane reaches the node's ferryd by. */
export function dialable(n: Pick<NodeEntry, 'address' | 'info'>): string {
  const { host, port } = splitHostPort(n.info.peerAddress);
  if (host !== '0.0.0.0' && host !== '::' && host !== '') return n.info.peerAddress;
  const grpcHost = splitHostPort(n.address).host;
  return grpcHost.includes(':') ? `[${grpcHost}]:${port}` : `${grpcHost}:${port}`;
}

function splitHostPort(address: string): { host: string; port: string } {
  const i = address.lastIndexOf(':');
  return { host: address.slice(0, i).replace(/^\[|\]$/g, ''), port: address.slice(i + 1) };
}
