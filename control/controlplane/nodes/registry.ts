/**
 * The nodes the control plane knows: their ferryd connections, what each
 * reported about itself, and the latest stats they streamed. A node whose
 * stats stream breaks is marked not ready and reconnected in the
 * background; placement only sees ready nodes.
 *
 * A node is known by its name, but a name can change under it (the host
 * was renamed, --node-name changed): a ferryd that registers under a new
 * name at the address a stored node had, or as the control plane's own
 * local node when the stored local node had another name, is that node
 * renamed. It keeps the old node's slot and labels, the old name is
 * forgotten, and resolve() maps it to the new one so chains follow.
 */
import { EventEmitter } from 'node:events';
import { describeIdentity } from '../../auth/identity.js';
import type { ChainRef } from '../../chain/tenant.js';
import type { FerrydClient } from '../../ferryd/client.js';
import type { InstanceEvent, NodeInfo, NodeStats } from '../../ferryd/proto.js';
import type { Arch } from '../../chain/ir.js';
import type { Logger } from '../../log.js';
import { MAX_NODES } from '../chains/ids.js';
import type { EventBus } from '../events.js';
import type { NodeView } from '../placement/framework.js';
import type { Store } from '../store/store.js';
import { RateMeter } from './rates.js';
import { Signals } from '../signals/signals.js';

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
/** Which stored node is the control plane's own (startControlPlane's localNode). */
const LOCAL_NODE_KEY = '/local-node';
const STATS_INTERVAL_MS = 1000;
const RECONNECT_MS = 2000;

const DEMAND_STALE_MS = 5000;

/** A gateway's ask for an instance of an idle stage. */
export interface Demand {
  node: string;
  chainId: number;
  stage: number;
  stageName: string;
  message: string;
}

export class NodeRegistry {
  private readonly nodes = new Map<string, NodeEntry>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly streams = new Map<string, { cancel(): void }>();
  private readonly eventStreams = new Map<string, { cancel(): void }>();
  /** Per node: the ferryd process (its start time) and the last instance
   * event seen from it, so a reconnect replays only what was missed. */
  private readonly seen = new Map<string, { startedAtMs: number; seq: number }>();
  /** Stored nodes not connected yet, being retried in the background. */
  private readonly pending = new Map<string, NodeRecord>();
  /** Old name -> new name, for nodes renamed since this control plane started. */
  private readonly renames = new Map<string, string>();
  private closed = false;
  readonly rates = new RateMeter();
  /** Rates, in-flight counts and latencies from every node's stats stream. */
  readonly signals = new Signals();
  /** As nodes stream them: 'demand' (Demand), a node's gateway holds
   * requests for a stage with no instance (scaled to zero), for the
   * activator; 'instance' (node, event), every instance event, for whoever
   * waits on an instance (readiness) without polling. */
  readonly fromNodes = new EventEmitter<{ demand: [Demand]; instance: [string, InstanceEvent]; stats: [string] }>();
  /** Names chains for events (set by whoever knows them: the chain manager). */
  chainOf: (chainId: number) => ChainRef | undefined = () => undefined;

  constructor(
    private readonly store: Store,
    private readonly events: EventBus,
    private readonly log: Logger,
    private readonly connect: Connect,
  ) {}

  /** Connect to the ferryd at address, learn its name, remember it.
   * local: it is the control plane's own node (it runs in this process). */
  async register(address: string, labels: Record<string, string> = {}, opts: { local?: boolean } = {}): Promise<NodeEntry> {
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
    const previous = existing ? undefined : await this.renamedFrom(info.name, address, opts.local === true);
    if (previous) await this.forget(previous.record, info.name, previous.why);
    const slot = previous?.record.slot ?? (await this.slotFor(info.name));
    if (previous && Object.keys(labels).length === 0) labels = previous.record.labels;
    const entry: NodeEntry = { name: info.name, address, labels, slot, client, info, ready: true };
    this.nodes.set(info.name, entry);
    this.pending.delete(info.name);
    await this.store.put<NodeRecord>(NODE_PREFIX + info.name, { name: info.name, address, labels, slot });
    if (opts.local) await this.store.put(LOCAL_NODE_KEY, { name: info.name });
    this.watchStats(entry);
    this.watchInstanceEvents(entry);
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

  /** The name a node goes by now (itself unless it was renamed). */
  resolve(name: string): string {
    const seen = new Set<string>();
    while (this.renames.has(name) && !seen.has(name)) {
      seen.add(name);
      name = this.renames.get(name)!;
    }
    return name;
  }

  /** Registered: connected, or stored and being reconnected. A node that
   * is neither is gone, and what ran on it must be placed elsewhere. */
  async known(name: string): Promise<boolean> {
    return this.nodes.has(name) || (await this.store.get<NodeRecord>(NODE_PREFIX + name)) !== undefined;
  }

  /** A ready node, or an error that says which one is missing. */
  require(name: string): NodeEntry {
    const n = this.nodes.get(name);
    const known = n ?? this.pending.get(name);
    if (!known) throw new Error(`node ${name} is not registered`);
    if (!n?.ready) throw new Error(`node ${name} (${known.address}) is not ready: its ferryd does not answer`);
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
        gateway: n.info.gatewayAddress !== '',
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
    for (const s of this.eventStreams.values()) s.cancel();
    for (const n of this.nodes.values()) n.client.close();
  }

  /** The stored node this ferryd was before it changed its name: one not
   * connected now, under another name, at this address or (for the local
   * node) the one stored as local. */
  private async renamedFrom(name: string, address: string, local: boolean): Promise<{ record: NodeRecord; why: string } | undefined> {
    const stored = (await this.store.list<NodeRecord>(NODE_PREFIX)).map((e) => e.value);
    if (stored.some((r) => r.name === name)) return undefined;
    const free = stored.filter((r) => !this.nodes.get(r.name)?.ready);
    const sameAddress = free.find((r) => r.address === address);
    if (sameAddress) return { record: sameAddress, why: `same address ${address}` };
    if (!local) return undefined;
    const was = (await this.store.get<{ name: string }>(LOCAL_NODE_KEY))?.name;
    const before = free.find((r) => r.name === was);
    return before && { record: before, why: "the control plane's own node" };
  }

  /** Drop a node that came back under another name; chains follow resolve(). */
  private async forget(old: NodeRecord, now: string, why: string): Promise<void> {
    const entry = this.nodes.get(old.name);
    if (entry) {
      this.streams.get(old.name)?.cancel();
      this.streams.delete(old.name);
      this.eventStreams.get(old.name)?.cancel();
      this.eventStreams.delete(old.name);
      entry.client.close();
      this.nodes.delete(old.name);
    }
    await this.store.delete(NODE_PREFIX + old.name);
    this.pending.delete(old.name);
    this.renames.set(old.name, now);
    this.events.emit({ kind: 'node-renamed', node: now, message: `node ${old.name} is back as ${now} (${why}); its chains move with it` });
    this.log.info('node renamed', { from: old.name, to: now, why });
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
    stream.on('data', (s: NodeStats) => {
      entry.stats = s;
      this.signals.observe(entry.name, s);
      this.fromNodes.emit('stats', entry.name);
      for (const i of s.instances) this.rates.observe(i.instanceId, s.timeMs, i.rxMsgs);
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

  /** Every instance event of the node, as a cluster event named by its
   * chain. A dropped stream is picked up again when the node re-registers. */
  private watchInstanceEvents(entry: NodeEntry): void {
    const prev = this.seen.get(entry.name);
    const sameProcess = prev !== undefined && prev.startedAtMs === entry.info.startedAtMs;
    const seen = { startedAtMs: entry.info.startedAtMs, seq: sameProcess ? prev.seq : 0 };
    this.seen.set(entry.name, seen);
    const stream = entry.client.watchInstanceEvents({ afterSeq: seen.seq });
    this.eventStreams.get(entry.name)?.cancel();
    this.eventStreams.set(entry.name, stream);
    stream.on('data', (e: InstanceEvent) => {
      if (e.seq <= seen.seq) return;
      seen.seq = e.seq;
      if (e.kind === 'demand') {
        // Not an event for people: what the autoscaler does about it is.
        // One replayed from before this control plane started is stale: a
        // gateway that still holds requests asks again every second.
        if (Date.now() - e.timeMs > DEMAND_STALE_MS) return;
        this.fromNodes.emit('demand', { node: entry.name, chainId: e.chainId, stage: e.stage, stageName: e.stageName, message: e.message });
        return;
      }
      this.fromNodes.emit('instance', entry.name, e);
      this.events.emit({
        kind: `instance-${e.kind}`,
        chain: this.chainOf(e.chainId)?.name,
        tenant: this.chainOf(e.chainId)?.tenant,
        node: entry.name,
        instance: e.instanceId,
        stage: e.stageName,
        exitCode: e.kind === 'crashed' || e.kind === 'exited' || e.kind === 'oom-killed' || e.kind === 'stuck-killed' ? e.exitCode : undefined,
        signal: e.signal || undefined,
        message: `${e.message} (node ${entry.name})`,
      });
    });
    // The stats stream notices a lost node; this one only goes quiet.
    stream.on('error', () => undefined);
  }

  private retry(rec: NodeRecord): void {
    if (this.closed) return;
    if (!this.nodes.has(rec.name)) this.pending.set(rec.name, rec);
    const t = setTimeout(() => {
      this.timers.delete(t);
      // Renamed meanwhile: the node is back under its new name.
      if (this.closed || this.renames.has(rec.name)) return;
      this.register(rec.address, rec.labels).catch(() => this.retry(rec));
    }, RECONNECT_MS);
    this.timers.add(t);
  }
}
