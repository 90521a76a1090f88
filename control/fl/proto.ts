/**
 * The clients' FL contract (control/proto/ferry/fl/v1/fl.proto) as grpc-js
 * sees it, with ferryd's loader options (control/ferryd/proto.ts), so the
 * client SDK and ferryd's FL door decode the same messages the same way.
 */
import { loadPackageDefinition, type ServiceDefinition } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { join } from 'node:path';
import { LOADER_OPTIONS } from '../ferryd/proto.js';
import { repoRoot } from '../paths.js';
import type { ProtoGrpcType } from '../proto/gen/fl.js';

export const FL_PROTO_PATH = join(repoRoot, 'control/proto/ferry/fl/v1/fl.proto');
export const FL_SERVICE_NAME = 'ferry.fl.v1.Aggregation';
/** Trailing metadata of a failed FL call: the error's code, as in the HTTP
 * JSON error (unknownJob, roundClosed, ...). */
export const FL_ERROR_CODE_METADATA = 'ferry-error-code';

export type { UploadChunk, UploadChunk__Output } from '../proto/gen/ferry/fl/v1/UploadChunk.js';
export type { UploadResult__Output as UploadResultMsg } from '../proto/gen/ferry/fl/v1/UploadResult.js';
export type { DownloadRequest } from '../proto/gen/ferry/fl/v1/DownloadRequest.js';
export type { ModelChunk__Output as ModelChunk } from '../proto/gen/ferry/fl/v1/ModelChunk.js';
export type { AggregationClient, AggregationHandlers } from '../proto/gen/ferry/fl/v1/Aggregation.js';

const pkg = loadPackageDefinition(loadSync(FL_PROTO_PATH, LOADER_OPTIONS)) as unknown as ProtoGrpcType;

/** The client constructor, and (.service) what Server.addService takes. */
export const AggregationClientCtor = pkg.ferry.fl.v1.Aggregation;
export const aggregationService: ServiceDefinition = AggregationClientCtor.service;
