/**
 * Hops as HTTP/1.1 POSTs between node:http servers, keep-alive on (one
 * http.Agent per hop), as microservices calling each other over HTTP do:
 * the answer's status, content type and body are the HTTP response's.
 */
import { Agent, createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { failures, type HttpAnswer } from './answer.js';
import { parseRequestId, REQUEST_ID, roundRobin, type CallOptions, type Hop, type Served, type Transport } from './transport.js';

/** Longer than any pause in a run, so a pooled connection is never closed
 * by the server just as the client reuses it (the keep-alive race). */
const KEEP_ALIVE_MS = 120_000;

/** The request's body, or undefined when the client broke off. */
export function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
    req.on('error', () => resolve(undefined));
    req.on('aborted', () => resolve(undefined));
  });
}

export function writeAnswer(res: ServerResponse, a: HttpAnswer): void {
  const headers: Record<string, string | number> = { 'content-length': a.body.byteLength };
  if (a.contentType !== undefined) headers['content-type'] = a.contentType;
  res.writeHead(a.status, headers);
  res.end(a.body);
}

/** A node:http server on 127.0.0.1:port, keep-alive on. */
export function listen(port: number, onRequest: (req: IncomingMessage, res: ServerResponse) => void): Promise<Server> {
  const server = createServer({ keepAliveTimeout: KEEP_ALIVE_MS }, onRequest);
  server.headersTimeout = KEEP_ALIVE_MS + 1000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

export function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** One POST of body to target; never rejects (see Hop). */
export function post(agent: Agent, target: string, body: Uint8Array, chain: string, opts: CallOptions): Promise<HttpAnswer> {
  const [host, port] = target.split(':');
  return new Promise((resolve) => {
    let done = false;
    const finish = (a: HttpAnswer) => {
      if (done) return;
      done = true;
      opts.signal?.removeEventListener('abort', onAbort);
      resolve(a);
    };
    const req = request(
      { agent, host, port: Number(port), method: 'POST', path: '/', headers: { 'content-type': 'application/octet-stream', 'content-length': body.byteLength, [REQUEST_ID]: String(opts.requestId) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          finish({ status: res.statusCode ?? 502, contentType: res.headers['content-type'], body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks) }),
        );
        res.on('aborted', () => finish(failures.instanceDied(chain, `${target} broke off its answer`)));
        res.on('error', (err) => finish(failures.instanceDied(chain, `${target}: ${err.message}`)));
      },
    );
    const onAbort = () => {
      req.destroy();
      finish(failures.instanceDied(chain, 'the caller went away'));
    };
    req.on('error', (err) => finish(failures.instanceDied(chain, `${target}: ${err.message}`)));
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    req.end(body);
  });
}

export const httpTransport: Transport<HttpAnswer> = {
  name: 'http',
  async serve(port, handle): Promise<Served> {
    const server = await listen(port, (req, res) => {
      void readBody(req).then(async (body) => {
        if (body === undefined) return; // the caller is gone
        writeAnswer(res, await handle(body, parseRequestId(req.headers[REQUEST_ID]) ?? 0n));
      }).catch(() => res.destroy()); // handle never rejects: a broken socket at most
    });
    return { close: () => closeServer(server) };
  },
  hop(targets, chain): Hop<HttpAnswer> {
    const agent = new Agent({ keepAlive: true });
    const next = roundRobin(targets);
    return { call: (body, opts) => post(agent, next(), body, chain, opts), close: () => agent.destroy() };
  },
  fromAnswer: (a) => a,
  toAnswer: (a) => a,
};
