/**
 * A baseline's ingress: POST /chains/NAME on node:http, as ferry's gateway
 * serves it: the chain's body limit (413 from Content-Length before
 * reading, or as soon as a chunked body passes it), its timeout (504), and
 * one call to the entry stage's instances (round robin) whose answer is
 * the client's. A client that goes away cancels its call. Each request
 * gets an id (ctx.requestId): the client's x-request-id when it is a
 * decimal number (as Envoy keeps one), else the next of a counter.
 */
import type { IncomingMessage } from 'node:http';
import { failures, type HttpAnswer } from './answer.js';
import { runChild } from './child.js';
import { listen, writeAnswer } from './http-transport.js';
import { parseRequestId, REQUEST_ID } from './transport.js';
import { transportOf, type TransportName } from './transports.js';

export interface IngressChain {
  name: string;
  maxBodyBytes: number;
  timeoutMs: number;
  /** The entry stage's id (for the timeout's message, as ferry words it). */
  entryStage: number;
  /** The entry stage's instances (or their proxies). */
  entry: string[];
}

export interface IngressConfig {
  transport: TransportName;
  port: number;
  chains: IngressChain[];
}

const PREFIX = '/chains/';

/** The body, or the answer refusing it (413 over the limit, 400 broken off). */
function readLimited(req: IncomingMessage, chain: IngressChain): Promise<Buffer | HttpAnswer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.byteLength;
      if (size > chain.maxBodyBytes) {
        // Answered now; the rest is read and dropped, never held, so the
        // client sees the answer rather than a connection cut mid-body.
        req.removeAllListeners('data');
        req.resume();
        return resolve(failures.bodyTooLarge(chain.name, chain.maxBodyBytes));
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
    req.on('aborted', () => resolve(failures.bodyAborted(chain.name)));
    req.on('error', () => resolve(failures.bodyAborted(chain.name)));
  });
}

/** The chain named by /chains/NAME[?...] ('' for another path), or
 * undefined when its percent-encoding is broken. */
function chainName(url: string): string | undefined {
  if (!url.startsWith(PREFIX)) return '';
  try {
    return decodeURIComponent(url.slice(PREFIX.length).split('?')[0]!);
  } catch {
    return undefined;
  }
}

runChild<IngressConfig>('ingress', async (config) => {
  const t = transportOf(config.transport);
  let lastId = 0n;
  const chains = new Map(config.chains.map((c) => [c.name, { chain: c, hop: t.hop(c.entry, c.name) }]));
  await listen(config.port, (req, res) => {
    /** Answered before its body is read: the connection cannot carry another request. */
    const refuse = (a: HttpAnswer) => {
      res.setHeader('connection', 'close');
      writeAnswer(res, a);
    };
    const name = chainName(req.url ?? '');
    if (name === undefined) return refuse(failures.badUrl(req.url ?? ''));
    const served = chains.get(name);
    if (req.method !== 'POST') return refuse(failures.methodNotAllowed(req.method ?? '?', req.url ?? '/'));
    if (!served) return refuse(failures.unknownChain(name));
    const { chain, hop } = served;
    if (Number(req.headers['content-length'] ?? 0) > chain.maxBodyBytes) return refuse(failures.bodyTooLarge(chain.name, chain.maxBodyBytes));
    void readLimited(req, chain).then(async (body) => {
      if (!Buffer.isBuffer(body)) return writeAnswer(res, body);
      // Stops the call when the client goes away or the chain's time is up.
      const stop = new AbortController();
      res.once('close', () => {
        if (!res.writableEnded) stop.abort();
      });
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        stop.abort();
      }, chain.timeoutMs);
      const requestId = parseRequestId(req.headers[REQUEST_ID]) ?? ++lastId;
      const answer = await hop.call(body, { requestId, signal: stop.signal });
      clearTimeout(timer);
      if (timedOut) writeAnswer(res, failures.timeout(chain.name, chain.timeoutMs, chain.entryStage));
      else if (!stop.signal.aborted) writeAnswer(res, t.toAnswer(answer));
    });
  });
});
