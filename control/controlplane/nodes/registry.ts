/**
 * The nodes the control plane knows: their ferryd connections, what each
 * reported about itself, and the latest stats they streamed. A node whose
 * stats stream breaks is marked not ready and reconnected in the
 * background; placement only sees ready nodes.
 */
import { describeIdentity } from '../../auth/identity.js';
import type { FerrydClient } from '../../ferryd/client.js';
import type { NodeInfo, NodeStats } from '../../ferryd/proto.js';
import type { Arch } from '../../chain/ir.js';
import type { Logger } from '../../log.js';
import { MAX_NODES } from '../chains/ids.js';
import type { EventBus } from '../events.js';
import type { NodeView } from '../placement/framework.js';
import type { Store } from '../store/store.js';
import { RateMeter } from './rates.js';

export interface NodeRecord {
  name: string;
  address: string;
  labels: Record<string, string>;
  /** Stable index of the node in the cluster: picks its block of
   * infrastructure ids (ids.ts infraBlock), which must not move while
   * chains cross nodes. */
  slot: number;
}

export interface NodeEntry extends NodeRecord {
  client: FerrydClient;
  info: NodeInfo;
  ready: boolean;
  stats?: NodeStats;
}

/** Its ferryd listens for other nodes' ferryd, so chains may cross it. */
export const hasPeerListener = (n: Pick<NodeEntry, 'info'>): boolean => n.info.peerAddress !== '';

/** A client of the ferryd at address (over the control plane's mutual TLS). */
export type Connect = (address: string) => FerrydClient;

const NODE_PREFIX = '/nodes/';
const STATS_INTERVAL_MS = 1000;
const RECONNECT_MS = 2000;

export class NodeRegistry {
  private readonly nodes = new Map<string, NodeEntry>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly streams = new Map<string, { cancel(): void }>();
  private closed = false;
  readonly rates = new RateMeter();

  constructor(
    private readonly store: Store,
    private readonly events: EventBus,
    private readonly log: Logger,
    private readonly connect: Connect,
  ) {}

  /** Connect to the ferryd at address, learn its name, remember it. */
  async register(address: string, labels: Record<string, string> = {}): Promise<NodeEntry> {
    const client = this.connect(address);
    let info: NodeInfo;
    try {
      info = await client.getNodeInfo();
    } catch (err) {
      client.close();
      throw new Error(`no ferryd answers at ${address}: ${(err as Error).message}; start it (ferryd --grpc ${address}) or check the address`);
    }
    // The name it gives must be the one its certificate proves.
    const proven = client.server;
    if (proven?.kind !== 'node' || proven.name !== info.name) {
      client.close();
      throw new Error(`the ferryd at ${address} says it is node ${info.name}, but its certificate is for ${proven ? describeIdentity(proven) : 'nobody'}`);
    }
    const existing = this.nodes.get(info.name);
    if (existing && existing.address !== address) {
      client.close();
      throw new Error(`a node named "${info.name}" is already registered at ${existing.address}; give the ferryd at ${address} another --name`);
    }
    existing?.client.close();
    const slot = await this.slotFor(info.name);
    const entry: NodeEntry = { name: info.name, address, labels, slot, client, info, ready: true };
    this.nodes.set(info.name, entry);
    await this.store.put<NodeRecord>(NODE_PREFIX + info.name, { name: info.name, address, labels, slot });
    this.watchStats(entry);
    this.events.emit({ kind: 'node-ready', node: info.name, message: `node ${info.name} at ${address} (${info.dataplaneMode})` });
    this.log.info('node ready', { node: info.name, address, mode: info.dataplaneMode });
    return entry;
  }

  /** Reconnect to every node the store remembers; unreachable ones retry in the background. */
  async restore(): Promise<void> {
    for (const { value } of await this.store.list<NodeRecord>(NODE_PREFIX)) {
      if (this.nodes.has(value.name)) continue;
      await this.register(value.address, value.labels).catch((err: Error) => {
        this.log.warn('node not reachable yet; retrying', { node: value.name, address: value.address, error: err.message });
        this.retry(value);
      });
    }
  }

  get(name: string): NodeEntry | undefined {
    return this.nodes.get(name);
  }

  /** A ready node, or an error that says which one is missing. */
  require(name: string): NodeEntry {
    const n = this.nodes.get(name);
    if (!n) throw new Error(`node ${name} is not registered`);
    if (!n.ready) throw new Error(`node ${name} (${n.address}) is not ready: its ferryd does not answer`);
    return n;
  }

  list(): NodeEntry[] {
    return [...this.nodes.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** What placement needs of every ready node, before this apply's instances. */
  views(): NodeView[] {
    return this.list()
      .filter((n) => n.ready)
      .map((n) => ({
        name: n.name,
        archs: n.info.archs as Arch[],
        cpuMilli: n.info.cpus * 1000,
        memoryMb: Math.floor(n.info.memoryBytes / (1 << 20)),
        usedCpuMilli: 0,
        usedMemoryMb: 0,
        labels: n.labels,
        peered: hasPeerListener(n),
      }));
  }

  archs(): Arch[] {
    return [...new Set(this.list().flatMap((n) => n.info.archs as Arch[]))];
  }

  close(): void {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    // A stats stream holds its ferryd's server open until cancelled.
    for (const s of this.streams.values()) s.cancel();
    for (const n of this.nodes.values()) n.client.close();
  }

  /** The node's stored slot, or the lowest one no stored node holds. */
  private async slotFor(name: string): Promise<number> {
    const stored = await this.store.list<NodeRecord>(NODE_PREFIX);
    const mine = stored.find((e) => e.value.name === name)?.value.slot;
    if (mine !== undefined) return mine;
    const taken = new Set(stored.map((e) => e.value.slot));
    let slot = 0;
    while (taken.has(slot)) slot++;
    if (slot >= MAX_NODES) throw new Error(`the cluster already has ${MAX_NODES} nodes, the most ferry supports`);
    return slot;
  }

  private watchStats(entry: NodeEntry): void {
    const stream = entry.client.streamStats({ intervalMs: STATS_INTERVAL_MS });
    this.streams.get(entry.name)?.cancel();
    this.streams.set(entry.name, stream);
    const previous = new Map<number, string>();
    stream.on('data', (s: NodeStats) => {
      entry.stats = s;
      for (const i of s.instances) {
        this.rates.observe(i.instanceId, s.timeMs, i.rxMsgs);
        const before = previous.get(i.instanceId);
        if (before !== i.state && (i.state === 'CRASHED' || i.state === 'RESTARTING') && before !== 'CRASHED') {
          this.events.emit({ kind: 'instance-crashed', node: entry.name, instance: i.instanceId, message: `instance ${i.instanceId} on ${entry.name} is ${i.state}` });
        } else if (before && before !== 'RUNNING' && i.state === 'RUNNING') {
          this.events.emit({ kind: 'instance-restarted', node: entry.name, instance: i.instanceId, message: `instance ${i.instanceId} on ${entry.name} is running again` });
        }
        previous.set(i.instanceId, i.state);
      }
    });
    const lost = (why: string) => {
      if (this.closed || this.nodes.get(entry.name) !== entry || !entry.ready) return;
      entry.ready = false;
      this.events.emit({ kind: 'node-lost', node: entry.name, message: `node ${entry.name} at ${entry.address}: ${why}` });
      this.log.warn('node lost', { node: entry.name, address: entry.address, why });
      this.retry(entry);
    };
    stream.on('error', (err: Error & { code?: number }) => {
      if (err.code !== 1 /* CANCELLED: we closed it */) lost(err.message);
    });
    stream.on('end', () => lost('stats stream ended'));
  }

  private retry(rec: NodeRecord): void {
    if (this.closed) return;
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (this.closed) return;
      this.register(rec.address, rec.labels).catch(() => this.retry(rec));
    }, RECONNECT_MS);
    this.timers.add(t);
  }
}
