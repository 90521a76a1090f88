/**
 * The plain (zero-copy) peer link from outside, where it can go wrong:
 * a real node b (data plane, pools, instance process, PeerLink over plain
 * TCP) and at the other end either a peer process that is killed in the
 * middle of a frame and started again, one that sends forged headers, or
 * one that stops reading while node a writes to it from its pool.
 *
 * What must hold: a payload is read into a pool buffer reserved from its
 * header (the pool shows it before the payload is complete), whatever a
 * dead peer's half frame held goes back (occupancy 0), a bad header costs
 * that connection only, and a peer that stops reading cannot pin a's pool
 * buffers past their deadline: the link is cut first and they go back.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FLAG_ERROR, STAGE_REPLY, Status } from '../../dataplane/descriptor.js';
import { Injector } from '../../gateway/injector.js';
import { paths, repoRoot } from '../../paths.js';
import { modes } from '../../../test/helpers/dataplane.js';
import { DEFAULT_MAX_PAYLOAD, encodeHeader, FrameType, HEADER_SIZE, helloFrame, type FrameHeader } from './frame.js';
import { allowChain, remote, stage, startNode, until, type TestNode } from './testdata/hop-nodes.js';

const FAKE_PEER = join(repoRoot, 'control/node/peer/testdata/fake-peer.ts');
const mode = modes[0]!;

/** A request for chain 8's stage 0 on b, answered to gateway 2 (on a0). */
const request = (requestId: bigint): Omit<FrameHeader, 'length'> => ({
  type: FrameType.Request, chainId: 8, stage: 0, fromStage: STAGE_REPLY, requestId, replyTo: 2, status: 0, flags: 0, hopCount: 1,
});

interface FakePeer {
  child: ChildProcess;
  lines: string[];
  send(bytes: Buffer): void;
}

/** fake-peer.ts dialing b as a0 (a0 sorts before b, so a0 dials). */
async function fakePeer(b: TestNode): Promise<FakePeer> {
  const child = spawn(process.execPath, ['--import', pathToFileURL(paths.tsxLoader).href, FAKE_PEER, b.link.address, 'a0', 'b'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines: string[] = [];
  createInterface({ input: child.stdout! }).on('line', (l) => lines.push(l));
  await until('the fake peer to be linked', () => lines.includes('ready') || child.exitCode !== null, 20_000);
  expect(lines).toContain('ready');
  return { child, lines, send: (bytes) => child.stdin!.write(`${bytes.toString('hex')}\n`) };
}

function kill(p: FakePeer): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return Promise.resolve();
  const gone = new Promise<void>((r) => p.child.once('exit', () => r()));
  p.child.kill('SIGKILL');
  return gone;
}

describe(`plain peer link from outside (${mode} mode)`, () => {
  let b: TestNode;
  const peers: FakePeer[] = [];
  const inUse = () => b.dp.pool(8).stats().inUse;

  beforeEach(async () => {
    b = await startNode(mode, 'tcp', 'b', 200);
    b.link.setPeers([{ name: 'a0', address: '127.0.0.1:1' }]);
    stage(b, 8, 21, 0, 't0', []);
    b.dp.setRoute(8, 0, [{ instance: 21, weight: 1 }]);
    allowChain(b, 8, [[STAGE_REPLY, 0], [0, STAGE_REPLY]]);
    b.hops.program(remote(8, [], [[2, 'a0']]));
    await until('t0 to be ready', () => b.dp.instance(21)?.ready === true, 20_000);
  });

  afterEach(async () => {
    for (const p of peers.splice(0)) await kill(p);
    await b.cleanup();
  });

  it('gives back the buffer of a frame half read when its peer is killed, and lands frames again from the restarted peer', async () => {
    const first = await fakePeer(b);
    peers.push(first);
    first.send(Buffer.concat([encodeHeader(request(1n), 1500), Buffer.alloc(700, 0x61)]));
    // Reserved from the header, before the payload is all there.
    await until('b to reserve the frame\'s buffer', () => inUse() === 1);
    await kill(first);
    await until('the half frame\'s buffer to go back', () => inUse() === 0);
    await until('b to see a0 gone', () => !b.link.connected().includes('a0'));

    const again = await fakePeer(b);
    peers.push(again);
    const body = Buffer.from('x'.repeat(1500));
    again.send(Buffer.concat([encodeHeader(request(2n), body.length), body]));
    await until('the reply to come back over the link', () => again.lines.some((l) => l.startsWith('frame 3 ')));
    expect(again.lines.find((l) => l.startsWith('frame 3 '))).toMatch(/^frame 3 0 \d+ 1505 x+\|t0@b$/);
    expect(b.hops.counters.landed).toBe(1);
    await until('every buffer back', () => inUse() === 0);
    expect(b.link.stats().copiedBytes + b.hops.counters.copiedBytes).toBe(0);
  });

  it('cuts a connection whose header announces more than the limit, and only that one', async () => {
    const p = await fakePeer(b);
    peers.push(p);
    p.send(encodeHeader(request(3n), DEFAULT_MAX_PAYLOAD + 1));
    await until('b to cut it', () => p.lines.includes('closed'));
    expect(b.link.stats().badFrames).toBe(1);
    expect(b.logs.some((l) => l.includes(`payload of ${DEFAULT_MAX_PAYLOAD + 1} bytes is over the limit`))).toBe(true);
    expect(inUse()).toBe(0);

    // A forged header (reserved bytes set) the same way; then a good peer is served.
    const forged = await fakePeer(b);
    peers.push(forged);
    const h = encodeHeader(request(4n), 10);
    h.writeUInt16LE(7, 34);
    forged.send(h);
    await until('b to cut the forged one', () => forged.lines.includes('closed'));
    expect(b.link.stats().badFrames).toBe(2);

    const good = await fakePeer(b);
    peers.push(good);
    good.send(Buffer.concat([encodeHeader(request(5n), 2), Buffer.from('ok')]));
    await until('the reply', () => good.lines.some((l) => l.startsWith('frame 3 ')));
    expect(good.lines.find((l) => l.startsWith('frame 3 '))).toMatch(/ok\|t0@b$/);
  });

  it('answers a frame larger than any buffer of the pool with tooLarge and keeps the link', async () => {
    const p = await fakePeer(b);
    peers.push(p);
    p.send(Buffer.concat([encodeHeader(request(6n), 1 << 20), Buffer.alloc(1 << 20, 0x62)]));
    await until('the refusal', () => p.lines.some((l) => l.startsWith('frame 3 ')));
    const [, , status, flags] = p.lines.find((l) => l.startsWith('frame 3 '))!.split(' ');
    expect(Number(status)).toBe(Status.tooLarge);
    expect(Number(flags) & FLAG_ERROR).toBe(FLAG_ERROR);
    expect(b.link.connected()).toContain('a0');
    expect(inUse()).toBe(0);
  });
});

describe(`a peer that stops reading (${mode} mode)`, () => {
  let a: TestNode;
  let server: Server;
  const held: Socket[] = [];
  let inj: Injector;
  const LIFETIME_MS = 1500;

  beforeEach(async () => {
    a = await startNode(mode, 'tcp', 'a', 100);
    a.dp.createPool(9, 'a-9', { classes: [{ size: 1 << 20, count: 24 }], lifetimeMs: LIFETIME_MS });
    // "b": answers the hello, then never reads another byte.
    server = createServer((s) => {
      held.push(s);
      s.once('data', () => {
        s.write(helloFrame({ from: 'b', to: 'a' }));
        s.pause();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    a.link.setPeers([{ name: 'b', address: `127.0.0.1:${port}` }]);
    const egress = a.hops.program(remote(9, [[0, 'b']]))!;
    a.dp.setRoute(9, 0, [{ instance: egress, weight: 1 }]);
    allowChain(a, 9, [[STAGE_REPLY, 0], [0, STAGE_REPLY]]);
    inj = new Injector(a.dp.openGateway(9, 3));
    await until('a to link to b', () => a.link.connected().includes('b'));
  });

  afterEach(async () => {
    inj.close();
    for (const s of held.splice(0)) s.destroy();
    server.close();
    await a.cleanup();
  });

  it('cuts the link before the buffers it is writing expire, and they go back', async () => {
    const body = new Uint8Array(1 << 20).fill(0x63);
    const started = Date.now();
    const replies = Array.from({ length: 20 }, () => inj.request(0, body, { timeoutMs: 20_000 }));
    await until('writes to back up behind the peer', () => (a.link.stats().peers[0]?.sendingBytes ?? 0) > 0);
    expect(a.dp.pool(9).stats().inUse).toBeGreaterThan(0);
    await until('a to cut the link', () => a.logs.some((l) => l.includes('did not take a frame')), 10_000);
    const cutAfter = Date.now() - started;
    // The cut comes at the buffers' deadline as the link set it, before the
    // keeper would take them back (lifetime + 1 s margin).
    expect(cutAfter).toBeGreaterThanOrEqual(LIFETIME_MS - 100);
    await until('every buffer back', () => a.dp.pool(9).stats().inUse === 0, 5_000);
    expect(Date.now() - started).toBeLessThan(LIFETIME_MS + 1000);
    for (const r of await Promise.all(replies)) expect(r.error).toBe(true);
  });
});
