/**
 * HTTP clients for gateway tests: node's own (well-formed requests), and
 * raw bytes over a TCP socket (what node's client refuses to send).
 */
import { request, type Agent, type IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';

export interface HttpAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** The body parsed as JSON (throws when it is not). */
  json(): any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export function httpCall(
  port: number,
  method: string,
  path: string,
  opts: { body?: string | Uint8Array; headers?: Record<string, string>; agent?: Agent } = {},
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.body !== undefined) headers['content-length'] = String(Buffer.byteLength(opts.body));
    const req = request({ host: '127.0.0.1', port, method, path, headers, agent: opts.agent }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => resolve(answer(res.statusCode ?? 0, res.headers, Buffer.concat(parts))));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

function answer(status: number, headers: IncomingHttpHeaders, body: Buffer): HttpAnswer {
  return { status, headers, body, json: () => JSON.parse(body.toString()) };
}

/** Sends bytes as they are and reads one HTTP/1.1 response (its
 * Content-Length body, or all until the server closes; 5 s at most). */
export function rawHttp(port: number, bytes: string | Buffer): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let all = Buffer.alloc(0);
    let done = false;
    const finish = (closed: boolean) => {
      const end = all.indexOf('\r\n\r\n');
      if (end < 0) {
        if (closed) reject(new Error(`no HTTP response, got ${JSON.stringify(all.toString().slice(0, 200))}`));
        return;
      }
      const [statusLine, ...lines] = all.subarray(0, end).toString('latin1').split('\r\n');
      const headers: IncomingHttpHeaders = {};
      for (const l of lines) {
        const i = l.indexOf(':');
        headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
      }
      const declared = headers['content-length'];
      const length = declared === undefined ? all.length - end - 4 : Number(declared);
      if (!closed && all.length < end + 4 + length) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(answer(Number(statusLine!.split(' ')[1]), headers, all.subarray(end + 4, end + 4 + length)));
    };
    const timer = setTimeout(() => socket.destroy(), 5000);
    socket.on('connect', () => socket.write(bytes));
    socket.on('data', (d: Buffer) => {
      all = Buffer.concat([all, d]);
      finish(false);
    });
    socket.on('error', () => undefined); // a reset after the answer: judged by what arrived
    socket.on('close', () => {
      clearTimeout(timer);
      if (!done) finish(true);
    });
  });
}
