/**
 * The gateway's HTTP edges, from outside, the way a careless client or an
 * attacker would hit them: methods other than GET/HEAD/POST (405 with
 * Allow), HEAD (answered without running the chain), malformed HTTP over a
 * raw socket, names it does not serve (404 naming no chain), and chains it
 * is restoring (503 with Retry-After). Every error in ferry's JSON shape;
 * the gateway serves a good request afterwards. Real HTTP, a real data
 * plane and a real function instance whose router counters show whether
 * anything reached it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { STAGE_REPLY } from '../dataplane/descriptor.js';
import type { NodeDataPlane } from '../node/dataplane.js';
import { createLogger } from '../log.js';
import { modes, openDataPlane } from '../../test/helpers/dataplane.js';
import type { ChainDirectory, ServedChain } from './directory.js';
import { buildGatewayServer } from './http.js';
import { Injector } from './injector.js';
import { httpCall, rawHttp, type HttpAnswer } from './testdata/http-client.js';

const CHAIN = 61;
const ECHO = 10;
const mode = modes[0]!; // HTTP parsing does not depend on the data plane mode

/** ferry's error shape, and nothing else. */
function expectFerryError(r: HttpAnswer, status: number, code: string) {
  expect(r.status, r.body.toString()).toBe(status);
  expect(r.headers['content-type']).toBe('application/json; charset=utf-8');
  const body = r.json();
  expect(Object.keys(body)).toEqual(['error']);
  expect(body.error.code).toBe(code);
  expect(typeof body.error.message).toBe('string');
  expect(body.error.message.length).toBeGreaterThan(10);
  expect(Object.keys(body.error).every((k) => ['code', 'message', 'chain'].includes(k))).toBe(true);
  return body.error as { code: string; message: string; chain?: string };
}

describe(`gateway HTTP edges (${mode} mode)`, () => {
  let dp: NodeDataPlane;
  let cleanup: () => Promise<void>;
  let injector: Injector;
  let app: FastifyInstance;
  let port: number;
  const echoRuns = () => dp.counters(ECHO).rxMsgs;
  const call = (method: string, path: string, body?: string) => httpCall(port, method, path, { body });

  beforeAll(async () => {
    ({ dp, cleanup } = await openDataPlane(mode));
    dp.createPool(CHAIN, 'edges', { classes: [{ size: 2048, count: 16 }] });
    dp.spawn({ instanceId: ECHO, chainId: CHAIN, stage: 0, stageName: 'echo', runtime: 'node', handler: join(import.meta.dirname, 'testdata/echo.ts'), next: [] });
    dp.setRoute(CHAIN, 0, [{ instance: ECHO, weight: 1 }]);
    dp.allow(CHAIN, STAGE_REPLY, 0);
    dp.allow(CHAIN, 0, STAGE_REPLY);
    injector = new Injector(dp.openGateway(CHAIN, 1));
    const echo: ServedChain = { name: 'echo', tenant: 'default', chainId: CHAIN, entryStage: 0, maxBodyBytes: 2048, timeoutMs: 10_000, bodyTimeoutMs: 10_000, injector };
    const secret: ServedChain = { ...echo, name: 'other-tenants-payroll' };
    const directory: ChainDirectory = {
      lookup: (name) => [echo, secret].find((c) => c.name === name),
      list: () => [echo, secret],
      restoring: (name) => name === 'coming-back',
    };
    app = buildGatewayServer({ directory, log: createLogger({ test: 'edges' }, 'error') });
    await app.listen({ host: '127.0.0.1', port: 0 });
    port = (app.server.address() as AddressInfo).port;
    // The instance is up: one request through it.
    expect((await call('POST', '/chains/echo', 'ready?')).body.toString()).toBe('ready?');
  });

  afterAll(async () => {
    await app?.close();
    injector?.close();
    await cleanup?.();
  });

  describe('methods', () => {
    it.each(['PUT', 'DELETE', 'PATCH', 'OPTIONS', 'PROPFIND', 'TRACE'])('answers %s /chains/echo with 405 and Allow, without running it', async (method) => {
      const before = echoRuns();
      const r = await call(method, '/chains/echo', method === 'TRACE' ? undefined : '{"x":1}');
      expect(r.headers.allow).toBe('GET, HEAD, POST');
      const e = expectFerryError(r, 405, 'methodNotAllowed');
      expect(e.message).toContain(`${method} is not allowed on /chains/echo`);
      expect(echoRuns()).toBe(before);
    });

    it('answers 405 with the right Allow on the other paths, CONNECT included', async () => {
      const list = await call('DELETE', '/chains');
      expectFerryError(list, 405, 'methodNotAllowed');
      expect(list.headers.allow).toBe('GET, HEAD');
      expect((await call('POST', '/healthz', '{}')).headers.allow).toBe('GET, HEAD');
      // The tenant-qualified paths are the same paths.
      expect((await call('PUT', '/tenants/acme/chains/echo', '{}')).headers.allow).toBe('GET, HEAD, POST');
      expect((await call('DELETE', '/tenants/acme/chains')).headers.allow).toBe('GET, HEAD');
      const connect = await rawHttp(port, 'CONNECT /chains/echo HTTP/1.1\r\nHost: a\r\n\r\n');
      expectFerryError(connect, 405, 'methodNotAllowed');
      expect(connect.headers.allow).toBe('GET, HEAD, POST');
    });

    it('answers HEAD from what it knows of the chain, never running it', async () => {
      const before = echoRuns();
      const served = await call('HEAD', '/chains/echo');
      expect(served.status).toBe(200);
      expect(served.headers.allow).toBe('GET, HEAD, POST');
      expect(served.body.byteLength).toBe(0);
      expect((await call('HEAD', '/chains/nope')).status).toBe(404);
      const restoring = await call('HEAD', '/chains/coming-back');
      expect(restoring.status).toBe(503);
      expect(restoring.headers['retry-after']).toBe('2');
      expect(echoRuns()).toBe(before);
      // The counter does count: GET and POST run the chain.
      await call('GET', '/chains/echo?a=1');
      await call('POST', '/chains/echo', 'x');
      expect(echoRuns()).toBe(before + 2);
    });
  });

  describe('names', () => {
    it('answers 404 for an unknown chain naming no chain it serves', async () => {
      for (const method of ['POST', 'GET']) {
        const e = expectFerryError(await call(method, '/chains/payroll', method === 'POST' ? '{}' : undefined), 404, 'unknownChain');
        expect(e.chain).toBe('payroll');
        expect(e.message).not.toMatch(/echo|other-tenants/);
      }
    });

    it('answers 503 restoring with Retry-After for a chain served before a restart', async () => {
      const r = await call('POST', '/chains/coming-back', '{}');
      const e = expectFerryError(r, 503, 'restoring');
      expect(e.chain).toBe('coming-back');
      expect(r.headers['retry-after']).toBe('2');
    });

    it('answers unknown paths, bad escapes and overlong names in its own shape', async () => {
      expectFerryError(await call('GET', '/admin'), 404, 'notFound');
      expectFerryError(await rawHttp(port, 'GET /chains/%E0%A4%A HTTP/1.1\r\nHost: a\r\n\r\n'), 400, 'badUrl');
      expectFerryError(await call('GET', `/chains/${'n'.repeat(300)}`), 414, 'nameTooLong');
    });
  });

  describe('malformed HTTP over a raw socket', () => {
    const post = (headers: string, body = '') => `POST /chains/echo HTTP/1.1\r\nHost: a\r\n${headers}\r\n${body}`;
    const cases: [string, string, number, string][] = [
      ['a request line that is not HTTP', 'GARBAGE\r\n\r\n', 400, 'badMethod'],
      ['an unknown method', 'BREW /chains/echo HTTP/1.1\r\nHost: a\r\n\r\n', 400, 'badMethod'],
      ['a request target that is not a path', 'GET chains HTTP/1.1\r\nHost: a\r\n\r\n', 400, 'badUrl'],
      ['an unknown HTTP version', 'GET /chains/echo HTTP/9.9\r\nHost: a\r\n\r\n', 505, 'badVersion'],
      ['a header name with a space', post('Bad Header: v\r\n'), 400, 'badHeader'],
      ['a control character in a header value', post('X-A: a\x01b\r\n'), 400, 'badHeader'],
      ['a Content-Length that is not a number', post('Content-Length: 12abc\r\n'), 400, 'badContentLength'],
      ['two different Content-Lengths', post('Content-Length: 1\r\nContent-Length: 2\r\n', 'ab'), 400, 'badContentLength'],
      ['a negative Content-Length', post('Content-Length: -1\r\n'), 400, 'badContentLength'],
      ['Content-Length with chunked', post('Content-Length: 3\r\nTransfer-Encoding: chunked\r\n', '0\r\n\r\n'), 400, 'badTransferEncoding'],
      ['a Transfer-Encoding not ending in chunked', post('Transfer-Encoding: chunked, gzip\r\n'), 400, 'badTransferEncoding'],
      ['headers over 16 KiB', post(`X-Big: ${'a'.repeat(20_000)}\r\n`), 431, 'headersTooLarge'],
      ['no Host in HTTP/1.1', 'GET /chains/echo HTTP/1.1\r\n\r\n', 400, 'missingHost'],
    ];

    it.each(cases)('answers %s in ferry\'s shape', async (_what, bytes, status, code) => {
      const before = echoRuns();
      expectFerryError(await rawHttp(port, bytes), status, code);
      expect(echoRuns()).toBe(before);
    });

    it('answers a chunk size that is not hex, sent after the headers were accepted', async () => {
      const r = await rawHttp(port, post('Transfer-Encoding: chunked\r\n', 'zz\r\nab\r\n0\r\n\r\n'));
      expectFerryError(r, 400, 'badTransferEncoding');
      // The body's buffer was the gateway's: it is free again.
      for (let i = 0; i < 100 && dp.pool(CHAIN).stats().inUse > 0; i++) await new Promise((ok) => setTimeout(ok, 20));
      expect(dp.pool(CHAIN).stats().inUse).toBe(0);
    });

    it('still serves a good request afterwards, on a fresh connection', async () => {
      const r = await rawHttp(port, post('Content-Length: 5\r\nConnection: close\r\n', 'hello'));
      expect(r.status).toBe(200);
      expect(r.body.toString()).toBe('hello');
    });
  });
});
