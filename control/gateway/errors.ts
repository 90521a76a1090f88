/**
 * Every way a gateway request can fail, as the HTTP status and JSON body the
 * client sees: { "error": { "code", "message", "chain" } }.
 */
import { STATUS_CODES } from 'node:http';
import { errorCode } from '../dataplane/native.js';
import { InjectorClosedError, RequestInterruptedError, RequestRefusedError, RequestTimeoutError, type Reply } from './injector.js';

/** Seconds a client should wait before retrying when the pool is full. */
export const RETRY_AFTER_SECONDS = 1;
/** ... and while a chain this gateway served before a restart comes back. */
export const RESTORING_RETRY_AFTER_SECONDS = 2;

export class GatewayError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly chain?: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'GatewayError';
  }

  toJSON(): { error: { code: string; message: string; chain?: string } } {
    return { error: { code: this.code, message: this.message, chain: this.chain } };
  }
}

/** Names no other chain: the gateway does not know who asks, and chain
 * names are other tenants' business. */
export function unknownChain(name: string): GatewayError {
  return new GatewayError(404, 'unknownChain', `no chain "${name}" is served on this node: check the name in the URL (/chains/NAME)`, name);
}

export function restoring(name: string): GatewayError {
  return new GatewayError(
    503,
    'restoring',
    `chain "${name}" is being restored on this node after a restart: retry in ${RESTORING_RETRY_AFTER_SECONDS} s`,
    name,
    { 'retry-after': String(RESTORING_RETRY_AFTER_SECONDS) },
  );
}

export function methodNotAllowed(method: string, path: string, allow: readonly string[]): GatewayError {
  const list = allow.join(', ');
  return new GatewayError(405, 'methodNotAllowed', `${method} is not allowed on ${path}: use ${list}`, undefined, { allow: list });
}

/** "Bad Request" -> "badRequest": the code of an error known only by its status. */
export function codeOfStatus(status: number): string {
  const words = (STATUS_CODES[status] ?? '').replace(/'/g, '').split(/[^A-Za-z0-9]+/).filter(Boolean);
  if (words.length === 0) return `http${status}`;
  return words.map((w, i) => (i === 0 ? w.toLowerCase() : w[0]!.toUpperCase() + w.slice(1).toLowerCase())).join('');
}

/** What node's HTTP parser refused (its clientError), before any route ran. */
export function protocolError(err: { code?: string; message: string; reason?: string }): GatewayError {
  const detail = err.reason ?? err.message;
  switch (err.code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new GatewayError(408, 'requestTimeout', 'the request did not arrive in time: send the headers and body without pausing');
    case 'HPE_HEADER_OVERFLOW':
      return new GatewayError(431, 'headersTooLarge', 'the request line and headers are over 16 KiB: send fewer or shorter headers');
    case 'HPE_INVALID_CONTENT_LENGTH':
    case 'HPE_UNEXPECTED_CONTENT_LENGTH':
      return new GatewayError(400, 'badContentLength', `bad Content-Length (${detail}): send one decimal length, and not with Transfer-Encoding`);
    case 'HPE_INVALID_TRANSFER_ENCODING':
    case 'HPE_INVALID_CHUNK_SIZE':
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return new GatewayError(400, 'badTransferEncoding', `bad chunked body (${detail}): Transfer-Encoding must end in chunked, with hex chunk sizes`);
    case 'HPE_INVALID_METHOD':
      return new GatewayError(400, 'badMethod', `unknown method (${detail}): use GET, HEAD or POST`);
    case 'HPE_INVALID_URL':
      return new GatewayError(400, 'badUrl', `bad request target (${detail}): use /chains/NAME`);
    case 'HPE_INVALID_VERSION':
      return new GatewayError(505, 'badVersion', `bad HTTP version (${detail}): use HTTP/1.1`);
    case 'HPE_INVALID_HEADER_TOKEN':
      return new GatewayError(400, 'badHeader', `malformed header (${detail}): a name is a token, a value has no control characters`);
    default:
      return new GatewayError(400, 'malformedRequest', `malformed HTTP request (${detail})`);
  }
}

/** Fastify's own refusals (bad URL encoding, media type, ...) and bugs. */
export function frameworkError(err: { code?: string; message: string; statusCode?: number }): GatewayError {
  switch (err.code) {
    case 'FST_ERR_BAD_URL':
      return new GatewayError(400, 'badUrl', `${err.message}: percent-encode the chain name correctly`);
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new GatewayError(414, 'nameTooLong', 'the chain name in the URL is too long: no chain has a name that long');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new GatewayError(415, 'unsupportedMediaType', err.message);
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new GatewayError(400, 'badContentLength', err.message);
  }
  const status = err.statusCode && err.statusCode >= 400 && err.statusCode <= 599 ? err.statusCode : 500;
  return new GatewayError(status, status < 500 ? codeOfStatus(status) : 'internal', err.message);
}

export function bodyTooLarge(chain: string, limit: number, detail = ''): GatewayError {
  return new GatewayError(413, 'bodyTooLarge', `request body exceeds the chain's limit of ${limit} bytes${detail}`, chain);
}

/** The entry stage has no instance ready (starting, crash loop). */
export function stageUnavailable(chain: string, why: { reason: string; retryAfterMs: number }): GatewayError {
  return new GatewayError(503, 'stageUnavailable', why.reason, chain, { 'retry-after': String(Math.max(1, Math.ceil(why.retryAfterMs / 1000))) });
}

/** The chain's hold queue (requests waiting for a stage scaled to zero) is full. */
export function holdFull(chain: string, why: { reason: string }, limit: number): GatewayError {
  return new GatewayError(503, 'stageUnavailable', `${why.reason}; ${limit} requests already wait for it, the most this gateway holds: retry shortly`, chain, {
    'retry-after': '1',
  });
}

/** The client already has its share of bodies arriving. */
export function tooManyBodies(chain: string, limit: number): GatewayError {
  return new GatewayError(
    429,
    'tooManyBodies',
    `this client already has ${limit} request bodies arriving; finish sending those before starting more`,
    chain,
    // The body is not read: the connection cannot carry another request.
    { 'retry-after': String(RETRY_AFTER_SECONDS), connection: 'close' },
  );
}

/** The body did not arrive in time or fast enough. */
export function bodyTimeout(chain: string, message: string): GatewayError {
  return new GatewayError(408, 'bodyTimeout', message, chain);
}

function poolExhausted(chain: string, message: string): GatewayError {
  return new GatewayError(503, 'poolExhausted', message, chain, { 'retry-after': String(RETRY_AFTER_SECONDS) });
}

/** Why the data plane failed a request that came back as an error reply. */
const replyStatus: Record<string, { statusCode: number; what: string }> = {
  tooLarge: { statusCode: 500, what: "a stage's output is larger than the pool's largest buffer" },
  instanceDied: { statusCode: 502, what: 'an instance serving the request died' },
  noRoute: { statusCode: 502, what: 'no route to the next stage' },
  badDescriptor: { statusCode: 502, what: 'a stage rejected a malformed descriptor' },
};

/** undefined for a successful reply. */
export function replyError(reply: Reply, chain: string): GatewayError | undefined {
  if (!reply.error && reply.status === 'ok') return undefined;
  const message = new TextDecoder().decode(reply.body);
  if (reply.status === 'poolExhausted') return poolExhausted(chain, `a stage found the pool exhausted: ${message}`);
  // The function's own message, as it threw it.
  if (reply.status === 'functionError') return new GatewayError(500, 'functionError', message, chain);
  const known = replyStatus[reply.status];
  if (known) return new GatewayError(known.statusCode, reply.status, `${known.what}: ${message}`, chain);
  return new GatewayError(502, 'badReply', `the chain answered with status "${reply.status}": ${message}`, chain);
}

/** An error thrown by the injector (or the pool under it). */
export function injectError(err: unknown, chain: string, limit: number): GatewayError {
  if (err instanceof GatewayError) return err;
  if (err instanceof RequestTimeoutError) return new GatewayError(504, 'timeout', err.message, chain);
  if (err instanceof RequestInterruptedError)
    return new GatewayError(502, 'instanceDied', `an instance serving the request died: ${err.message}`, chain);
  if (err instanceof RequestRefusedError) return new GatewayError(502, 'noRoute', err.message, chain);
  if (err instanceof InjectorClosedError)
    return new GatewayError(503, 'unavailable', `the chain stopped being served: ${err.message}`, chain);
  const code = errorCode(err);
  const message = err instanceof Error ? err.message : String(err);
  if (code === 'EPOOL_EXHAUSTED') return poolExhausted(chain, `the chain's pool has no free buffer: ${message}`);
  if (code === 'ETOO_LARGE') return bodyTooLarge(chain, limit, " (and the pool's largest buffer)");
  return new GatewayError(500, 'internal', message, chain);
}
