/**
 * ferry.fl.v1.Aggregation (control/proto/ferry/fl/v1/fl.proto) on ferryd's
 * --fl-grpc address: the job API for clients with models too large for one
 * HTTP body. Same jobs, rounds, checks and errors as the HTTP door:
 *
 *   Upload: chunks are copied into the update's pool buffer as they
 *   arrive (the next is not read while none is free: HTTP/2 flow control
 *   holds the client), the header checked the moment it is in.
 *   Download: the sealed model in chunks serialized straight from its pool
 *   buffer, with a reader's hold on it until the stream ends or is
 *   cancelled.
 *
 * Errors carry ferry's code in the "ferry-error-code" trailing metadata.
 * Like the HTTP gateway, the port is plain (the clients are trainers, not
 * members of the cluster): put it behind TLS termination when exposed.
 */
import { Metadata, Server, ServerCredentials, type ServerReadableStream, type ServerWritableStream, type ServiceError, type sendUnaryData } from '@grpc/grpc-js';
import { DEFAULT_TENANT } from '../../chain/tenant.js';
import { native } from '../../dataplane/native.js';
import { GatewayError } from '../../gateway/errors.js';
import { GRACE_MS } from '../../gateway/injector.js';
import type { Logger } from '../../log.js';
import type { DownloadRequest__Output as DownloadRequest } from '../../proto/gen/ferry/fl/v1/DownloadRequest.js';
import type { ModelChunk } from '../../proto/gen/ferry/fl/v1/ModelChunk.js';
import type { UploadChunk__Output as UploadChunk } from '../../proto/gen/ferry/fl/v1/UploadChunk.js';
import type { UploadResult } from '../../proto/gen/ferry/fl/v1/UploadResult.js';
import { formatHostPort, parseHostPort } from '../address.js';
import { aggregationService, FL_ERROR_CODE_METADATA } from '../../fl/proto.js';
import { DisconnectedError, type JobCoordinator } from './coordinator.js';
import type { JobDirectory } from './directory.js';
import { grpcStatusOf, JobError, unknownJob } from './errors.js';
import { CheckedWriter } from './upload.js';

const DEFAULT_CHUNK = 1 << 20;
const MAX_CHUNK = 4 << 20;
/** A client's chunks may be up to this big (grpc-js's default is 4 MiB). */
export const MAX_MESSAGE_BYTES = 16 << 20;

/** A job error as a gRPC status with ferry's code in the trailers. */
export function grpcError(err: unknown): Partial<ServiceError> {
  const e = err instanceof GatewayError ? err : new GatewayError(500, 'internal', (err as Error)?.message ?? String(err));
  const metadata = new Metadata();
  metadata.set(FL_ERROR_CODE_METADATA, e.code);
  return { code: grpcStatusOf(e.code, e.statusCode), details: e.message, metadata };
}

class BodyTimeout extends Error {}

export function aggregationHandlers(jobs: JobDirectory, log: Logger) {
  const find = (name: string, tenant: string): JobCoordinator => {
    const j = jobs.lookup(name, tenant || DEFAULT_TENANT);
    if (!j) throw unknownJob(name);
    return j;
  };

  async function upload(call: ServerReadableStream<UploadChunk, UploadResult>): Promise<UploadResult> {
    const gone = new AbortController();
    call.once('cancelled', () => gone.abort());
    const chunks = call[Symbol.asyncIterator]() as AsyncIterator<UploadChunk>;
    // A cancelled call or a body timeout stops the wait for the next chunk.
    const stopped = new Promise<IteratorResult<UploadChunk>>((resolve) =>
      gone.signal.addEventListener('abort', () => resolve({ done: true, value: undefined }), { once: true }),
    );
    const first = await chunks.next();
    if (first.done) throw new JobError(400, 'badTensorSize', 'the upload carried no message: the first names the job and round', '');
    let job: JobCoordinator;
    try {
      job = find(first.value.job, first.value.tenant);
    } catch (err) {
      jobs.unknownUploads++;
      throw err;
    }
    const round = first.value.round;
    try {
      job.precheck(round);
      const started = Date.now();
      // Until a buffer is ours nothing more is read: the client waits in HTTP/2 flow control.
      const writer = new CheckedWriter(await job.acquireBody(job.bodyTimeoutMs, gone.signal), job, round);
      const left = Math.max(1, job.bodyTimeoutMs - (Date.now() - started));
      writer.holdUntil((native.nowMs() + left + GRACE_MS) >>> 0 || 1);
      const timer = setTimeout(() => gone.abort(new BodyTimeout()), left);
      try {
        let chunk: UploadChunk | undefined = first.value;
        while (chunk) {
          if (!writer.write(chunk.data)) {
            if (writer.refused !== undefined) throw writer.refused;
            throw new JobError(400, 'badTensorSize', `the upload is longer than ${job.updateBytes} bytes, one update of this job`, job.spec.name);
          }
          if (gone.signal.aborted) break;
          const n = await Promise.race([chunks.next(), stopped]);
          chunk = n.done ? undefined : n.value;
        }
        // A client's cancel may end the message stream just before grpc-js
        // says it was cancelled: a short upload looks again after a moment.
        if (writer.length < job.updateBytes && !gone.signal.aborted) await new Promise((r) => setTimeout(r, 20));
        if (gone.signal.aborted || call.cancelled) {
          if (gone.signal.reason instanceof BodyTimeout)
            throw new JobError(408, 'bodyTimeout', `the update did not arrive within ${job.bodyTimeoutMs} ms`, job.spec.name);
          throw new DisconnectedError();
        }
      } catch (err) {
        writer.abort();
        throw call.cancelled ? new DisconnectedError() : err;
      } finally {
        clearTimeout(timer);
      }
      const result = await writer.submit();
      return result;
    } catch (err) {
      job.count(err instanceof JobError ? err.code : err instanceof DisconnectedError ? 'disconnected' : 'internal');
      throw err;
    }
  }

  async function download(call: ServerWritableStream<DownloadRequest, ModelChunk>): Promise<void> {
    const req = call.request;
    const job = find(req.job, req.tenant);
    const gone = new AbortController();
    call.once('cancelled', () => gone.abort());
    const model = await job.sealedModel(req.round, req.waitMs, gone.signal);
    const release = model.acquire();
    call.once('cancelled', release);
    try {
      const params = model.params;
      const size = Math.min(MAX_CHUNK, req.chunkBytes || DEFAULT_CHUNK);
      for (let at = 0; at < params.byteLength || at === 0; at += size) {
        if (gone.signal.aborted) return;
        const end = Math.min(params.byteLength, at + size);
        // Serialized from the pool view as it is written: no copy before.
        const data = Buffer.from(params.buffer, params.byteOffset + at, end - at);
        const more = call.write(at === 0 ? { round: req.round, paramCount: job.spec.paramCount, data } : { data });
        if (!more) await new Promise<void>((resolve) => {
          const done = () => (call.off('drain', done), gone.signal.removeEventListener('abort', done), resolve());
          call.on('drain', done);
          gone.signal.addEventListener('abort', done, { once: true });
        });
        if (end === params.byteLength) break;
      }
    } finally {
      release();
    }
  }

  return {
    Upload: (call: ServerReadableStream<UploadChunk, UploadResult>, callback: sendUnaryData<UploadResult>) => {
      upload(call).then(
        (r) => callback(null, r),
        (err: unknown) => {
          if (err instanceof DisconnectedError) return callback(grpcError(new GatewayError(499, 'disconnected', err.message)));
          if (!(err instanceof GatewayError)) log.error('FL upload failed inside ferryd', { error: (err as Error)?.message });
          callback(grpcError(err));
        },
      );
    },
    Download: (call: ServerWritableStream<DownloadRequest, ModelChunk>) => {
      download(call).then(
        () => call.end(),
        (err: unknown) => {
          if (!(err instanceof GatewayError)) log.error('FL download failed inside ferryd', { error: (err as Error)?.message });
          call.emit('error', grpcError(err));
        },
      );
    },
  };
}

export interface FlGrpcServer {
  address: string;
  close(): Promise<void>;
}

/** Serve ferry.fl.v1.Aggregation for the node's jobs on address (port 0 ok). */
export async function startFlGrpc(address: string, jobs: JobDirectory, log: Logger): Promise<FlGrpcServer> {
  const at = parseHostPort(address, '--fl-grpc address');
  const server = new Server({ 'grpc.max_receive_message_length': MAX_MESSAGE_BYTES });
  server.addService(aggregationService, aggregationHandlers(jobs, log.child({ part: 'fl-grpc' })));
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(formatHostPort(at), ServerCredentials.createInsecure(), (err, p) => (err ? reject(new Error(`--fl-grpc: cannot listen on ${address}: ${err.message}`)) : resolve(p))),
  );
  return {
    address: formatHostPort({ host: at.host, port }),
    close: () =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(() => (server.forceShutdown(), resolve()), 2000);
        server.tryShutdown(() => (clearTimeout(timer), resolve()));
      }),
  };
}
