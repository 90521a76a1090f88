/** aggregator.proto loaded for grpc-js, with the message types the baseline uses. */
import { loadPackageDefinition, status, type ServiceClientConstructor } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { join } from 'node:path';
import { repoRoot } from '../../../control/paths.js';

export const PROTO_PATH = join(repoRoot, 'bench/fl/baseline/aggregator.proto');

/** Models are large: grpc-js refuses messages over 4 MiB by default; uploads
 * and downloads are chunked, but a client may pick large chunks. */
export const CHANNEL_OPTIONS = { 'grpc.max_receive_message_length': 512 << 20, 'grpc.max_send_message_length': 512 << 20 };
export const DEFAULT_CHUNK_BYTES = 1 << 20;
/** Trailing metadata key of ferry's error code, as control/proto/ferry/fl/v1/fl.proto. */
export const ERROR_CODE_KEY = 'ferry-error-code';

export interface UpdateChunk {
  round: number;
  data: Buffer;
}
export interface UploadReply {
  round: number;
  weight: number;
}
export interface ModelRequest {
  round: number;
  waitMs: number;
  chunkBytes: number;
}
export interface ModelChunk {
  round: number;
  paramCount: number;
  data: Buffer;
}
export interface RoundStatMsg {
  round: number;
  updates: number;
  aggregationMs: number;
  roundMs: number;
  failed: boolean;
}
export interface StatusReply {
  round: number;
  state: string;
  paramCount: number;
  accepted: number;
  rejected: Record<string, number>;
  lastAggregationMs: number;
  lastRoundMs: number;
  bytesReceived: number;
  bytesCopied: number;
  rounds: RoundStatMsg[];
}

const pkg = loadPackageDefinition(loadSync(PROTO_PATH, { keepCase: false, longs: Number, enums: String, defaults: true })) as unknown as {
  ferry: { bench: { fl: { v1: { Aggregator: ServiceClientConstructor } } } };
};
export const AggregatorService = pkg.ferry.bench.fl.v1.Aggregator;

/** gRPC status for each of ferry's error codes (as fl.proto maps them). */
export function grpcStatusOf(code: string): status {
  switch (code) {
    case 'unknownJob':
      return status.NOT_FOUND;
    case 'roundGone':
      return status.OUT_OF_RANGE;
    case 'badHeader':
    case 'badDtype':
    case 'badTensorSize':
    case 'tooLarge':
    case 'nonFiniteUpdate':
      return status.INVALID_ARGUMENT;
    case 'busy':
      return status.RESOURCE_EXHAUSTED;
    default:
      return status.FAILED_PRECONDITION;
  }
}
