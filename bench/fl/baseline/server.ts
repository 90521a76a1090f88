/**
 * The baseline's gRPC door (aggregator.proto) in front of FedAvgRounds: one
 * grpc-js server, one process, every update kept in its heap until the
 * round closes. Errors go back as gRPC statuses with ferry's error code in
 * the trailing metadata, so clients handle both systems' refusals alike.
 */
import { Metadata, Server, ServerCredentials, type sendUnaryData, type ServerReadableStream, type ServerUnaryCall, type ServerWritableStream } from '@grpc/grpc-js';
import { once } from 'node:events';
import { HEADER_SIZE } from '../../../control/fl/wire.js';
import { FedAvgRounds, FlError, type Rules, type Upload } from './fedavg.js';
import { AggregatorService, CHANNEL_OPTIONS, DEFAULT_CHUNK_BYTES, ERROR_CODE_KEY, grpcStatusOf, type ModelChunk, type ModelRequest, type StatusReply, type UpdateChunk, type UploadReply } from './proto.js';

/** The longest a Download may wait for a round (as ferry's waitMs cap). */
const MAX_WAIT_MS = 60_000;

export interface RunningBaseline {
  readonly port: number;
  readonly rounds: FedAvgRounds;
  close(): Promise<void>;
}

function asGrpcError(err: unknown): Error & { code: number; details: string; metadata: Metadata } {
  const fl = err instanceof FlError ? err : new FlError('internal', (err as Error).message);
  const metadata = new Metadata();
  metadata.set(ERROR_CODE_KEY, fl.code);
  return Object.assign(new Error(fl.message), { code: grpcStatusOf(fl.code), details: `${fl.code}: ${fl.message}`, metadata });
}

/** Client-streamed upload: header first, then the tensor copied into the
 * update the server keeps. */
function upload(rounds: FedAvgRounds) {
  return (call: ServerReadableStream<UpdateChunk, UploadReply>, cb: sendUnaryData<UploadReply>) => {
    let round = -1;
    let header = Buffer.alloc(0);
    let u: Upload | undefined;
    let settled = false;
    const fail = (err: unknown) => {
      if (settled) return;
      settled = true;
      cb(asGrpcError(err));
    };
    call.on('data', (chunk: UpdateChunk) => {
      if (settled) return;
      try {
        if (round < 0) round = chunk.round;
        let data = chunk.data;
        if (!u) {
          const need = HEADER_SIZE - header.byteLength;
          header = Buffer.concat([header, data.subarray(0, need)]);
          data = data.subarray(need);
          if (header.byteLength < HEADER_SIZE) return;
          u = rounds.begin(round, header);
        }
        if (data.byteLength > 0) rounds.fill(u, data);
      } catch (err) {
        fail(err);
      }
    });
    // A cancelled call (RST_STREAM) ends its stream too, and grpc-js says
    // 'cancelled' only after: give it a moment before judging the length.
    call.on('end', () => setTimeout(() => {
      if (settled || call.cancelled) return;
      try {
        if (!u) throw rounds.reject('badHeader', `an update starts with a ${HEADER_SIZE}-byte header; got ${header.byteLength} bytes in all`);
        const r = rounds.finish(u);
        settled = true;
        cb(null, r);
      } catch (err) {
        fail(err);
      }
    }, u && u.filled < u.tensor.byteLength ? 20 : 0));
    const gone = () => {
      if (settled) return;
      settled = true;
      if (u) rounds.disconnected(u);
      else rounds.reject('disconnected', 'client gone before its header');
    };
    call.on('cancelled', gone);
    call.on('error', gone);
  };
}

function download(rounds: FedAvgRounds) {
  return async (call: ServerWritableStream<ModelRequest, ModelChunk>) => {
    const { round, waitMs, chunkBytes } = call.request;
    try {
      await rounds.waitForModel(round, Math.min(waitMs, MAX_WAIT_MS));
      const model = rounds.model(round);
      const bytes = new Uint8Array(model.buffer, model.byteOffset, model.byteLength);
      const step = chunkBytes > 0 ? chunkBytes : DEFAULT_CHUNK_BYTES;
      for (let at = 0; at < bytes.byteLength || at === 0; at += step) {
        if (call.cancelled) return;
        // A Buffer view over the model: protobufjs copies it while encoding.
        const data = Buffer.from(bytes.buffer, bytes.byteOffset + at, Math.min(step, bytes.byteLength - at));
        if (!call.write({ round, paramCount: model.length, data })) await once(call, 'drain');
        if (bytes.byteLength === 0) break;
      }
      rounds.served(model.byteLength);
      call.end();
    } catch (err) {
      call.emit('error', asGrpcError(err));
    }
  };
}

function statusOf(rounds: FedAvgRounds) {
  return (_call: ServerUnaryCall<unknown, StatusReply>, cb: sendUnaryData<StatusReply>) => {
    const last = rounds.stats.at(-1);
    cb(null, {
      round: rounds.round,
      state: rounds.done ? 'done' : 'open',
      paramCount: rounds.rules.paramCount,
      accepted: rounds.accepted,
      rejected: Object.fromEntries(rounds.rejected),
      lastAggregationMs: last?.aggregationMs ?? 0,
      lastRoundMs: last?.roundMs ?? 0,
      bytesReceived: rounds.bytesReceived,
      bytesCopied: rounds.bytesCopied,
      rounds: rounds.stats,
    });
  };
}

/** Serve a job with these rules from `initial` on host:port (0: any). */
export async function serveBaseline(opts: { host?: string; port: number; rules: Rules; initial: Float32Array }): Promise<RunningBaseline> {
  const rounds = new FedAvgRounds(opts.rules, opts.initial);
  const server = new Server(CHANNEL_OPTIONS);
  server.addService(AggregatorService.service, { upload: upload(rounds), download: download(rounds), status: statusOf(rounds) });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${opts.host ?? '127.0.0.1'}:${opts.port}`, ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    port,
    rounds,
    close: async () => {
      rounds.stop();
      server.forceShutdown();
    },
  };
}
