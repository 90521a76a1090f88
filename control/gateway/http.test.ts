/**
 * The HTTP gateway end to end: real HTTP over a real socket, a real
 * NodeDataPlane (eBPF and relay fallback), a real pool and real node
 * function instances. After every test the pools must be empty again: no
 * error path may leak a buffer.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Agent, request, type IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import { spawn as spawnProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { STAGE_REPLY } from '../dataplane/descriptor.js';
import type { InstanceExit, NodeDataPlane } from '../node/dataplane.js';
import { createLogger } from '../log.js';
import { modes, openDataPlane, sharedTempDir } from '../../test/helpers/dataplane.js';
import type { ChainDirectory, ServedChain } from './directory.js';
import { buildGatewayServer } from './http.js';
import { Injector } from './injector.js';

const CHAIN = 41; // echo, upper, throw, slow, crash behind one gateway
const TINY = 42; // a pool of two small buffers, to run out of
const MiB = 1 << 20;
const fn = (name: string) => join(import.meta.dirname, 'testdata', name);

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  socket: Socket;
  json: () => any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

interface CallOptions {
  body?: Uint8Array | string;
  /** Sent with chunked transfer encoding (no Content-Length). */
  chunks?: Uint8Array[];
  headers?: Record<string, string>;
  agent?: Agent;
}

/** Repeats probe until it holds (or gives up after 10 s) and returns its last value. */
async function waitFor<T>(probe: () => T, ok: (v: T) => boolean): Promise<T> {
  const deadline = Date.now() + 10_000;
  let v = probe();
  while (!ok(v) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
    v = probe();
  }
  return v;
}

describe.each(modes)('HTTP gateway (%s mode)', (mode) => {
  let dp: NodeDataPlane;
  let cleanup: () => Promise<void>;
  let app: FastifyInstance;
  let port: number;
  let agent: Agent;
  let tmp: string;
  let directory: ChainDirectory;
  const injectors = new Map<number, Injector>();
  const chainOfInstance = new Map<number, number>();

  function spawn(instanceId: number, chainId: number, stage: number, handler: string) {
    chainOfInstance.set(instanceId, chainId);
    dp.spawn({ instanceId, chainId, stage, stageName: handler.replace('.ts', ''), runtime: 'node', handler: fn(handler), next: [] });
    dp.setRoute(chainId, stage, [{ instance: instanceId, weight: 1 }]);
    dp.allow(chainId, STAGE_REPLY, stage);
    dp.allow(chainId, stage, STAGE_REPLY);
  }

  function call(method: string, path: string, opts: CallOptions = {}): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = { ...opts.headers };
      if (opts.body !== undefined) headers['content-length'] = String(Buffer.byteLength(opts.body));
      const req = request({ host: '127.0.0.1', port, method, path, headers, agent: opts.agent ?? agent }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (d: Buffer) => parts.push(d));
        res.on('end', () => {
          const body = Buffer.concat(parts);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, socket: req.socket as Socket, json: () => JSON.parse(body.toString()) });
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      if (opts.body !== undefined) req.end(opts.body);
      else if (opts.chunks) {
        for (const c of opts.chunks) req.write(c);
        req.end();
      } else req.end();
    });
  }

  const post = (chain: string, body: Uint8Array | string, extra: CallOptions = {}) =>
    call('POST', `/chains/${chain}`, { body, ...extra });
  const inUse = (chainId: number) => dp.pool(chainId).stats().inUse;

  beforeAll(async () => {
    ({ dp, cleanup } = await openDataPlane(mode));
    tmp = sharedTempDir('ferry-gw-test-');
    dp.createPool(CHAIN, 'gw-test', { classes: [
      { size: 2048, count: 64 },
      { size: 65536, count: 16 },
      { size: 2 * MiB, count: 4 },
    ] });
    dp.createPool(TINY, 'gw-tiny', { classes: [{ size: 2048, count: 2 }] });
    injectors.set(CHAIN, new Injector(dp.openGateway(CHAIN, 1)));
    injectors.set(TINY, new Injector(dp.openGateway(TINY, 2)));
    spawn(10, CHAIN, 0, 'echo.ts');
    spawn(11, CHAIN, 1, 'upper.ts');
    spawn(12, CHAIN, 2, 'throw.ts');
    spawn(13, CHAIN, 3, 'slow.ts');
    spawn(15, CHAIN, 5, 'busy.ts');
    spawn(16, CHAIN, 6, 'annotate.ts');
    spawn(20, TINY, 0, 'slow.ts');
    // What ferryd does: a crashed instance's request tags go to the
    // chain's injector, which fails those requests at once.
    dp.on('instance-exit', (id: number, exit: InstanceExit) => {
      injectors.get(chainOfInstance.get(id) ?? -1)?.failInterrupted(exit.interrupted, `instance ${id} exited with code ${exit.code}`);
    });

    const served = (name: string, chainId: number, entryStage: number, maxBodyBytes: number, timeoutMs: number): ServedChain => ({
      name, tenant: 'default', chainId, entryStage, maxBodyBytes, timeoutMs, bodyTimeoutMs: 10_000, injector: injectors.get(chainId)!,
    });
    const chains = [
      served('echo', CHAIN, 0, 2 * MiB, 10_000),
      served('echo-small', CHAIN, 0, 1024, 10_000),
      served('upper', CHAIN, 1, 2048, 10_000),
      served('throw', CHAIN, 2, 2048, 10_000),
      served('slow', CHAIN, 3, 2048, 300),
      served('crash', CHAIN, 4, 2048, 30_000), // long: only an interrupt can answer in time
      served('busy', CHAIN, 5, 2048, 30_000),
      served('busy-quick', CHAIN, 5, 2048, 1000),
      served('annotate', CHAIN, 6, 2 * MiB, 10_000),
      served('nowhere', CHAIN, 9, 2048, 10_000), // no instance serves stage 9
      served('tiny', TINY, 0, 2048, 10_000),
    ];
    directory = {
      lookup: (name, tenant = 'default') => chains.find((c) => c.name === name && c.tenant === tenant),
      list: (tenant) => chains.filter((c) => tenant === undefined || c.tenant === tenant),
    };
    app = buildGatewayServer({ directory, log: createLogger({ test: 'gateway' }, 'error') });
    await app.listen({ host: '127.0.0.1', port: 0 });
    port = (app.server.address() as AddressInfo).port;
    agent = new Agent({ keepAlive: true });
  });

  afterEach(async () => {
    // Late replies may still be on their way back: wait for them, then
    // every buffer must be free again.
    for (const chainId of [CHAIN, TINY]) expect(await waitFor(() => inUse(chainId), (n) => n === 0)).toBe(0);
    for (const inj of injectors.values()) expect(inj.inFlight).toBe(0);
  });

  afterAll(async () => {
    agent?.destroy();
    await app?.close();
    for (const inj of injectors.values()) inj.close();
    injectors.clear();
    await cleanup?.();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('answers a JSON body with the last stage output as application/json', async () => {
    const r = await post('echo', '{"order":42,"items":["a","b"]}', { headers: { 'content-type': 'application/json' } });
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toMatch(/^application\/json/);
    expect(r.json()).toEqual({ order: 42, items: ['a', 'b'] });
  });

  it('answers a text reply as text/plain', async () => {
    const r = await post('upper', 'hello ferry', { headers: { 'content-type': 'text/plain' } });
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toMatch(/^text\/plain/);
    expect(r.body.toString()).toBe('HELLO FERRY');
  });

  it('streams a 1 MiB body into the pool and back, declared or chunked', async () => {
    const big = new Uint8Array(MiB);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7919) % 251;
    const declared = await post('echo', big, { headers: { 'content-type': 'application/octet-stream' } });
    expect(declared.status).toBe(200);
    expect(declared.headers['content-type']).toBe('application/octet-stream');
    expect(declared.body.equals(big)).toBe(true);

    const chunks = Array.from({ length: 16 }, (_, i) => big.subarray(i * 65536, (i + 1) * 65536));
    const chunked = await call('POST', '/chains/echo', { chunks, headers: { 'content-type': 'application/octet-stream' } });
    expect(chunked.status).toBe(200);
    expect(chunked.body.equals(big)).toBe(true);
  });

  it('sends a GET query string to the chain as a JSON object', async () => {
    const r = await call('GET', '/chains/echo?city=Oslo&n=3');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toMatch(/^application\/json/);
    expect(r.json()).toEqual({ city: 'Oslo', n: '3' });
  });

  it('serves several requests on one kept-alive connection', async () => {
    const one = new Agent({ keepAlive: true, maxSockets: 1 });
    let connections = 0;
    const count = () => connections++;
    app.server.on('connection', count);
    try {
      const sockets = new Set<Socket>();
      for (let i = 0; i < 5; i++) {
        const r = await post('upper', `request ${i}`, { agent: one });
        expect(r.body.toString()).toBe(`REQUEST ${i}`);
        sockets.add(r.socket);
      }
      expect(sockets.size).toBe(1);
      expect(connections).toBe(1);
    } finally {
      app.server.off('connection', count);
      one.destroy();
    }
  });

  it('answers 404 for an unknown chain, naming no chain it serves', async () => {
    const r = await post('nope', 'x');
    expect(r.status).toBe(404);
    expect(r.json().error).toMatchObject({ code: 'unknownChain', chain: 'nope' });
    // Served here are echo, upper, tiny...: other tenants' names.
    for (const served of ['echo', 'upper', 'tiny', 'throw']) expect(r.json().error.message).not.toContain(`"${served}"`);
  });

  it('refuses a declared body over the limit with 413 and keeps serving the connection', async () => {
    const one = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const r = await post('echo-small', 'x'.repeat(4096), { agent: one });
      expect(r.status).toBe(413);
      expect(r.json().error).toMatchObject({ code: 'bodyTooLarge', chain: 'echo-small' });
      expect(r.json().error.message).toContain('1024 bytes');
      const next = await post('echo-small', 'still here', { agent: one });
      expect(next.status).toBe(200);
      expect(next.body.toString()).toBe('still here');
      expect(next.socket).toBe(r.socket);
    } finally {
      one.destroy();
    }
  });

  it('refuses a chunked body with 413 as soon as it grows past the limit', async () => {
    const one = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const chunks = Array.from({ length: 8 }, () => new Uint8Array(512).fill(0x61));
      const r = await call('POST', '/chains/echo-small', { chunks, agent: one });
      expect(r.status).toBe(413);
      expect(r.json().error.code).toBe('bodyTooLarge');
      const next = await post('echo-small', 'next one', { agent: one });
      expect(next.status).toBe(200);
      expect(next.body.toString()).toBe('next one');
    } finally {
      one.destroy();
    }
  });

  it('answers 503 with Retry-After when the chain pool is exhausted', async () => {
    const release = join(tmp, 'release-tiny');
    const held = JSON.stringify({ until: release });
    const first = post('tiny', held);
    expect(await waitFor(() => inUse(TINY), (n) => n === 1)).toBe(1);
    const second = post('tiny', held);
    expect(await waitFor(() => inUse(TINY), (n) => n === 2)).toBe(2);

    const refused = await post('tiny', '{}');
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBe('1');
    expect(refused.json().error).toMatchObject({ code: 'poolExhausted', chain: 'tiny' });

    writeFileSync(release, '');
    for (const r of await Promise.all([first, second])) {
      expect(r.status).toBe(200);
      expect(r.json()).toEqual({ held: true });
    }
  });

  it('answers 504 when the chain does not reply in time and drops the late reply', async () => {
    const release = join(tmp, 'release-slow');
    const r = await post('slow', JSON.stringify({ until: release }));
    expect(r.status).toBe(504);
    expect(r.json().error).toMatchObject({ code: 'timeout', chain: 'slow' });
    expect(injectors.get(CHAIN)!.inFlight).toBe(0);
    // The stage still holds the request's buffer: the gateway gave it away
    // and must not free it under the stage.
    expect(inUse(CHAIN)).toBe(1);

    writeFileSync(release, '');
    expect(await waitFor(() => inUse(CHAIN), (n) => n === 0)).toBe(0);
    const after = await post('upper', 'after the late reply');
    expect(after.body.toString()).toBe('AFTER THE LATE REPLY');
  });

  it("answers 500 with the function's own message when it throws", async () => {
    const r = await post('throw', 'bad input');
    expect(r.status).toBe(500);
    expect(r.json().error).toMatchObject({ code: 'functionError', chain: 'throw' });
    expect(r.json().error.message).toContain('refused to handle "bad input"');
  });

  it('answers 502 noRoute when no instance serves the entry stage', async () => {
    const r = await post('nowhere', 'x');
    expect(r.status).toBe(502);
    expect(r.json().error).toMatchObject({ code: 'noRoute', chain: 'nowhere' });
  });

  it('answers 502 instanceDied at once when the instance crashes mid-request', async () => {
    spawn(14, CHAIN, 4, 'crash.ts');
    const exited = dp.instance(14)!.exited;
    const r = await post('crash', 'take me down');
    // The chain's timeout is 30 s: only the interrupt can answer this.
    expect(r.status).toBe(502);
    expect(r.json().error).toMatchObject({ code: 'instanceDied', chain: 'crash' });
    expect(r.json().error.message).toContain('instance 14 exited with code 7');
    expect((await exited).interrupted).toHaveLength(1);
  });

  it('fails at once, and frees, a request still queued for an instance that is killed', async () => {
    const started = join(tmp, 'busy-started');
    const first = post('busy', JSON.stringify({ started, until: join(tmp, 'never') }));
    expect(await waitFor(() => existsSync(started), Boolean)).toBe(true);
    // The instance spins: the second request waits, unread, in its socket,
    // and its buffer is still the gateway's. ferryd reads it back when the
    // instance dies, so it fails at once instead of at its 30 s timeout.
    const second = post('busy', '{}');
    expect(await waitFor(() => dp.counters(15).rxMsgs, (n) => n === 2)).toBe(2);
    const killedAt = Date.now();
    dp.instance(15)!.child.kill('SIGKILL');
    const [a, b] = await Promise.all([first, second]);
    expect(Date.now() - killedAt).toBeLessThan(1000);
    expect(a.status).toBe(502);
    expect(a.json().error.code).toBe('instanceDied');
    expect(b.status).toBe(502);
    expect(b.json().error.code).toBe('instanceDied');
    // afterEach: both buffers are free again.
  });

  it('reports health and the served chains with their limits', async () => {
    const health = await call('GET', '/healthz');
    expect(health.json()).toEqual({ ok: true });
    const list = await call('GET', '/chains');
    expect(list.status).toBe(200);
    expect(list.json().chains).toContainEqual({ name: 'echo-small', tenant: 'default', chainId: CHAIN, entryStage: 0, maxBodyBytes: 1024, timeoutMs: 10_000, inFlight: 0 });
    expect(list.json().chains).toHaveLength(11);
  });

  it('answers other paths with a JSON 404', async () => {
    const r = await call('GET', '/chain/echo');
    expect(r.status).toBe(404);
    expect(r.json().error.code).toBe('notFound');
  });

  /** count pipelined POSTs from a client that reads nothing until
   * resume() (testdata/slow-reader.py: the kernel takes up to 4 MiB of
   * replies into the gateway's send buffer, so one 2 MiB reply would never
   * stay pending). */
  async function unreadPosts(path: string, body: Uint8Array, count: number, onPort = port) {
    const file = join(tmp, `slow-body-${Math.random().toString(36).slice(2)}`);
    writeFileSync(file, body);
    const child = spawnProcess('python3', [fn('slow-reader.py'), String(onPort), path, String(count)], { stdio: ['pipe', 'pipe', 'inherit'] });
    const lines: string[] = [];
    let waiting: (() => void) | undefined;
    let partial = '';
    child.stdout!.on('data', (d: Buffer) => {
      partial += d.toString();
      let nl;
      while ((nl = partial.indexOf('\n')) >= 0) {
        lines.push(partial.slice(0, nl));
        partial = partial.slice(nl + 1);
        waiting?.();
      }
    });
    const nextLine = async () => {
      while (lines.length === 0) await new Promise<void>((r) => (waiting = r));
      return lines.shift()!;
    };
    child.stdin!.write(`${file}\n`);
    expect(await nextLine()).toBe('sent');
    /** Reads the replies: "STATUS LENGTH SHA256" each, or "closed". */
    const resume = async () => {
      child.stdin!.end('read\n');
      const got: string[] = [];
      while (got.length < count && got.at(-1) !== 'closed') got.push(await nextLine());
      return got;
    };
    return { resume };
  }

  const pattern = (seed: number, n: number) => {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) % 253;
    return b;
  };

  it('writes a reply from its pool buffer and keeps the buffer until a slow client has read it all', async () => {
    const mine = pattern(1, 2 * MiB - 4096);
    const slow = await unreadPosts('/chains/echo', mine, 3);
    // The reply is bigger than the socket buffers take from a client that
    // does not read, so its write stays pending and its buffer lent.
    expect(await waitFor(() => inUse(CHAIN), (n) => n >= 1)).toBeGreaterThanOrEqual(1);
    await new Promise((r) => setTimeout(r, 200));
    expect(inUse(CHAIN)).toBeGreaterThanOrEqual(1);
    // Other requests take buffers of the same class meanwhile: had the
    // slow client's been given back early, one of these would overwrite it.
    for (let i = 0; i < 12; i++) {
      const other = pattern(100 + i, 2 * MiB - 4096);
      const r = await post('echo', other, { headers: { 'content-type': 'application/octet-stream' } });
      expect(r.status).toBe(200);
      expect(r.body.equals(other)).toBe(true);
    }
    const sum = createHash('sha256').update(mine).digest('hex');
    expect(await slow.resume()).toEqual([1, 2, 3].map(() => `200 ${mine.length} ${sum}`));
  });

  it('closes the connection of a client that does not read its reply in time, and frees the buffer', async () => {
    const strict = buildGatewayServer({ directory, log: createLogger({ test: 'gateway' }, 'error'), replyTimeoutMs: 400 });
    await strict.listen({ host: '127.0.0.1', port: 0 });
    try {
      const slow = await unreadPosts('/chains/echo', pattern(7, 2 * MiB - 4096), 3, (strict.server.address() as AddressInfo).port);
      expect(await waitFor(() => inUse(CHAIN), (n) => n >= 1)).toBeGreaterThanOrEqual(1);
      // Past the reply timeout the gateway has closed the connection and
      // taken the buffer back, though the client never read.
      expect(await waitFor(() => inUse(CHAIN), (n) => n === 0)).toBe(0);
      expect((await slow.resume()).at(-1)).toBe('closed');
    } finally {
      await strict.close();
    }
  });

  it('lets a stage annotate a JSON body in place: the reply is the request buffer itself', async () => {
    const inj = injectors.get(CHAIN)!;
    const body = JSON.stringify({ mode: 'mark', order: { id: 7, note: 'a } in a string' }, pad: 'x'.repeat(4000) });
    const r = await inj.request(6, body, { timeoutMs: 5000 });
    expect(r.status).toBe('ok');
    expect(JSON.parse(new TextDecoder().decode(r.body))).toEqual({ ...JSON.parse(body), seen: true, mode: 'mark' });
    expect({ offset: r.offset, generation: r.generation }).toEqual(r.sent);
    // Not an object: the stage fails with the scanner's reason.
    const bad = await post('annotate', '[1,2,3]');
    expect(bad.status).toBe(500);
    expect(bad.json().error.message).toMatch(/not a JSON object at byte 0/);
  });

  it('encodes a returned object straight into the pool, in a new buffer when it outgrows the input', async () => {
    const n = 3000; // 6000 bytes of UTF-8 from a 24-byte request in a 2 KiB buffer
    const r = await post('annotate', JSON.stringify({ mode: 'grow', n }));
    expect(r.status).toBe(200);
    expect(r.json()).toEqual({ grown: 'é'.repeat(n) });
    const small = await post('annotate', JSON.stringify({ mode: 'grow', n: 2 }));
    expect(small.json()).toEqual({ grown: 'éé' });
  });

  it('answers the same through the fast door and through Fastify\'s route', async () => {
    // /chains/echo takes the fast door; /chains/ech%6F is decoded by Fastify.
    const body = '{"same":"answer"}';
    const fast = await post('echo', body, { headers: { 'content-type': 'application/json' } });
    const routed = await call('POST', '/chains/ech%6F', { body, headers: { 'content-type': 'application/json' } });
    for (const r of [fast, routed]) {
      expect(r.status).toBe(200);
      expect(r.headers['content-type']).toBe(fast.headers['content-type']);
      expect(r.body.toString()).toBe(body);
    }
    const missing = [await post('no-such', body), await call('POST', '/chains/no-such?x=1', { body })];
    for (const r of missing) {
      expect(r.status).toBe(404);
      expect(r.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(r.json().error.code).toBe('unknownChain');
    }
  });
});
