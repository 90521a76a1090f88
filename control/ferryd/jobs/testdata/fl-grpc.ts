/**
 * A client of the FL gRPC door (ferry.fl.v1.Aggregation) for tests:
 * uploads in chunks (optionally cancelled part way), downloads, and the
 * ferry error code a refusal carries.
 */
import { credentials, Metadata, type Client, type ClientReadableStream, type ClientWritableStream, type ServiceError } from '@grpc/grpc-js';
import type { ModelChunk__Output as ModelChunk } from '../../../proto/gen/ferry/fl/v1/ModelChunk.js';
import type { UploadResult__Output as UploadResult } from '../../../proto/gen/ferry/fl/v1/UploadResult.js';
import { AggregationClientCtor, FL_ERROR_CODE_METADATA } from '../../../fl/proto.js';
import { MAX_MESSAGE_BYTES } from '../grpc.js';

export interface AggregationClient extends Client {
  Upload(cb: (err: ServiceError | null, r?: UploadResult) => void): ClientWritableStream<{ job?: string; tenant?: string; round?: number; data: Uint8Array }>;
  Download(req: { job: string; round: number; waitMs?: number; chunkBytes?: number }): ClientReadableStream<ModelChunk>;
}

export function flClient(address: string): AggregationClient {
  return new AggregationClientCtor(address, credentials.createInsecure(), { 'grpc.max_send_message_length': MAX_MESSAGE_BYTES }) as unknown as AggregationClient;
}

/** Upload bytes in chunks of `chunk` (and stop after `cancelAfter` bytes, cancelling). */
export function upload(c: AggregationClient, job: string, round: number, bytes: Uint8Array, chunk = 64 * 1024, cancelAfter?: number): Promise<UploadResult> {
  return new Promise((resolve, reject) => {
    const call = c.Upload((err, r) => (err ? reject(err) : resolve(r!)));
    for (let at = 0; at < bytes.byteLength; at += chunk) {
      if (cancelAfter !== undefined && at >= cancelAfter) return setTimeout(() => call.cancel(), 100);
      const data = bytes.subarray(at, at + chunk);
      call.write(at === 0 ? { job, round, data } : { data });
    }
    call.end();
  });
}

export function download(c: AggregationClient, job: string, round: number, chunkBytes = 100_000): Promise<{ first: ModelChunk; bytes: Uint8Array; chunks: number }> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let first: ModelChunk | undefined;
    const call = c.Download({ job, round, waitMs: 10_000, chunkBytes });
    call.on('data', (m: ModelChunk) => {
      first ??= m;
      parts.push(m.data);
    });
    call.on('error', reject);
    call.on('end', () => resolve({ first: first!, bytes: new Uint8Array(Buffer.concat(parts)), chunks: parts.length }));
  });
}

export const codeOf = (err: ServiceError) => (err.metadata as Metadata).get(FL_ERROR_CODE_METADATA)[0];
