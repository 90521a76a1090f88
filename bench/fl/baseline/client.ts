/**
 * A client of the baseline (aggregator.proto): uploads an update as a
 * header and then views of a tensor the caller may share with every other
 * client (chunks are sent with backpressure, so 100 clients uploading one
 * 47 MB tensor hold ~chunk-sized copies each, not 47 MB), and downloads a
 * round's model, into an array or only counted.
 */
import { credentials, type Client, type ClientReadableStream, type ClientWritableStream, type ServiceError } from '@grpc/grpc-js';
import { once } from 'node:events';
import { AggregatorService, CHANNEL_OPTIONS, DEFAULT_CHUNK_BYTES, ERROR_CODE_KEY, type ModelChunk, type StatusReply, type UpdateChunk, type UploadReply } from './proto.js';

/** A refusal, with ferry's error code when the server sent one. */
export class BaselineError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function fromGrpc(err: ServiceError): BaselineError {
  const code = err.metadata?.get(ERROR_CODE_KEY)[0];
  return new BaselineError(typeof code === 'string' ? code : `grpc-${err.code}`, err.details || err.message);
}

type Methods = Client & {
  upload(cb: (err: ServiceError | null, r?: UploadReply) => void): ClientWritableStream<UpdateChunk>;
  download(req: { round: number; waitMs: number; chunkBytes: number }): ClientReadableStream<ModelChunk>;
  status(req: object, cb: (err: ServiceError | null, r?: StatusReply) => void): void;
};

export class BaselineClient {
  private readonly client: Methods;

  constructor(target: string) {
    this.client = new AggregatorService(target, credentials.createInsecure(), CHANNEL_OPTIONS) as unknown as Methods;
  }

  /** Upload header + tensor bytes (the tensor is only read). */
  async upload(round: number, header: Uint8Array, tensor: Uint8Array, chunkBytes = DEFAULT_CHUNK_BYTES): Promise<UploadReply> {
    let call!: ClientWritableStream<UpdateChunk>;
    const reply = new Promise<UploadReply>((resolve, reject) => {
      call = this.client.upload((err, r) => (err ? reject(fromGrpc(err)) : resolve(r!)));
    });
    // The reply may come early (a refusal): stop sending then.
    let over = false;
    reply.catch(() => undefined).finally(() => (over = true));
    const view = (b: Uint8Array, at: number, n: number) => Buffer.from(b.buffer, b.byteOffset + at, n);
    const send = async (data: Buffer) => {
      if (!call.write({ round, data })) await Promise.race([once(call, 'drain'), reply.catch(() => undefined)]);
    };
    await send(view(header, 0, header.byteLength));
    for (let at = 0; at < tensor.byteLength && !over; at += chunkBytes) await send(view(tensor, at, Math.min(chunkBytes, tensor.byteLength - at)));
    call.end();
    return reply;
  }

  /** Round `round`'s model: into `into` when given, else only its size. */
  async download(round: number, opts: { waitMs?: number; into?: Float32Array; chunkBytes?: number } = {}): Promise<{ round: number; paramCount: number; bytes: number }> {
    const stream = this.client.download({ round, waitMs: opts.waitMs ?? 0, chunkBytes: opts.chunkBytes ?? 0 });
    const into = opts.into ? new Uint8Array(opts.into.buffer, opts.into.byteOffset, opts.into.byteLength) : undefined;
    let bytes = 0;
    let paramCount = 0;
    return new Promise((resolve, reject) => {
      stream.on('data', (c: ModelChunk) => {
        paramCount = c.paramCount;
        if (into) {
          if (bytes + c.data.byteLength > into.byteLength) {
            stream.cancel();
            reject(new BaselineError('badTensorSize', `the model has more than ${into.byteLength} bytes`));
            return;
          }
          into.set(c.data, bytes);
        }
        bytes += c.data.byteLength;
      });
      stream.on('error', (err: ServiceError) => reject(fromGrpc(err)));
      stream.on('end', () => resolve({ round, paramCount, bytes }));
    });
  }

  status(): Promise<StatusReply> {
    return new Promise((resolve, reject) => this.client.status({}, (err, r) => (err ? reject(fromGrpc(err)) : resolve(r!))));
  }

  close(): void {
    this.client.close();
  }
}
