/** The FL client SDK: one import for an application. */
export { FlError, FL_ERROR_STATUS, isFlError, type FlErrorCode, type FlClientErrorCode } from './errors.js';
export { HttpFlClient, type JobStatus } from './http.js';
export { GrpcFlClient, UPLOAD_CHUNK_BYTES, type GrpcFlClientOptions } from './grpc.js';
export { runClientLoop, type ClientLoopOptions, type ClientLoopSummary, type RoundEvent } from './loop.js';
export type { FlClient, JobRef, ModelOptions, RoundModel, Update, UploadResult } from './types.js';
export { runFederation, type FederatedRunOptions, type FederatedRunResult, type ModelEvent } from './federation.js';
