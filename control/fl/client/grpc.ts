/**
 * The FL client over ferryd's gRPC door (fl.proto, ferryd --fl-grpc): the
 * update streamed in chunks (the header first, then views of the delta: no
 * copy of the tensor on the client), the model streamed back into one
 * Float32Array allocated from the first chunk's param_count.
 */
import { credentials as grpcCredentials, type ChannelCredentials, type ServiceError } from '@grpc/grpc-js';
import { encodeUpdateHeader, HEADER_SIZE } from '../wire.js';
import { AggregationClientCtor, type AggregationClient, type ModelChunk, type UploadResultMsg } from '../proto.js';
import { FlError, fromGrpc } from './errors.js';
import { MAX_WAIT_MS, type FlClient, type JobRef, type ModelOptions, type RoundModel, type Update, type UploadResult } from './types.js';

/** Chunk size for uploads: grpc-js's default max message is 4 MiB. */
export const UPLOAD_CHUNK_BYTES = 1 << 20;

export interface GrpcFlClientOptions {
  credentials?: ChannelCredentials;
  chunkBytes?: number;
}

export class GrpcFlClient implements FlClient {
  private readonly client: AggregationClient;
  private readonly chunkBytes: number;

  constructor(
    /** ferryd's --fl-grpc address, HOST:PORT */
    address: string,
    readonly ref: JobRef,
    opts: GrpcFlClientOptions = {},
  ) {
    this.client = new AggregationClientCtor(address, opts.credentials ?? grpcCredentials.createInsecure(), {
      'grpc.max_receive_message_length': -1,
    });
    this.chunkBytes = opts.chunkBytes ?? UPLOAD_CHUNK_BYTES;
  }

  model(round: number, opts: ModelOptions = {}): Promise<RoundModel> {
    return new Promise((resolve, reject) => {
      const call = this.client.Download({
        job: this.ref.job,
        tenant: this.ref.tenant ?? '',
        round,
        waitMs: Math.min(Math.max(0, Math.floor(opts.waitMs ?? 0)), MAX_WAIT_MS),
      });
      const onAbort = () => call.cancel();
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      let params: Float32Array | undefined;
      let bytes: Uint8Array | undefined;
      let got = 0;
      let modelRound = round;
      let failed = false;
      const fail = (err: Error) => {
        if (failed) return;
        failed = true;
        call.cancel();
        reject(err);
      };
      call.on('data', (chunk: ModelChunk) => {
        if (!params) {
          modelRound = chunk.round;
          params = new Float32Array(chunk.paramCount);
          bytes = new Uint8Array(params.buffer);
        }
        if (got + chunk.data.byteLength > bytes!.byteLength) {
          return fail(new FlError('badModel', `Download of round ${round} sent more than the ${params.length} parameters its first chunk announced`, 0, this.ref.job));
        }
        bytes!.set(chunk.data, got);
        got += chunk.data.byteLength;
      });
      call.on('error', (err: ServiceError) => {
        opts.signal?.removeEventListener('abort', onAbort);
        if (failed) return;
        failed = true;
        reject(opts.signal?.aborted ? opts.signal.reason : fromGrpc(err, this.ref.job));
      });
      call.on('end', () => {
        opts.signal?.removeEventListener('abort', onAbort);
        if (failed) return;
        if (!params || got !== bytes!.byteLength) {
          return reject(new FlError('badModel', `Download of round ${round} ended after ${got} bytes, expected ${params ? bytes!.byteLength : 'a first chunk'}`, 0, this.ref.job));
        }
        resolve({ round: modelRound, params });
      });
    });
  }

  submit(round: number, update: Update, opts: { signal?: AbortSignal } = {}): Promise<UploadResult> {
    const { delta } = update;
    const header = new Uint8Array(HEADER_SIZE);
    encodeUpdateHeader(header, { numExamples: update.numExamples, paramCount: delta.length, round, clientId: update.clientId });
    const tensor = new Uint8Array(delta.buffer, delta.byteOffset, delta.byteLength);
    return new Promise((resolve, reject) => {
      const call = this.client.Upload((err: ServiceError | null, res?: UploadResultMsg) => {
        opts.signal?.removeEventListener('abort', onAbort);
        if (err) return reject(opts.signal?.aborted ? opts.signal.reason : fromGrpc(err, this.ref.job));
        resolve({ round: res!.round, staleness: res!.staleness, weight: res!.weight });
      });
      const onAbort = () => call.cancel();
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      call.write({ job: this.ref.job, tenant: this.ref.tenant ?? '', round, data: header });
      // Views of the delta, written as the stream drains: a large model is
      // never held twice on the client.
      let at = 0;
      const pump = () => {
        while (at < tensor.byteLength) {
          const end = Math.min(at + this.chunkBytes, tensor.byteLength);
          const ok = call.write({ data: tensor.subarray(at, end) });
          at = end;
          if (!ok) return void call.once('drain', pump);
        }
        call.end();
      };
      pump();
    });
  }

  close(): void {
    this.client.close();
  }
}
