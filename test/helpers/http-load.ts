/** A small closed-loop HTTP client for tests: n requests over c kept-alive
 * connections, from a chosen local address, counting statuses. */
import { Agent, request } from 'node:http';

export interface LoadResult {
  statuses: Map<number, number>;
  /** Response bodies of the non-2xx answers (first 20). */
  errors: string[];
}

export interface LoadOptions {
  url: string;
  total: number;
  concurrency: number;
  body: () => string | Uint8Array;
  localAddress?: string;
  /** Called with each answer. */
  onAnswer?: (status: number, body: Buffer, startedAt: number) => void;
}

export function post(url: string, body: string | Uint8Array, agent?: Agent, localAddress?: string): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = request(
      { host: u.hostname, port: u.port, path: u.pathname, method: 'POST', agent, localAddress, headers: { 'content-length': Buffer.byteLength(body) } },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (d: Buffer) => parts.push(d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

export async function load(o: LoadOptions): Promise<LoadResult> {
  let next = 0;
  return drive(o, () => next++ < o.total);
}

/** Load that runs until stop() is called (which resolves with the counts
 * once the requests in flight are answered): for "no request fails while
 * this happens". */
export function startLoad(o: Omit<LoadOptions, 'total'>): { stop(): Promise<LoadResult & { total: number }> } {
  let running = true;
  const done = drive({ ...o, total: Infinity }, () => running);
  return {
    stop: async () => {
      running = false;
      const r = await done;
      return { ...r, total: [...r.statuses.values()].reduce((a, b) => a + b, 0) };
    },
  };
}

async function drive(o: LoadOptions, more: () => boolean): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: o.concurrency });
  const statuses = new Map<number, number>();
  const errors: string[] = [];
  const worker = async () => {
    while (more()) {
      const startedAt = Date.now();
      const r = await post(o.url, o.body(), agent, o.localAddress).catch((err: Error) => ({ status: 0, body: Buffer.from(err.message) }));
      statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      if ((r.status < 200 || r.status > 299) && errors.length < 20) errors.push(`${r.status} ${r.body.toString().slice(0, 300)}`);
      o.onAnswer?.(r.status, r.body, startedAt);
    }
  };
  await Promise.all(Array.from({ length: o.concurrency }, worker));
  agent.destroy();
  return { statuses, errors };
}
