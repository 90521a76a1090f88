/**
 * A synthetic client of ferry's job API (control/fl/DESIGN.md, "Client
 * API") over node:http with its own keep-alive agent: the upload body is
 * written as the 64-byte header and then a view of the shared tensor
 * (node:http queues Buffers by reference, so nothing is copied per
 * client), and a model is read off the socket into an array or dropped.
 */
import { Agent, request, type IncomingMessage } from 'node:http';
import { HEADER_SIZE } from '../../../control/fl/wire.js';
import { FlRefused, type FlConnection } from '../system.js';

async function readAll(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** ferry's JSON error as an FlRefused (its code, or http-<status>). */
async function refusal(res: IncomingMessage): Promise<FlRefused> {
  const text = await readAll(res);
  try {
    const e = (JSON.parse(text) as { error: { code: string; message: string } }).error;
    return new FlRefused(e.code, e.message);
  } catch {
    return new FlRefused(`http-${res.statusCode}`, text.slice(0, 200));
  }
}

export function ferryConnection(gateway: string, jobPath: string): FlConnection {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const [host, port] = gateway.split(':') as [string, string];
  const call = (method: string, path: string, send?: (req: ReturnType<typeof request>) => void, length?: number) =>
    new Promise<IncomingMessage>((resolve, reject) => {
      const req = request({ host, port: Number(port), method, path, agent, headers: length === undefined ? {} : { 'content-type': 'application/octet-stream', 'content-length': length } }, resolve);
      req.on('error', reject);
      if (send) send(req);
      else req.end();
    });
  return {
    async upload(round, header, tensor) {
      const res = await call(
        'POST',
        `${jobPath}/rounds/${round}/updates`,
        (req) => {
          req.write(Buffer.from(header.buffer, header.byteOffset, HEADER_SIZE));
          req.end(Buffer.from(tensor.buffer, tensor.byteOffset, tensor.byteLength));
        },
        HEADER_SIZE + tensor.byteLength,
      );
      if (res.statusCode !== 200) throw await refusal(res);
      await readAll(res);
    },
    async download(round, opts) {
      const res = await call('GET', `${jobPath}/rounds/${round}/model?waitMs=${opts.waitMs}`);
      if (res.statusCode !== 200) throw await refusal(res);
      const into = opts.into ? new Uint8Array(opts.into.buffer, opts.into.byteOffset, opts.into.byteLength) : undefined;
      let at = 0;
      for await (const c of res) {
        const chunk = c as Buffer;
        if (into) {
          if (at + chunk.byteLength > into.byteLength) throw new FlRefused('badTensorSize', `round ${round}'s model is longer than ${into.byteLength} bytes`);
          into.set(chunk, at);
        }
        at += chunk.byteLength;
      }
      if (into && at !== into.byteLength) throw new FlRefused('badTensorSize', `round ${round}'s model has ${at} bytes, ${into.byteLength} expected`);
    },
    close: () => agent.destroy(),
  };
}

/** GET a JSON document from the gateway (the job's status). */
export async function getJson<T>(gateway: string, path: string): Promise<{ status: number; body: T }> {
  const res = await fetch(`http://${gateway}${path}`);
  return { status: res.status, body: (await res.json()) as T };
}
