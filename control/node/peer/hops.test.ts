/**
 * Inter-node hops end to end in one process: two real data planes (own pin
 * dirs, own pools, real instance processes) standing for nodes a and b,
 * linked by real PeerLinks over 127.0.0.1, in both data plane modes.
 *
 *   chain 7:  gateway(a) -> 0 s0 (a) -> 1 s1 (b) -> 2 s2 (a) -> reply
 *   chain 8:  gateway(a) -> 0 t0 (b) -> reply      (the reply crosses back)
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { connect as tcpConnect } from 'node:net';
import { connect } from 'node:tls';
import { FLAG_RESPONSE, STAGE_REPLY } from '../../dataplane/descriptor.js';
import { readTrailer } from '../../dataplane/response.js';
import { Injector, type Reply } from '../../gateway/injector.js';
import { modes } from '../../../test/helpers/dataplane.js';
import { TLS_SERVER_NAME } from '../../auth/grpc.js';
import { nodeTls } from '../../ferryd/testdata/harness.js';
import { encodeFrame, FrameType } from './frame.js';
import { PEER_TRANSPORTS } from './link.js';
import { allowChain, remote, stage, startNode, until, type TestNode } from './testdata/hop-nodes.js';

const text = (r: Reply) => new TextDecoder().decode(r.body);

/** Every data plane mode over TLS links; plain TCP links (the other way
 * payloads are read and written, in place) in the first mode. */
const cases = [...modes.map((m) => [m, 'tls'] as const), ...PEER_TRANSPORTS.filter((t) => t !== 'tls').map((t) => [modes[0]!, t] as const)];

describe.each(cases)('inter-node hops (%s mode, %s link)', (mode, transport) => {
  let a: TestNode;
  let b: TestNode;
  let inj7: Injector;
  let inj8: Injector;

  beforeEach(async () => {
    a = await startNode(mode, transport, 'a', 100);
    b = await startNode(mode, transport, 'b', 200);
    a.link.setPeers([{ name: 'b', address: b.link.address }]);
    b.link.setPeers([{ name: 'a', address: a.link.address }]);

    // chain 7: 0 (a) -> 1 (b) -> 2 (a)
    const edges7: [number, number][] = [[STAGE_REPLY, 0], [0, 1], [1, 2], [0, STAGE_REPLY], [1, STAGE_REPLY], [2, STAGE_REPLY]];
    stage(a, 7, 10, 0, 's0', [{ name: 's1', id: 1 }]);
    stage(b, 7, 11, 1, 's1', [{ name: 's2', id: 2 }]);
    stage(a, 7, 12, 2, 's2', []);
    const egressA = a.hops.program(remote(7, [[1, 'b']]))!;
    a.dp.setRoute(7, 0, [{ instance: 10, weight: 1 }]);
    a.dp.setRoute(7, 1, [{ instance: egressA, weight: 1 }]);
    a.dp.setRoute(7, 2, [{ instance: 12, weight: 1 }]);
    const egressB = b.hops.program(remote(7, [[0, 'a'], [2, 'a']], [[1, 'a']]))!;
    b.dp.setRoute(7, 0, [{ instance: egressB, weight: 1 }]);
    b.dp.setRoute(7, 1, [{ instance: 11, weight: 1 }]);
    b.dp.setRoute(7, 2, [{ instance: egressB, weight: 1 }]);
    allowChain(a, 7, edges7);
    allowChain(b, 7, edges7);
    inj7 = new Injector(a.dp.openGateway(7, 1));

    // chain 8: 0 (b) -> reply to a's gateway
    const edges8: [number, number][] = [[STAGE_REPLY, 0], [0, STAGE_REPLY]];
    stage(b, 8, 21, 0, 't0', []);
    a.dp.setRoute(8, 0, [{ instance: a.hops.program(remote(8, [[0, 'b']]))!, weight: 1 }]);
    b.hops.program(remote(8, [], [[2, 'a']]));
    b.dp.setRoute(8, 0, [{ instance: 21, weight: 1 }]);
    allowChain(a, 8, edges8);
    allowChain(b, 8, edges8);
    inj8 = new Injector(a.dp.openGateway(8, 2));

    await until('the link between a and b', () => a.link.connected().includes('b') && b.link.connected().includes('a'));
  });

  afterEach(async () => {
    inj7.close();
    inj8.close();
    await b.cleanup();
    await a.cleanup();
  });

  it('runs a stage on the other node and comes back for the next one', async () => {
    const r = await inj7.request(0, 'hello', { timeoutMs: 20_000 });
    expect(r.status).toBe('ok');
    expect(text(r)).toBe('hello|s0@a|s1@b|s2@a');
    expect(b.dp.counters(11).rxMsgs).toBe(1);
    expect(a.hops.counters.forwarded).toBe(1);
    expect(b.hops.counters.forwarded).toBe(1);
    expect(a.hops.counters.landed).toBe(1);
    expect(b.hops.counters.landed).toBe(1);
    // Nothing stays in flight once the request came back.
    expect(a.link.stats().peers[0]?.inFlight).toBe(0);
    // Plain links read and write payloads in place; TLS encrypts and
    // decrypts every byte in user space (and says so).
    for (const n of [a, b]) {
      if (transport === 'tcp') expect(n.link.stats().copiedBytes + n.hops.counters.copiedBytes).toBe(0);
      else expect(n.link.stats().copiedBytes).toBeGreaterThan(0);
    }
  });

  it('keeps many requests apart over the one connection', async () => {
    const bodies = Array.from({ length: 40 }, (_, i) => `r${i}`);
    const replies = await Promise.all(bodies.map((body) => inj7.request(0, body, { timeoutMs: 20_000 })));
    expect(replies.map(text)).toEqual(bodies.map((body) => `${body}|s0@a|s1@b|s2@a`));
    expect(b.dp.counters(11).rxMsgs).toBe(40);
  });

  it('carries a reply for a gateway on another node back through its proxy', async () => {
    const r = await inj8.request(0, 'entry', { timeoutMs: 20_000 });
    expect(text(r)).toBe('entry|t0@b');
    expect(b.hops.counters.repliesForwarded).toBe(1);
    expect(b.dp.counters(2).rxMsgs).toBe(1); // the proxy under the gateway's id
  });

  it("carries a function's early answer, flag and HTTP status, back across the link unchanged", async () => {
    // s1 on node b answers 418 itself: s2 (on a) never runs.
    const r = await inj7.request(0, 'respond@b:418', { timeoutMs: 20_000 });
    expect(r.flags).toBe(FLAG_RESPONSE);
    expect(r.statusCode).toBe(418);
    const t = readTrailer(r.body);
    expect(t).toEqual({ body: new TextEncoder().encode('respond@b:418|s0@a|s1@b'), tag: 'text/x-tag' });
    expect(a.dp.counters(12).rxMsgs).toBe(0);
    expect(b.hops.counters.repliesForwarded).toBe(1); // through the proxy of a's gateway
  });

  it('fails the requests in flight on a peer that goes away at once, naming the node', async () => {
    const inFlight = inj7.request(0, 'slow@b:30000', { timeoutMs: 60_000 });
    await until('the request to reach node b', () => b.dp.counters(11).rxMsgs === 1);
    b.link.setPeers([]); // b drops the link: for a, the peer is gone
    const r = await inFlight;
    expect(r.error).toBe(true);
    expect(r.status).toBe('instanceDied');
    expect(text(r)).toMatch(/node b \(127\.0\.0\.1:\d+\) went away while serving stage 1/);

    // And new requests fail at once while there is no link.
    await until('a to see the link down', () => a.link.connected().length === 0);
    const next = await inj7.request(0, 'again', { timeoutMs: 20_000 });
    expect(next.status).toBe('noRoute');
    expect(text(next)).toMatch(/node a: no link to node b \(127\.0\.0\.1:\d+\), which serve stage 1/);
  });

  it('answers poolExhausted when the other node has no buffer for the request', async () => {
    // b's pool of chain 8 has 4 buffers; hold them all with slow requests.
    const slow = Array.from({ length: 4 }, () => inj8.request(0, 'slow@b:2000', { timeoutMs: 20_000 }));
    await until('b to hold 4 requests', () => b.dp.counters(21).rxMsgs === 4);
    const r = await inj8.request(0, 'one more', { timeoutMs: 20_000 });
    expect(r.status).toBe('poolExhausted');
    expect(text(r)).toMatch(/node b could not take the request/);
    for (const s of await Promise.all(slow)) expect(s.status).toBe('ok');
  });

  it('closes a connection that sends a bad frame, counts it, reconnects and keeps serving', async () => {
    // A stranger (with a node certificate: without one it never gets this
    // far, see control/node/peer/link-tls.test.ts) that does not say hello.
    const { ca, cert, key } = await nodeTls('c');
    const port = Number(b.link.address.split(':')[1]);
    const stranger =
      transport === 'tls' ? connect({ host: '127.0.0.1', port, ca, cert, key, servername: TLS_SERVER_NAME, checkServerIdentity: () => undefined }) : tcpConnect(port, '127.0.0.1');
    stranger.on('error', () => undefined); // b may reset it
    await new Promise((r) => stranger.once(transport === 'tls' ? 'secureConnect' : 'connect', r));
    stranger.write(Buffer.alloc(64, 0xab));
    await new Promise((r) => stranger.once('close', r));
    expect(b.link.stats().badFrames).toBe(1);

    // A broken frame on the established link: b cuts it, a redials.
    const conn = a.link.connection('b')!;
    const bad = encodeFrame({ type: FrameType.Request, chainId: 7, stage: 1, fromStage: 0, requestId: 1n, replyTo: 1, status: 0, flags: 0, hopCount: 0 });
    bad.writeUInt16LE(99, 4); // version 99
    conn.write(bad);
    await until('b to cut the link', () => b.link.stats().badFrames === 2);
    await until('a to redial', () => a.link.connection('b') !== undefined && a.link.connection('b') !== conn && b.link.connected().includes('a'));
    const r = await inj7.request(0, 'after', { timeoutMs: 20_000 });
    expect(text(r)).toBe('after|s0@a|s1@b|s2@a');
    expect(b.logs.some((l) => l.includes('unsupported frame version 99'))).toBe(true);
  });

  it('refuses a request for a chain the node does not run, as an error reply', async () => {
    // a's chain 8 routes stage 0 to b; b forgets the chain.
    b.hops.remove(8);
    const r = await inj8.request(0, 'x', { timeoutMs: 20_000 });
    expect(r.status).toBe('noRoute');
    expect(text(r)).toBe('node b does not run chain 8');
  });
});
