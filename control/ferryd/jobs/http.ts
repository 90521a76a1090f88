/**
 * The job routes of the node's HTTP gateway (control/fl/DESIGN.md "Client
 * API"), under / and /tenants/:tenant/ like chains:
 *
 *   POST /jobs/J/rounds/R/updates   an update (64-byte header + float32s)
 *   GET  /jobs/J/rounds/R/model     round R's model, float32 bytes [?waitMs=]
 *   GET  /jobs/J/model              the latest sealed model
 *   GET  /jobs/J                    the job's status (JSON)
 *
 * Models are written straight from their pool buffer (reply-out.ts), one
 * buffer for every reader; an update is read straight into one.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Readable } from 'node:stream';
import { DEFAULT_TENANT } from '../../chain/tenant.js';
import { BodyTimeoutError } from '../../gateway/body-stream.js';
import { sendError } from '../../gateway/edges.js';
import { bodyTimeout, GatewayError } from '../../gateway/errors.js';
import { ReplyOut } from '../../gateway/reply-out.js';
import type { Logger } from '../../log.js';
import { DisconnectedError, type JobCoordinator } from './coordinator.js';
import type { JobDirectory } from './directory.js';
import { JobError, unknownJob } from './errors.js';
import type { SealedModel } from './models.js';
import { uploadFromStream } from './upload.js';

export interface JobRouteOptions {
  jobs: JobDirectory;
  log: Logger;
  minBytesPerSec?: number;
  /** How long a client may take to read a model. */
  replyTimeoutMs?: number;
}

const DEFAULT_REPLY_TIMEOUT_MS = 60_000;
const ROUND = /^\d{1,9}$/;

type JobRequest = FastifyRequest<{ Params: { name: string; tenant?: string; round?: string }; Querystring: Record<string, string | undefined> }>;

export function registerJobRoutes(app: FastifyInstance, o: JobRouteOptions): void {
  const log = o.log.child({ component: 'jobs' });
  const replyTimeoutMs = o.replyTimeoutMs ?? DEFAULT_REPLY_TIMEOUT_MS;

  const jobOf = (req: JobRequest): JobCoordinator => {
    const j = o.jobs.lookup(req.params.name, req.params.tenant ?? DEFAULT_TENANT);
    if (!j) throw unknownJob(req.params.name);
    return j;
  };
  const roundOf = (req: JobRequest, job: JobCoordinator): number => {
    const r = req.params.round ?? '';
    if (!ROUND.test(r)) throw new JobError(400, 'badRound', `"${r}" is not a round number (0, 1, ...)`, job.spec.name);
    return Number(r);
  };
  const fail = (reply: FastifyReply, err: unknown) => {
    if (err instanceof GatewayError) return sendError(reply, err);
    log.error('job request failed inside the gateway', { error: (err as Error)?.message ?? String(err) });
    return sendError(reply, new GatewayError(500, 'internal', 'the gateway failed on this request: see its log'));
  };

  const postUpdate = async (req: JobRequest, reply: FastifyReply) => {
    let job: JobCoordinator | undefined;
    try {
      job = o.jobs.lookup(req.params.name, req.params.tenant ?? DEFAULT_TENANT);
      if (!job) {
        o.jobs.unknownUploads++;
        throw unknownJob(req.params.name);
      }
      let round: number;
      try {
        round = roundOf(req, job);
      } catch (err) {
        job.count('badRound');
        throw err;
      }
      const gone = new AbortController();
      reply.raw.once('close', () => {
        if (!reply.raw.writableEnded) gone.abort();
      });
      const cl = req.headers['content-length'];
      const declared = cl === undefined ? undefined : Number(cl);
      const result = await uploadFromStream(job, round, req.body as Readable | undefined, declared, { bodyTimeoutMs: job.bodyTimeoutMs, minBytesPerSec: o.minBytesPerSec }, gone.signal);
      return reply.code(200).send(result);
    } catch (err) {
      if (err instanceof DisconnectedError) {
        log.debug('client went away mid-upload', { job: job?.spec.name });
        reply.raw.destroy();
        return reply;
      }
      if (err instanceof BodyTimeoutError) return sendError(reply.header('connection', 'close'), bodyTimeout(job?.spec.name ?? '', err.message));
      return fail(reply, err);
    }
  };

  /** Writes a sealed model from its pool buffer; the reader's hold on it
   * ends when the response is done or its connection closes. */
  const sendModel = (reply: FastifyReply, job: JobCoordinator, model: SealedModel, round: number) => {
    const release = model.acquire();
    const out = new ReplyOut(reply.raw, replyTimeoutMs, (f) => log.info('client too slow to read a model: connection closed', { job: job.spec.name, ...f }));
    const body = model.params;
    if (!out.writing({ body, release, holdUntil: () => undefined })) return reply;
    return reply
      .code(200)
      .header('content-type', 'application/octet-stream')
      .header('x-ferry-round', String(round))
      .header('x-ferry-param-count', String(job.spec.paramCount))
      .send(Buffer.from(body.buffer, body.byteOffset, body.byteLength));
  };

  const getRoundModel = async (req: JobRequest, reply: FastifyReply) => {
    try {
      const job = jobOf(req);
      const round = roundOf(req, job);
      const gone = new AbortController();
      reply.raw.once('close', () => gone.abort());
      const model = await job.sealedModel(round, Number(req.query.waitMs ?? 0) || 0, gone.signal);
      return sendModel(reply, job, model, round);
    } catch (err) {
      return fail(reply, err);
    }
  };

  const getLatestModel = async (req: JobRequest, reply: FastifyReply) => {
    try {
      const job = jobOf(req);
      const round = job.models.latest;
      return sendModel(reply, job, await job.sealedModel(round, 0), round);
    } catch (err) {
      return fail(reply, err);
    }
  };

  const getStatus = async (req: JobRequest, reply: FastifyReply) => {
    try {
      const job = jobOf(req);
      const s = job.stats();
      return reply.send({
        name: s.name,
        tenant: s.tenant || DEFAULT_TENANT,
        round: s.round,
        state: s.state,
        paramCount: job.spec.paramCount,
        rounds: job.spec.rounds,
        clients: job.spec.clients,
        quorum: job.spec.quorum,
        accepted: s.accepted,
        lateMerged: s.lateMerged,
        rejected: s.rejected,
        lastAggregationMs: s.lastAggregationMs,
        lastRoundMs: s.lastRoundMs,
        lastRoundUpdates: s.lastRoundUpdates,
        failedRounds: job.failedRounds,
        bytesCopied: job.bytesCopied,
      });
    } catch (err) {
      return fail(reply, err);
    }
  };

  for (const prefix of ['', '/tenants/:tenant']) {
    app.post(`${prefix}/jobs/:name/rounds/:round/updates`, postUpdate);
    app.get(`${prefix}/jobs/:name/rounds/:round/model`, getRoundModel);
    app.get(`${prefix}/jobs/:name/model`, getLatestModel);
    app.get(`${prefix}/jobs/:name`, getStatus);
  }
}
