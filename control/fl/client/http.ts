/**
 * The FL client over the gateway's HTTP API (DESIGN.md "Client API"): the
 * update is ONE body (64-byte header, then the float32 delta, sent from
 * two buffers without joining them), the model comes back as raw
 * little-endian float32s read straight into its Float32Array.
 *
 * node:http with the client's own keep-alive agent rather than fetch: a
 * model wait can be abandoned and close() really closes the connections,
 * so a gateway shutting down is not left waiting on a client's sockets.
 */
import { Agent, request, type IncomingMessage } from 'node:http';
import { encodeUpdateHeader, HEADER_SIZE } from '../wire.js';
import { FlError, fromHttp } from './errors.js';
import { MAX_WAIT_MS, type FlClient, type JobRef, type ModelOptions, type RoundModel, type Update, type UploadResult } from './types.js';

export interface JobStatus {
  name: string;
  tenant: string;
  round: number;
  state: string;
  paramCount: number;
  rounds: number;
  clients: number;
  quorum: number;
  accepted: number;
  lateMerged: number;
  rejected: Record<string, number>;
  lastAggregationMs: number;
  lastRoundMs: number;
}

/** Float32Array views below read the wire's little-endian floats natively. */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

interface Call {
  method: 'GET' | 'POST';
  path: string;
  body?: Uint8Array[];
  signal?: AbortSignal;
}

export class HttpFlClient implements FlClient {
  private readonly url: URL;
  private readonly base: string;
  private readonly agent = new Agent({ keepAlive: true });

  constructor(
    /** The gateway, e.g. http://127.0.0.1:8080 */
    gateway: string,
    readonly ref: JobRef,
  ) {
    if (!LITTLE_ENDIAN) throw new Error('the FL wire format is little-endian float32: this client needs a little-endian host');
    this.url = new URL(gateway);
    if (this.url.protocol !== 'http:') throw new Error(`gateway "${gateway}": use an http:// address (put TLS termination in front of the gateway)`);
    const job = encodeURIComponent(ref.job);
    this.base = ref.tenant ? `/tenants/${encodeURIComponent(ref.tenant)}/jobs/${job}` : `/jobs/${job}`;
  }

  async model(round: number, opts: ModelOptions = {}): Promise<RoundModel> {
    const wait = opts.waitMs ? `?waitMs=${Math.min(Math.max(0, Math.floor(opts.waitMs)), MAX_WAIT_MS)}` : '';
    return this.download(`${this.base}/rounds/${round}/model${wait}`, opts.signal);
  }

  /** The latest sealed model, whatever its round. */
  async latest(opts: { signal?: AbortSignal } = {}): Promise<RoundModel> {
    return this.download(`${this.base}/model`, opts.signal);
  }

  async status(opts: { signal?: AbortSignal } = {}): Promise<JobStatus> {
    return JSON.parse(await this.text({ method: 'GET', path: this.base, signal: opts.signal })) as JobStatus;
  }

  async submit(round: number, update: Update, opts: { signal?: AbortSignal } = {}): Promise<UploadResult> {
    const { delta } = update;
    const header = new Uint8Array(HEADER_SIZE);
    encodeUpdateHeader(header, { numExamples: update.numExamples, paramCount: delta.length, round, clientId: update.clientId });
    const tensor = new Uint8Array(delta.buffer, delta.byteOffset, delta.byteLength);
    const body = await this.text({ method: 'POST', path: `${this.base}/rounds/${round}/updates`, body: [header, tensor], signal: opts.signal });
    return JSON.parse(body) as UploadResult;
  }

  /** Closes every connection, idle or not. */
  close(): void {
    this.agent.destroy();
  }

  private async download(path: string, signal?: AbortSignal): Promise<RoundModel> {
    const res = await this.send({ method: 'GET', path, signal });
    if (res.statusCode !== 200) throw fromHttp({ status: res.statusCode ?? 0, text: await readText(res), retryAfter: header(res, 'retry-after') }, this.ref.job);
    const round = Number(header(res, 'x-ferry-round'));
    const count = Number(header(res, 'x-ferry-param-count'));
    const bad = (got: string) =>
      new FlError('badModel', `the model answer for ${path} is ${got} with x-ferry-round ${header(res, 'x-ferry-round')} and x-ferry-param-count ${header(res, 'x-ferry-param-count')}: expected 4 bytes per parameter`, res.statusCode ?? 0, this.ref.job);
    if (!Number.isInteger(round) || !Number.isInteger(count) || count < 0) {
      res.destroy();
      throw bad('unlabelled');
    }
    const params = new Float32Array(count);
    const bytes = new Uint8Array(params.buffer);
    let got = 0;
    try {
      for await (const chunk of res as AsyncIterable<Buffer>) {
        if (got + chunk.byteLength > bytes.byteLength) {
          res.destroy();
          throw bad(`over ${bytes.byteLength} bytes`);
        }
        bytes.set(chunk, got);
        got += chunk.byteLength;
      }
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      if (err instanceof FlError) throw err;
      throw new FlError('transport', `the model answer for ${path} broke off after ${got} of ${bytes.byteLength} bytes: ${(err as Error).message}`, 0, this.ref.job);
    }
    if (got !== bytes.byteLength) throw bad(`${got} bytes`);
    return { round, params };
  }

  /** A call whose answer is text (JSON), or the server's error. */
  private async text(call: Call): Promise<string> {
    const res = await this.send(call);
    const text = await readText(res);
    if (res.statusCode !== 200) throw fromHttp({ status: res.statusCode ?? 0, text, retryAfter: header(res, 'retry-after') }, this.ref.job);
    return text;
  }

  /** Send a request; resolves with the response once its headers are in.
   * A connection failure is FlError('transport') naming the address; the
   * caller's abort rejects with its reason and drops the connection. */
  private send(call: Call): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      if (call.signal?.aborted) return reject(call.signal.reason);
      const length = call.body?.reduce((n, b) => n + b.byteLength, 0);
      const req = request({
        host: this.url.hostname,
        port: this.url.port || 80,
        method: call.method,
        path: call.path,
        agent: this.agent,
        headers: call.body ? { 'content-type': 'application/octet-stream', 'content-length': length } : {},
      });
      const onAbort = () => req.destroy(call.signal!.reason);
      call.signal?.addEventListener('abort', onAbort, { once: true });
      req.once('close', () => call.signal?.removeEventListener('abort', onAbort));
      req.once('response', resolve);
      req.once('error', (err: NodeJS.ErrnoException) => {
        if (call.signal?.aborted) return reject(call.signal.reason);
        reject(new FlError('transport', `no answer from http://${this.url.host}${call.path}: ${err.code ?? err.message} (is ferryd's gateway up on that address?)`, 0, this.ref.job));
      });
      for (const b of call.body ?? []) req.write(b);
      req.end();
    });
  }
}

const header = (res: IncomingMessage, name: string): string | undefined => {
  const v = res.headers[name];
  return Array.isArray(v) ? v[0] : v;
};

async function readText(res: IncomingMessage): Promise<string> {
  const parts: Buffer[] = [];
  for await (const c of res as AsyncIterable<Buffer>) parts.push(c);
  return Buffer.concat(parts).toString('utf8');
}
