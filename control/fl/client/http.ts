/**
 * The FL client over the gateway's HTTP API (DESIGN.md "Client API"): the
 * update is ONE body (64-byte header, then the float32 delta), the model
 * comes back as raw little-endian float32s.
 */
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

export class HttpFlClient implements FlClient {
  private readonly base: string;

  constructor(
    /** The gateway, e.g. http://127.0.0.1:8080 */
    gateway: string,
    readonly ref: JobRef,
  ) {
    if (!LITTLE_ENDIAN) throw new Error('the FL wire format is little-endian float32: this client needs a little-endian host');
    const root = gateway.replace(/\/+$/, '');
    const job = encodeURIComponent(ref.job);
    this.base = ref.tenant ? `${root}/tenants/${encodeURIComponent(ref.tenant)}/jobs/${job}` : `${root}/jobs/${job}`;
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
    const res = await this.send(this.base, { signal: opts.signal });
    if (!res.ok) throw await fromHttp(res, this.ref.job);
    return (await res.json()) as JobStatus;
  }

  async submit(round: number, update: Update, opts: { signal?: AbortSignal } = {}): Promise<UploadResult> {
    const { delta } = update;
    // One allocation for the body: header and delta side by side.
    const body = new Uint8Array(HEADER_SIZE + delta.byteLength);
    encodeUpdateHeader(body, { numExamples: update.numExamples, paramCount: delta.length, round, clientId: update.clientId });
    body.set(new Uint8Array(delta.buffer, delta.byteOffset, delta.byteLength), HEADER_SIZE);
    const res = await this.send(`${this.base}/rounds/${round}/updates`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body,
      signal: opts.signal,
    });
    if (!res.ok) throw await fromHttp(res, this.ref.job);
    return (await res.json()) as UploadResult;
  }

  close(): void {
    // fetch's pooled connections close when idle; nothing held here
  }

  private async download(url: string, signal?: AbortSignal): Promise<RoundModel> {
    const res = await this.send(url, { signal });
    if (!res.ok) throw await fromHttp(res, this.ref.job);
    const round = Number(res.headers.get('x-ferry-round'));
    const count = Number(res.headers.get('x-ferry-param-count'));
    const bytes = await res.arrayBuffer();
    if (!Number.isInteger(round) || !Number.isInteger(count) || bytes.byteLength !== 4 * count) {
      throw new FlError('badModel', `the model answer for ${url} is ${bytes.byteLength} bytes with x-ferry-round ${res.headers.get('x-ferry-round')} and x-ferry-param-count ${res.headers.get('x-ferry-param-count')}: expected 4 bytes per parameter`, res.status, this.ref.job);
    }
    return { round, params: new Float32Array(bytes) };
  }

  /** fetch, with a connection failure as an FlError('transport') that names the URL. */
  private async send(url: string, init: RequestInit): Promise<Response> {
    try {
      return await fetch(url, init);
    } catch (err) {
      if ((err as Error).name === 'AbortError') throw err;
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new FlError('transport', `no answer from ${url}: ${cause?.code ?? cause?.message ?? (err as Error).message} (is ferryd's gateway up on that address?)`, 0, this.ref.job);
    }
  }
}
