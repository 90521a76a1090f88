/**
 * Multi-node aggregation jobs (control/fl/DESIGN.md "Multi-node"): the
 * coordinators of one job on several nodes talk over the ferryd-to-ferryd
 * peer link (control/node/peer/), authenticated as the link is (node
 * certificates), on no port of their own. Two frame kinds:
 *
 *  - JobControl (small JSON, chainId = the job's chain):
 *      follower -> home: join, claim {id, round, client}, settled {round,
 *        client, folded, staleness}, drained {round}, lost {stage, why}
 *        (an aggregator of the follower died with sums in it)
 *      home -> follower: welcome {round}, grant {id, round, staleness},
 *        refuse {id, status, code, message}, closing {round}, same {round, as}
 *  - JobModel: a sealed model, written from the home's pool buffer where
 *    it lies and landed straight in a buffer of the follower's pool
 *    (requestId = the round it opens). Once per model per follower; a
 *    failed round's model is the previous one: `same`, no bytes.
 *
 * The rule for duplicates across nodes: the follower asks (claim) once an
 * update's body is complete, before it goes to a leaf; the home decides
 * the round as for its own uploads and holds the client's place, so two
 * nodes can never both fold one client's update. A follower counts a
 * granted update in flight as the grant arrives (before anything after it
 * on the link is read), reports it settled when its leaf answered, and
 * answers `closing R` with `drained R` once nothing of R is in flight
 * there: frames are in order per link, so every settled report of R is at
 * the home before drained R, and every UPDATE of R is folded before the
 * home's FLUSH reaches the follower's leaf.
 *
 * A follower accepts control and models of a job only from its home node;
 * the home takes claims from any node of the link.
 */
import { decodeMsg, Op } from '../../fl/wire.js';
import type { Logger } from '../../log.js';
import type { InFlight } from '../../node/peer/connection.js';
import { encodeFrame, FrameType, type Frame, type FrameHeader } from '../../node/peer/frame.js';
import type { Landing } from '../../node/peer/frame-receiver.js';
import type { PeerLink } from '../../node/peer/link.js';
import type { FollowerLink, HomeLink, JobCoordinator } from './coordinator.js';
import { SealedModel } from './models.js';
import { homeUnreachable, JobError } from './errors.js';
import type { JobDirectory } from './directory.js';
import type { Target } from './rounds.js';
import { updateBytes, type JobSpec } from './config.js';

type Msg =
  | { t: 'join' }
  | { t: 'claim'; id: number; round: number; client: string }
  | { t: 'settled'; round: number; client: string; folded: boolean; staleness: number }
  | { t: 'drained'; round: number }
  | { t: 'lost'; stage: string; why: string }
  | { t: 'welcome'; round: number }
  | { t: 'grant'; id: number; round: number; staleness: number }
  | { t: 'refuse'; id: number; status: number; code: string; message: string }
  | { t: 'closing'; round: number }
  | { t: 'same'; round: number; as: number };

/** A follower asks again this often until its home welcomed it. */
const JOIN_RETRY_MS = 300;

export interface JobFederationOptions {
  link: PeerLink;
  jobs: JobDirectory;
  log: Logger;
}

export class JobFederation {
  private readonly link: PeerLink;
  private readonly jobs: JobDirectory;
  private readonly log: Logger;
  /** Home side, by chain: the followers that joined. */
  private readonly homes = new Map<number, HomeSide>();
  /** Follower side, by chain. */
  private readonly follows = new Map<number, FollowerSide>();
  private readonly onFrame = (peer: string, f: Frame) => this.frame(peer, f);
  private readonly onUp = (peer: string) => {
    for (const f of this.follows.values()) if (f.home === peer) f.join();
  };
  private readonly onDown = (peer: string, _lost: InFlight[], reason: string) => {
    for (const h of this.homes.values()) h.lost(peer);
    for (const f of this.follows.values()) if (f.home === peer) f.lost(reason);
  };

  constructor(opts: JobFederationOptions) {
    this.link = opts.link;
    this.jobs = opts.jobs;
    this.log = opts.log.child({ part: 'job-federation' });
    this.link.on('frame', this.onFrame);
    this.link.on('up', this.onUp);
    this.link.on('down', this.onDown);
    this.link.setJobLander((peer, h) => this.landModel(peer, h));
  }

  /** Whether the node named home is a peer this node can reach. */
  knows(node: string): boolean {
    return this.link.knows(node);
  }

  /** The link a job's coordinator gets: home (spec.home) or follower. */
  linkFor(chainId: number, spec: JobSpec, bodyTimeoutMs: number): { home?: HomeLink; follower?: FollowerLink } {
    this.forget(chainId);
    const send = (peer: string, m: Msg) => this.send(peer, chainId, m);
    // The coordinator is registered under chainId once it is made; a
    // side answers nothing for a coordinator that is not (or no longer) it.
    if (spec.home) {
      const h = new HomeSide(chainId, this.link, send, () => this.jobs.of(chainId), this.log, bodyTimeoutMs, () => this.homes.get(chainId) === h && this.homes.delete(chainId));
      this.homes.set(chainId, h);
      return { home: h };
    }
    const f = new FollowerSide(spec.homeNode, this.link, send, () => this.jobs.of(chainId), () => this.follows.get(chainId) === f && this.follows.delete(chainId));
    this.follows.set(chainId, f);
    return { follower: f };
  }

  /** The job is no longer served here (or is served anew). */
  forget(chainId: number): void {
    this.homes.get(chainId)?.close();
    this.homes.delete(chainId);
    this.follows.get(chainId)?.close();
    this.follows.delete(chainId);
  }

  close(): void {
    for (const id of [...this.homes.keys(), ...this.follows.keys()]) this.forget(id);
    this.link.off('frame', this.onFrame);
    this.link.off('up', this.onUp);
    this.link.off('down', this.onDown);
    this.link.setJobLander(undefined);
  }

  private send(peer: string, chainId: number, m: Msg): boolean {
    const payload = Buffer.from(JSON.stringify(m));
    return this.link.connection(peer)?.write(encodeFrame(controlHeader(chainId), payload)) ?? false;
  }

  private frame(peer: string, f: Frame): void {
    if (f.header.type !== FrameType.JobControl) return;
    let m: Msg;
    try {
      m = JSON.parse(f.payload.toString('utf8')) as Msg;
    } catch {
      this.log.warn('job control frame that is not JSON: ignored', { peer, chain: f.header.chainId });
      return;
    }
    const chainId = f.header.chainId;
    try {
      const home = this.homes.get(chainId);
      const follow = this.follows.get(chainId);
      if (home) home.on(peer, m);
      else if (follow && peer === follow.home) follow.on(m);
      else if (m.t === 'claim') this.send(peer, chainId, { t: 'refuse', id: m.id, status: 503, code: 'homeUnreachable', message: `node ${this.link.name} is not the home of chain ${chainId}'s job (yet)` });
    } catch (err) {
      this.log.warn('job control frame could not be handled', { peer, chain: chainId, kind: m.t, error: (err as Error).message });
    }
  }

  /** A model from the home lands in a buffer of this node's pool sized
   * for the job's model; anything else cuts the link (connection.ts). */
  private landModel(peer: string, h: FrameHeader): Landing | undefined {
    const follow = this.follows.get(h.chainId);
    const job = this.jobs.of(h.chainId);
    if (!follow || !job || peer !== follow.home || h.length !== updateBytes(job.spec.paramCount)) {
      this.log.warn('job model frame refused', { peer, chain: h.chainId, bytes: h.length });
      return undefined;
    }
    let held;
    try {
      held = job.injector.lease(h.length);
    } catch (err) {
      this.log.warn('no pool buffer for a job model from the home', { peer, chain: h.chainId, error: (err as Error).message });
      return undefined;
    }
    const round = Number(h.requestId);
    return {
      into: held.bytes.subarray(0, h.length),
      landed: () => {
        const msg = decodeMsg(held.bytes);
        if (msg?.op !== Op.model || msg.paramCount !== job.spec.paramCount || this.jobs.of(h.chainId) !== job) {
          held.free();
          this.log.warn('job model frame is not the job\'s MODEL: dropped', { peer, chain: h.chainId, round });
          return;
        }
        job.homeSealed(round, new SealedModel(round, held, job.spec.paramCount));
      },
      abandon: () => held.free(),
    };
  }
}

function controlHeader(chainId: number): Omit<FrameHeader, 'length'> {
  return { type: FrameType.JobControl, chainId, stage: 0, fromStage: 0, requestId: 0n, replyTo: 0, status: 0, flags: 0, hopCount: 0 };
}

type Send = (peer: string, m: Msg) => boolean;

/** The home's followers of one job. */
class HomeSide implements HomeLink {
  private readonly followers = new Set<string>();
  private drain: { round: number; waiting: Set<string>; done: () => void } | undefined;

  constructor(
    private readonly chainId: number,
    private readonly link: PeerLink,
    private readonly send: Send,
    private readonly job: () => JobCoordinator | undefined,
    private readonly log: Logger,
    private readonly shipTimeoutMs: number,
    private readonly onClose: () => void,
  ) {}

  on(peer: string, m: Msg): void {
    const job = this.job();
    if (!job) return;
    switch (m.t) {
      case 'join': {
        this.followers.add(peer);
        const latest = job.models.latest;
        const model = job.models.get(latest);
        // Welcome first: a follower that has later rounds (this node
        // restarted) drops them before the model lands.
        this.send(peer, { t: 'welcome', round: latest });
        if (model) this.ship(peer, latest, model);
        if (job.state === 'closing') this.send(peer, { t: 'closing', round: job.round });
        this.log.info('job follower joined', { job: job.spec.name, node: peer, round: latest });
        return;
      }
      case 'claim':
        try {
          const t = job.remoteClaim(peer, m.round, m.client);
          this.send(peer, { t: 'grant', id: m.id, round: t.round, staleness: t.staleness });
        } catch (err) {
          const e = err instanceof JobError ? err : new JobError(500, 'internal', (err as Error).message, job.spec.name);
          job.count(e.code);
          this.send(peer, { t: 'refuse', id: m.id, status: e.statusCode, code: e.code, message: e.message });
        }
        return;
      case 'settled':
        job.remoteSettled(peer, m.round, m.client, m.folded, m.staleness);
        return;
      case 'lost':
        job.aggregatorLost(String(m.stage), `${String(m.why)} on node ${peer}`);
        return;
      case 'drained':
        if (this.drain?.round === m.round) {
          this.drain.waiting.delete(peer);
          if (this.drain.waiting.size === 0) this.drain.done();
        }
        return;
    }
  }

  closing(round: number): Promise<void> {
    const waiting = new Set([...this.followers].filter((p) => this.send(p, { t: 'closing', round })));
    if (waiting.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.log.warn('followers did not drain the round in time: flushing anyway', { round, nodes: [...waiting] });
        done();
      }, this.shipTimeoutMs);
      const done = () => {
        clearTimeout(timer);
        if (this.drain?.done === done) this.drain = undefined;
        resolve();
      };
      this.drain = { round, waiting, done };
    });
  }

  sealed(round: number, model: SealedModel, sameAs: number | undefined): void {
    for (const p of this.followers)
      if (sameAs !== undefined) this.send(p, { t: 'same', round, as: sameAs });
      else this.ship(p, round, model);
  }

  /** One frame, written from the sealed buffer where it lies (held as a
   * reader until the socket is done with it). */
  private ship(peer: string, round: number, model: SealedModel): void {
    const conn = this.link.connection(peer);
    if (!conn || !model.live) return;
    const release = model.acquire();
    const header = { type: FrameType.JobModel, chainId: this.chainId, stage: 0, fromStage: 0, requestId: BigInt(round), replyTo: 0, status: 0, flags: 0, hopCount: 0 };
    conn.send(header, model.message, release, Date.now() + this.shipTimeoutMs);
  }

  lost(peer: string): void {
    if (!this.followers.delete(peer)) return;
    this.job()?.followerLost(peer);
    if (this.drain?.waiting.delete(peer) && this.drain.waiting.size === 0) this.drain.done();
  }

  close(): void {
    this.drain?.done();
    this.onClose();
  }
}

/** A follower's view of its home. */
class FollowerSide implements FollowerLink {
  private welcomed = false;
  private down: string | undefined = 'has not answered yet';
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (t: Target) => void; reject: (e: Error) => void }>();
  private retry: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    readonly home: string,
    private readonly link: PeerLink,
    private readonly send: Send,
    private readonly job: () => JobCoordinator | undefined,
    private readonly onClose: () => void,
  ) {
    // After the coordinator is registered (it asks for the model, which
    // must find the job when it lands).
    queueMicrotask(() => this.join());
  }

  /** Ask the home for the job's state and models, again until welcomed
   * (the home may be programmed after this node). */
  join(): void {
    if (this.closed) return;
    clearTimeout(this.retry);
    this.send(this.home, { t: 'join' });
    this.retry = setTimeout(() => {
      if (!this.welcomed) this.join();
    }, JOIN_RETRY_MS);
  }

  unavailable(): string | undefined {
    if (!this.link.connection(this.home)) return `is not connected (${this.down ?? 'link down'})`;
    return this.welcomed ? undefined : this.down;
  }

  claim(urlRound: number, clientId: string): Promise<Target> {
    const why = this.unavailable();
    if (why) return Promise.reject(this.unreachable(why));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      if (!this.send(this.home, { t: 'claim', id, round: urlRound, client: clientId })) {
        this.pending.delete(id);
        reject(this.unreachable('is not connected'));
      }
    });
  }

  settled(round: number, clientId: string, folded: boolean, staleness: number): void {
    this.send(this.home, { t: 'settled', round, client: clientId, folded, staleness });
  }

  drained(round: number): void {
    this.send(this.home, { t: 'drained', round });
  }

  aggregatorLost(stage: string, why: string): void {
    this.send(this.home, { t: 'lost', stage, why });
  }

  on(m: Msg): void {
    const job = this.job();
    switch (m.t) {
      case 'welcome':
        job?.homeWelcome(m.round);
        this.welcomed = true;
        this.down = undefined;
        clearTimeout(this.retry);
        return;
      case 'grant': {
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        // Counted now: a `closing` read next must wait for this update.
        job?.noteGranted(m.round);
        p.resolve({ round: m.round, staleness: m.staleness });
        return;
      }
      case 'refuse': {
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        p.reject(new JobError(m.status, m.code, m.message, job?.spec.name ?? ''));
        return;
      }
      case 'closing':
        job?.homeClosing(m.round);
        return;
      case 'same':
        job?.homeSealed(m.round, m.as);
        return;
    }
  }

  /** The link to the home went down: nothing can be counted until it is back. */
  lost(reason: string): void {
    this.welcomed = false;
    this.down = `went away (${reason})`;
    const err = this.unreachable(this.down);
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  private unreachable(why: string): JobError {
    return homeUnreachable(this.job()?.spec.name ?? '', this.home, why);
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.retry);
    this.lost('the job stopped being served here');
    this.onClose();
  }
}
