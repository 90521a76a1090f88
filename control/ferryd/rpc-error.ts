/**
 * Errors a NodeDaemon handler answers with: a gRPC status code and a message
 * that names what was wrong, so the caller can fix its request without
 * reading ferryd's logs.
 */
import { status, type ServiceError } from '@grpc/grpc-js';
import { Metadata } from '@grpc/grpc-js';

export class RpcError extends Error {
  constructor(
    readonly code: status,
    message: string,
  ) {
    super(message);
    this.name = 'RpcError';
  }
}

/** A request field is wrong; `field` is its name in the .proto. */
export function invalid(field: string, why: string): RpcError {
  return new RpcError(status.INVALID_ARGUMENT, `${field}: ${why}`);
}

export function notFound(what: string): RpcError {
  return new RpcError(status.NOT_FOUND, what);
}

export function alreadyExists(what: string): RpcError {
  return new RpcError(status.ALREADY_EXISTS, what);
}

export function resourceExhausted(what: string): RpcError {
  return new RpcError(status.RESOURCE_EXHAUSTED, what);
}

export function failedPrecondition(what: string): RpcError {
  return new RpcError(status.FAILED_PRECONDITION, what);
}

/** What grpc-js sends for any error: RpcErrors keep their code; anything
 * else is a bug or a system failure, reported as INTERNAL with its message. */
export function toServiceError(err: unknown): Partial<ServiceError> {
  if (err instanceof RpcError) return { code: err.code, details: err.message, metadata: new Metadata() };
  const message = err instanceof Error ? err.message : String(err);
  return { code: status.INTERNAL, details: `internal error: ${message}`, metadata: new Metadata() };
}
