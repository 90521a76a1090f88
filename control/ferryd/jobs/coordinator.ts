/**
 * One aggregation job's coordinator on its home node (control/fl/DESIGN.md
 * "Rounds"): it seals round 0's model, admits updates into the open round
 * (or, late-merge, the next), hands each to a local leaf round robin with
 * its weight, closes a round by count or deadline, FLUSHes every leaf with
 * the base model, and seals the top's MODEL reply as the next round's
 * model. Transport-free: the HTTP and gRPC doors (upload.ts, http.ts,
 * grpc.ts) stream bytes into the buffer it gives them and call submit().
 *
 * Buffers: an upload holds one pool buffer from acquireBody() until it is
 * sent to a leaf (the leaf frees it once folded) or abort()ed; models are
 * the store's (models.ts). Nothing else is held, so after any mix of good
 * and bad uploads the pool holds the live models only.
 */
import { errorCode } from '../../dataplane/native.js';
import { initialModel } from '../../fl/model.js';
import { updateWeight } from '../../fl/reference.js';
import { decodeMsg, encodeMsg, FLUSH_DISCARD, HEADER_SIZE, Op, type UpdateHeader } from '../../fl/wire.js';
import { answerOf } from '../../gateway/answer.js';
import { GatewayError, injectError, replyError } from '../../gateway/errors.js';
import { FLAG_RESPONSE } from '../../dataplane/descriptor.js';
import type { BodyWriter, HeldBuffer, Injector, Reply } from '../../gateway/injector.js';
import type { Logger } from '../../log.js';
import type { JobStats } from '../proto.js';
import { expectTop, updateBytes, type JobSpec } from './config.js';
import { asJobError, busy, duplicateUpdate, homeUnreachable, JobError, roundGone, roundNotReady } from './errors.js';
import { checkUpdateHeader } from './header.js';
import { ModelStore, SealedModel } from './models.js';
import { targetRound, type JobState, type Target } from './rounds.js';

/**
 * The home's side of a multi-node job (federation.ts): tells the
 * followers a round closes and waits until each has drained it (every
 * update it sent to a leaf for that round ACKed and reported), and ships
 * each sealed model once to each follower.
 */
export interface HomeLink {
  closing(round: number): Promise<void>;
  sealed(round: number, model: SealedModel, sameAs: number | undefined): void;
  /** The job stopped being served here. */
  close(): void;
}

/**
 * A follower's side (federation.ts): the home decides which round an
 * update counts toward and refuses duplicates across nodes (claim), and
 * hears what came of each granted one (settled) and when a closing round
 * has drained here.
 */
export interface FollowerLink {
  /** Why the home cannot be asked now (unreachable, not joined yet), else undefined. */
  unavailable(): string | undefined;
  claim(urlRound: number, clientId: string): Promise<Target>;
  settled(round: number, clientId: string, folded: boolean, staleness: number): void;
  drained(round: number): void;
  /** One of this node's aggregators died with sums in it: the home fails the round. */
  aggregatorLost(stageName: string, why: string): void;
  /** The job stopped being served here. */
  close(): void;
}

export interface CoordinatorOptions {
  spec: JobSpec;
  chainId: number;
  injector: Injector;
  log: Logger;
  /** How long a leaf may take to fold an update, and the tree to flush. */
  timeoutMs: number;
  /** How long a client may take to send an update, waiting for a buffer included. */
  bodyTimeoutMs: number;
  /**
   * The pool's quota left (bytes), and how much of it uploads must leave
   * to the aggregators' small messages (ACKs, FLUSHes, empty PARTIALs):
   * uploads are model-sized and would otherwise take the last of the quota,
   * and a leaf with no buffer for its ACK refuses the update (503 busy).
   */
  headroom?: { free(): number; reserve: number };
  /** What the coordinator tells the node (ferry events). */
  onEvent?: (kind: 'round-failed' | 'job-done', message: string) => void;
  /** A multi-node job: the home's link to its followers, or (spec.home
   * false) this follower's link to the home. */
  home?: HomeLink;
  follower?: FollowerLink;
}

/** What an admitted update was folded as. */
export interface UploadResult {
  round: number;
  staleness: number;
  weight: number;
}

/** An update whose header is in: its client holds a place in a round
 * (what makes a second update of it a duplicate) until it is cancelled. */
export class Reservation {
  private held: RoundState | undefined;

  constructor(
    readonly header: UpdateHeader,
    round: RoundState,
  ) {
    this.moveTo(round);
  }

  /** @internal the round the place is in now. */
  get round(): RoundState | undefined {
    return this.held;
  }

  /** @internal the round closed while the body arrived: the place moves. */
  moveTo(to: RoundState | undefined): void {
    this.held?.clients.delete(this.header.clientId);
    this.held = to;
    to?.clients.add(this.header.clientId);
  }

  /** Frees the place (the upload failed before it was folded). */
  cancel(): void {
    this.moveTo(undefined);
  }
}

/** The client went away mid-upload: counted, nothing answered. */
export class DisconnectedError extends Error {
  constructor() {
    super('the client went away mid-upload');
    this.name = 'DisconnectedError';
  }
}

interface RoundState {
  round: number;
  /** Clients with an update in flight or folded. */
  clients: Set<string>;
  inFlight: number;
  folded: number;
  /** When the last admitted update's body was complete (ms, monotonic). */
  lastBodyAt: number;
  openedAt: number;
  timer?: NodeJS.Timeout;
  /** An aggregator died with this round's sums in it: the round fails. */
  lost?: string;
  /** Home: updates followers were granted and have not settled, by client -> node. */
  remote?: Map<string, string>;
}

const nowMs = () => performance.now();
/** Longest a model request may wait for its round (?waitMs=, wait_ms). */
export const MAX_WAIT_MS = 60_000;
/** An upload waiting for a buffer looks again this often even unwoken. */
const BUFFER_RECHECK_MS = 250;

export class JobCoordinator {
  readonly spec: JobSpec;
  readonly chainId: number;
  readonly models = new ModelStore();
  readonly injector: Injector;
  private readonly log: Logger;
  private readonly timeoutMs: number;
  readonly bodyTimeoutMs: number;
  private readonly onEvent: CoordinatorOptions['onEvent'];
  private readonly headroom: CoordinatorOptions['headroom'];
  private readonly home: HomeLink | undefined;
  private readonly follower: FollowerLink | undefined;
  /** Follower: updates granted by the home and not answered by a leaf yet, by round. */
  private readonly granted = new Map<number, number>();
  /** Follower: a round the home closes, to report drained once nothing of it is in flight here. */
  private draining: number | undefined;
  private st: JobState = 'open';
  private open = 0;
  private readonly rounds = new Map<number, RoundState>();
  private leafTurn = 0;
  private readonly bufferWaiters = new Set<() => void>();
  private closed = false;
  /** ferry_fl_updates_total by result: accepted, lateMerged, or an error code. */
  readonly results = new Map<string, number>();
  /** Bytes copied inside ferry for this job (socket -> pool, model init). */
  bytesCopied = 0;
  lastAggregationMs = 0;
  lastRoundMs = 0;
  lastRoundUpdates = 0;
  failedRounds = 0;

  constructor(opts: CoordinatorOptions) {
    this.spec = opts.spec;
    this.chainId = opts.chainId;
    this.injector = opts.injector;
    this.log = opts.log.child({ job: opts.spec.name, tenant: opts.spec.tenant });
    this.timeoutMs = opts.timeoutMs;
    this.bodyTimeoutMs = opts.bodyTimeoutMs;
    this.onEvent = opts.onEvent;
    this.headroom = opts.headroom;
    this.home = opts.home;
    this.follower = opts.follower;
    if (!opts.spec.home && !opts.follower) throw new Error(`job ${opts.spec.name}: a follower coordinator needs a link to its home node`);
  }

  /** Seal round 0's model and open round 0 (a follower waits for the
   * home's models instead). */
  start(): void {
    if (this.follower) {
      this.log.info('job followed', { home: this.spec.homeNode, localLeaves: this.spec.localLeaves });
      return;
    }
    const P = this.spec.paramCount;
    const buf = this.injector.lease(updateBytes(P));
    encodeMsg(buf.bytes, { op: Op.model, round: 0, paramCount: P });
    const init = initialModel(this.spec.layers, P, this.spec.initSeed);
    buf.bytes.set(new Uint8Array(init.buffer, init.byteOffset, init.byteLength), HEADER_SIZE);
    this.bytesCopied += init.byteLength;
    this.models.seal(0, new SealedModel(0, buf, P));
    this.openRound(0);
    this.log.info('job started', { rounds: this.spec.rounds, clients: this.spec.clients, paramCount: P });
  }

  get state(): JobState {
    return this.st;
  }

  get round(): number {
    return this.open;
  }

  /** Bytes of one update: header + 4 * param_count. */
  get updateBytes(): number {
    return updateBytes(this.spec.paramCount);
  }

  count(result: string): void {
    this.results.set(result, (this.results.get(result) ?? 0) + 1);
  }

  /** Throws the round rule an update for round r breaks, before it takes a buffer. */
  precheck(r: number): void {
    this.homeCheck();
    targetRound(this.spec, this.st, this.open, r);
  }

  /** Follower: the home must be there to count an update. */
  private homeCheck(): void {
    const why = this.follower?.unavailable();
    if (why) throw homeUnreachable(this.spec.name, this.spec.homeNode, why);
  }

  /**
   * A pool buffer for one update. When the pool has none, waits (the
   * caller reads nothing meanwhile) until one is freed, up to timeoutMs
   * (busy), or until signal aborts (DisconnectedError).
   */
  async acquireBody(timeoutMs: number, signal?: AbortSignal): Promise<BodyWriter> {
    const started = Date.now();
    for (;;) {
      if (this.closed) throw injectError(new Error('the job stopped being served on this node'), this.spec.name, this.updateBytes);
      if (!this.headroom || this.headroom.free() >= this.updateBytes + this.headroom.reserve)
        try {
          return this.injector.openBody(this.updateBytes);
        } catch (err) {
          if (errorCode(err) !== 'EPOOL_EXHAUSTED') throw asJobError(injectError(err, this.spec.name, this.updateBytes), this.spec.name);
        }
      const left = started + timeoutMs - Date.now();
      if (left <= 0) throw busy(this.spec.name, timeoutMs);
      if (signal?.aborted) throw new DisconnectedError();
      await this.bufferFreed(Math.min(left, BUFFER_RECHECK_MS), signal);
    }
  }

  private bufferFreed(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        this.bufferWaiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal?.addEventListener('abort', done, { once: true });
      this.bufferWaiters.add(done);
    });
  }

  /** A buffer may have come free: uploads waiting for one look again. */
  wake(): void {
    for (const w of [...this.bufferWaiters]) w();
  }

  /** The header is in: check it, and hold the client's place in its round. */
  reserve(headerBytes: Uint8Array, urlRound: number): Reservation {
    const header = checkUpdateHeader(this.spec, headerBytes, urlRound);
    this.homeCheck();
    const t = targetRound(this.spec, this.st, this.open, urlRound);
    const rs = this.roundState(t.round);
    if (rs.clients.has(header.clientId)) throw duplicateUpdate(this.spec.name, header.clientId, t.round);
    return new Reservation(header, rs);
  }

  /**
   * The whole update is in writer: rewrite its header in place as an
   * UPDATE message with its weight, send it to the next local leaf, and
   * resolve once the leaf folded it (a leaf's refusal, e.g. 422
   * nonFiniteUpdate, rejects). The buffer is the leaf's from here.
   */
  async submit(writer: BodyWriter, reservation: Reservation): Promise<UploadResult> {
    const res = reservation;
    const h = res.header;
    let rs: RoundState;
    let staleness: number;
    try {
      // The round may have closed while the body arrived.
      const t = targetRound(this.spec, this.st, this.open, h.round);
      rs = this.roundState(t.round);
      staleness = t.staleness;
      if (res.round !== rs) {
        if (rs.clients.has(h.clientId)) throw duplicateUpdate(this.spec.name, h.clientId, rs.round);
        res.moveTo(rs);
      }
      if (this.follower) {
        // The home decides (its rounds, duplicates across nodes); granted()
        // counted the update in flight here before this continues.
        const g = await this.follower.claim(h.round, h.clientId);
        staleness = g.staleness;
        const to = this.roundState(g.round);
        if (res.round !== to) {
          if (to.clients.has(h.clientId)) {
            this.ungrant(g.round);
            this.follower.settled(g.round, h.clientId, false, g.staleness);
            throw duplicateUpdate(this.spec.name, h.clientId, g.round);
          }
          res.moveTo(to);
        }
        rs = to;
      }
    } catch (err) {
      res.cancel();
      writer.abort();
      this.wake();
      throw err;
    }
    const weight = updateWeight(h.numExamples, this.spec.weighting, staleness);
    encodeMsg(writer.bytes(), { op: Op.update, round: rs.round, paramCount: this.spec.paramCount, weight });
    rs.inFlight++;
    rs.lastBodyAt = nowMs();
    const leaf = this.nextLeaf();
    let reply: Reply;
    try {
      reply = await writer.send(leaf, { timeoutMs: this.timeoutMs });
    } catch (err) {
      this.settle(rs, res, false);
      throw asJobError(injectError(err, this.spec.name, this.updateBytes), this.spec.name);
    }
    try {
      const msg = decodeMsg(messageOf(reply, this.spec.name));
      if (!msg || msg.op !== Op.ack) throw new GatewayError(502, 'badReply', `leaf stage ${leaf} answered an UPDATE with ${msg ? `op ${msg.op}` : 'no message'}, not ACK`);
    } catch (err) {
      this.settle(rs, res, false);
      throw err instanceof GatewayError ? asJobError(err, this.spec.name) : err;
    }
    this.settle(rs, res, true, staleness);
    this.count(staleness > 0 ? 'lateMerged' : 'accepted');
    return { round: rs.round, staleness, weight };
  }

  private settle(rs: RoundState, res: Reservation, folded: boolean, staleness = 0): void {
    rs.inFlight--;
    if (folded) rs.folded++;
    else res.cancel();
    this.wake();
    if (this.follower) {
      this.follower.settled(rs.round, res.header.clientId, folded, staleness);
      this.ungrant(rs.round);
    } else this.maybeClose(rs);
  }

  // ---- follower: what the home says ----

  /** The home granted an update for round (counted before the claim's
   * continuation runs, so a close read right after it waits for it). */
  noteGranted(round: number): void {
    this.granted.set(round, (this.granted.get(round) ?? 0) + 1);
  }

  private ungrant(round: number): void {
    const n = (this.granted.get(round) ?? 1) - 1;
    if (n > 0) this.granted.set(round, n);
    else this.granted.delete(round);
    this.maybeDrained();
  }

  /** The home closes round: refuse (or move on) updates for it here, and
   * report drained once those sent to a leaf are ACKed. */
  homeClosing(round: number): void {
    if (round === this.open && this.st === 'open') this.st = 'closing';
    this.draining = round;
    this.maybeDrained();
  }

  private maybeDrained(): void {
    const r = this.draining;
    if (r === undefined || this.granted.has(r)) return;
    this.draining = undefined;
    this.follower?.drained(r);
  }

  /** The home welcomed this node at its latest round: behind what this
   * node has, it started over (a restarted ferryd runs the job from round
   * 0): what this node had of the old run goes, the home's models follow. */
  homeWelcome(round: number): void {
    if (round >= this.models.latest) return;
    this.log.warn('the home started the job over: dropping the models of its previous run', { had: this.models.latest, home: round });
    this.models.reset();
    this.rounds.clear();
    this.open = round;
    this.st = 'open';
  }

  /** The home sealed round's model (shipped here, or the same buffer as
   * sameAs's): serve it, and take updates for round. */
  homeSealed(round: number, model: SealedModel | number): void {
    if (round <= this.models.latest) {
      if (typeof model !== 'number') model.drop();
      return;
    }
    const m = typeof model === 'number' ? this.models.get(model) : model;
    if (!m) throw new Error(`round ${round}'s model is round ${String(model)}'s, which this node does not have`);
    this.models.seal(round, m);
    for (const r of this.rounds.keys()) if (r < round - this.spec.maxStaleness - 1) this.rounds.delete(r);
    if (round >= this.spec.rounds) {
      this.st = 'done';
      this.open = this.spec.rounds;
    } else {
      this.open = round;
      this.st = 'open';
    }
    this.wake();
  }

  // ---- home: what followers say ----

  /** A follower's update has its header and body in: which round it
   * counts toward, its place held here (duplicates across nodes are
   * refused here, the one place that sees every node's). Throws the rule
   * it breaks. */
  remoteClaim(node: string, urlRound: number, clientId: string): Target {
    if (this.closed) throw new JobError(503, 'busy', 'the job stopped being served on its home node', this.spec.name);
    const t = targetRound(this.spec, this.st, this.open, urlRound);
    const rs = this.roundState(t.round);
    if (rs.clients.has(clientId)) throw duplicateUpdate(this.spec.name, clientId, t.round);
    rs.clients.add(clientId);
    rs.inFlight++;
    (rs.remote ??= new Map()).set(clientId, node);
    return t;
  }

  /** A granted update was folded by the follower's leaf (counts toward
   * the close) or refused (the client may send again). */
  remoteSettled(node: string, round: number, clientId: string, folded: boolean, staleness: number): void {
    const rs = this.rounds.get(round);
    if (!rs || rs.remote?.get(clientId) !== node) return;
    rs.remote.delete(clientId);
    rs.inFlight--;
    if (folded) {
      rs.folded++;
      rs.lastBodyAt = nowMs();
      this.count(staleness > 0 ? 'lateMerged' : 'accepted');
    } else rs.clients.delete(clientId);
    this.maybeClose(rs);
  }

  /** A follower went away: what it had in flight will never settle (its
   * leaf is out of reach too, so the round's flush fails). */
  followerLost(node: string): void {
    for (const rs of this.rounds.values())
      for (const [client, n] of rs.remote ?? [])
        if (n === node) {
          rs.remote!.delete(client);
          rs.inFlight--;
        }
  }

  /**
   * An aggregator instance of the job died (crash, OOM, stuck kill): the
   * sums it held for the open rounds are gone, so those rounds cannot be
   * FedAvg of what they admitted; they fail at close (model carried
   * forward) rather than seal a model missing updates that were ACKed.
   */
  aggregatorLost(stageName: string, why: string): void {
    if (this.st === 'done' || this.closed) return;
    // The home owns the rounds; a restarted leaf would answer its FLUSH
    // with an empty partial, silently missing what it had folded.
    if (this.follower) return this.follower.aggregatorLost(stageName, why);
    for (const r of [this.open, this.open + 1]) {
      const rs = this.rounds.get(r);
      if (rs && (rs.folded > 0 || rs.inFlight > 0 || stageName === 'top' || stageName.startsWith('mid-'))) rs.lost ??= `${stageName} ${why}`;
    }
    if (this.st === 'open') this.roundState(this.open).lost ??= `${stageName} ${why}`;
    this.log.warn('an aggregator died: the open round will fail', { stage: stageName, why, round: this.open });
  }

  private nextLeaf(): number {
    const leaves = this.spec.localLeaves;
    const leaf = leaves[this.leafTurn % leaves.length]!;
    this.leafTurn = (this.leafTurn + 1) % leaves.length;
    return leaf;
  }

  private roundState(round: number): RoundState {
    let rs = this.rounds.get(round);
    if (!rs) {
      rs = { round, clients: new Set(), inFlight: 0, folded: 0, lastBodyAt: 0, openedAt: 0 };
      this.rounds.set(round, rs);
    }
    return rs;
  }

  private openRound(round: number): void {
    this.open = round;
    this.st = 'open';
    const rs = this.roundState(round);
    rs.openedAt = nowMs();
    rs.timer = setTimeout(() => this.onDeadline(rs), this.spec.roundDeadlineMs);
    // Late updates merged while the previous round closed may fill it already.
    this.maybeClose(rs);
  }

  /** Closes the open round once `clients` updates are folded. */
  private maybeClose(rs: RoundState): void {
    if (this.st !== 'open' || rs.round !== this.open || this.closed) return;
    if (rs.folded >= this.spec.clients) void this.closeRound(rs, false);
  }

  private onDeadline(rs: RoundState): void {
    if (this.st !== 'open' || rs.round !== this.open) return;
    // Updates sent to a leaf before the FLUSH are folded before it.
    const admitted = rs.folded + rs.inFlight;
    void this.closeRound(rs, admitted < this.spec.quorum);
  }

  /**
   * FLUSH every leaf with the round's base model; the top's MODEL reply is
   * the next round's model. A round under quorum at its deadline FLUSHes
   * with DISCARD, so the leaves free what they summed; it (and a round
   * whose flush did not come back) fails: its model is the base, by
   * reference.
   */
  private async closeRound(rs: RoundState, underQuorum: boolean): Promise<void> {
    this.st = 'closing';
    const closingAt = nowMs();
    clearTimeout(rs.timer);
    // Followers stop admitting the round and drain it first: their
    // updates must be folded in their leaves before the FLUSH gets there.
    if (this.home) await this.home.closing(rs.round);
    if (this.closed) return;
    const base = this.models.get(rs.round)!;
    const unpin = base.acquire(); // the top reads it until the MODEL is out
    const expect = expectTop(this.spec);
    // Each leaf's answer is read as it arrives: the ACKs of the partials the
    // top folded give their 47 MB buffers back (a hole punched per buffer,
    // 10-20 ms each) while the top still folds, not in a row after its MODEL.
    const flushes: Promise<SealedModel | string | undefined>[] = [];
    for (const g of this.spec.groups)
      for (const leaf of g.leaves) {
        const msg = new Uint8Array(HEADER_SIZE);
        encodeMsg(msg, {
          op: Op.flush,
          round: rs.round,
          expectParent: g.leaves.length,
          expectTop: expect,
          baseOffset: base.offset,
          baseGeneration: base.generation,
          flags: underQuorum || rs.lost ? FLUSH_DISCARD : 0,
        });
        flushes.push(
          this.injector.request(leaf, msg, { timeoutMs: this.timeoutMs, borrow: { onRevoke: () => undefined } }).then((reply) => this.sealedFrom(reply, rs.round)),
        );
      }
    const settled = await Promise.allSettled(flushes);
    unpin();
    let model: SealedModel | undefined;
    let problem: string | undefined;
    for (const s of settled) {
      if (s.status === 'rejected') {
        problem ??= (s.reason as Error).message;
        continue;
      }
      const held = s.value;
      if (typeof held === 'string') problem ??= held;
      else if (held) model = held;
    }
    if (!model && !problem && !underQuorum && !rs.lost) problem = 'no aggregator answered the flush with a MODEL';
    if (rs.lost && !problem) problem = `aggregator ${rs.lost} with the round's sums`;
    const failed = underQuorum || problem !== undefined;
    const sealedAt = nowMs();
    if (this.closed) return model?.drop();
    if (failed) {
      model?.drop();
      this.failedRounds++;
      const why = underQuorum
        ? `${rs.folded + rs.inFlight} updates by the deadline (${this.spec.roundDeadlineMs} ms), fewer than the quorum of ${this.spec.quorum}`
        : `the aggregators did not produce its model: ${problem}`;
      this.log.warn('round failed: the next round starts from the same model', { round: rs.round, why });
      this.onEvent?.('round-failed', `job ${this.spec.name} round ${rs.round} failed: ${why}; round ${rs.round + 1} starts from the same model`);
    }
    this.models.seal(rs.round + 1, failed ? base : model!);
    this.home?.sealed(rs.round + 1, failed ? base : model!, failed ? rs.round : undefined);
    this.lastRoundMs = sealedAt - rs.openedAt;
    this.lastAggregationMs = rs.lastBodyAt > 0 ? sealedAt - rs.lastBodyAt : 0;
    this.lastRoundUpdates = rs.folded;
    this.rounds.delete(rs.round);
    this.wake();
    this.log.info('round sealed', {
      round: rs.round,
      updates: rs.folded,
      failed,
      aggregationMs: Math.round(this.lastAggregationMs * 100) / 100,
      // Where aggregation time goes: the leaves' backlog of folds after the
      // last body came in, then the flush through the tree to the sealed model.
      foldBacklogMs: rs.lastBodyAt > 0 ? Math.round((closingAt - rs.lastBodyAt) * 100) / 100 : 0,
      flushMs: Math.round((sealedAt - closingAt) * 100) / 100,
      roundMs: Math.round(this.lastRoundMs * 100) / 100,
    });
    if (rs.round + 1 >= this.spec.rounds) {
      this.st = 'done';
      this.open = this.spec.rounds;
      this.onEvent?.('job-done', `job ${this.spec.name} finished its ${this.spec.rounds} rounds`);
      return;
    }
    this.openRound(rs.round + 1);
  }

  /** A flush's reply: the MODEL (held as a sealed model), undefined for an
   * ACK (given back at once), or what is wrong with it. */
  private sealedFrom(reply: Reply, round: number): SealedModel | string | undefined {
    let msg;
    try {
      const bytes = messageOf(reply, this.spec.name);
      msg = decodeMsg(bytes);
      if (msg?.op === Op.model) {
        if (msg.paramCount !== this.spec.paramCount || bytes.byteLength < this.updateBytes) {
          reply.release();
          return `the MODEL has ${msg.paramCount} values in ${bytes.byteLength} bytes, the job ${this.spec.paramCount}`;
        }
        // Kept for as long as a round names it: no deadline.
        reply.holdUntil(0);
        const held: HeldBuffer = { offset: reply.offset, generation: reply.generation, bytes, free: () => reply.release() };
        return new SealedModel(round + 1, held, this.spec.paramCount);
      }
    } catch (err) {
      reply.release();
      return (err as Error).message;
    }
    reply.release();
    return msg?.op === Op.ack ? undefined : `an aggregator answered a FLUSH with ${msg ? `op ${msg.op}` : 'no message'}`;
  }

  /**
   * Round's sealed model, waiting up to waitMs for one not sealed yet;
   * throws roundGone (no longer kept), roundNotReady (not sealed in
   * time) or unknownRound (past the job's last model).
   */
  async sealedModel(round: number, waitMs: number, signal?: AbortSignal): Promise<SealedModel> {
    const name = this.spec.name;
    if (round > this.spec.rounds) throw new JobError(404, 'unknownRound', `the job has rounds 0..${this.spec.rounds} (the last model is round ${this.spec.rounds}'s)`, name);
    let m = this.models.get(round);
    if (!m && round > this.models.latest) m = await this.models.waitFor(round, Math.min(MAX_WAIT_MS, Math.max(0, waitMs)), signal);
    if (m?.live) return m;
    if (round <= this.models.latest) throw roundGone(name, round, this.models.latest);
    throw roundNotReady(name, round, Math.max(1, Math.ceil(this.spec.roundDeadlineMs / 1000)));
  }

  stats(): JobStats {
    const rejected: Record<string, number> = {};
    for (const [k, v] of this.results) if (k !== 'accepted' && k !== 'lateMerged') rejected[k] = v;
    return {
      name: this.spec.name,
      tenant: this.spec.tenant,
      round: this.open,
      state: this.st,
      accepted: (this.results.get('accepted') ?? 0) + (this.results.get('lateMerged') ?? 0),
      lateMerged: this.results.get('lateMerged') ?? 0,
      rejected,
      lastAggregationMs: this.lastAggregationMs,
      lastRoundMs: this.lastRoundMs,
      lastRoundUpdates: this.lastRoundUpdates,
      modelBytes: 4 * this.spec.paramCount,
      failedRounds: this.failedRounds,
    };
  }

  /** Stop: timers cleared, models given back (the pool goes next). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.home?.close();
    this.follower?.close();
    for (const rs of this.rounds.values()) clearTimeout(rs.timer);
    this.models.close();
    this.wake();
  }
}

/** An aggregator's message (a plain reply: ACK, MODEL), as is and never
 * sniffed for a content type (a model is tens of MB); its errors (422
 * nonFiniteUpdate, ...) as the GatewayError they stand for. */
function messageOf(reply: Reply, job: string): Uint8Array {
  if ((reply.flags & FLAG_RESPONSE) !== 0) return answerOf(reply, job).body;
  const failed = replyError(reply, job);
  if (failed) throw failed;
  return reply.body;
}

