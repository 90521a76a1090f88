/**
 * The peer link's identity checks, with real TLS between real PeerLinks on
 * loopback: who is at the other end comes from the certificate, and the
 * hello must agree with it. Strangers without a certificate, with another
 * node's, with a tenant's, or with a hello that names someone else are
 * refused and counted, while the genuine link keeps working.
 */
import { connect as tcpConnect } from 'node:net';
import { connect, type TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testCredential } from '../../../test/helpers/pki.js';
import { TLS_SERVER_NAME } from '../../auth/grpc.js';
import type { Credential } from '../../auth/credential.js';
import { nodeTls, waitFor } from '../../ferryd/testdata/harness.js';
import { createLogger } from '../../log.js';
import { helloFrame } from './frame.js';
import { PeerLink } from './link.js';

interface Node {
  link: PeerLink;
  logs: string[];
}

async function listen(name: string): Promise<Node> {
  const logs: string[] = [];
  const link = await PeerLink.listen({
    name,
    listen: '127.0.0.1:0',
    tls: await nodeTls(name),
    log: createLogger({ node: name }, 'debug', (l) => logs.push(l)),
    backoff: { initialMs: 20, maxMs: 200 },
    helloTimeoutMs: 2000,
  });
  return { link, logs };
}

const portOf = (l: PeerLink) => Number(l.address.split(':')[1]);

/** A TLS client to b's listener with this credential (or none) that says
 * hello as told; resolves when b has closed it. (In TLS 1.3 the client
 * finishes its side of the handshake before the server has judged its
 * certificate, so what counts is what b did.) */
function intrude(b: PeerLink, cred: Credential | undefined, hello: { from: string; to: string }): Promise<void> {
  return new Promise((resolve) => {
    const { ca } = cred ?? { ca: undefined };
    const s: TLSSocket = connect({
      host: '127.0.0.1',
      port: portOf(b),
      ca,
      cert: cred?.cert,
      key: cred?.key,
      servername: TLS_SERVER_NAME,
      checkServerIdentity: () => undefined,
      rejectUnauthorized: false,
    });
    s.on('secureConnect', () => s.write(helloFrame(hello)));
    s.on('data', () => undefined);
    s.on('error', () => undefined);
    s.on('close', () => resolve());
  });
}

describe('peer link over mutual TLS', () => {
  let a: Node;
  let b: Node;
  let c: Node;

  beforeAll(async () => {
    [a, b, c] = await Promise.all([listen('a'), listen('b'), listen('c')]);
    // a dials b (names sort), b waits for a.
    a.link.setPeers([{ name: 'b', address: b.link.address }]);
    b.link.setPeers([{ name: 'a', address: a.link.address }]);
    await waitFor('a <-> b', () => (a.link.connected().includes('b') && b.link.connected().includes('a') ? true : undefined));
  });

  afterAll(async () => {
    for (const n of [a, b, c]) await n?.link.close();
  });

  /** The genuine link is still the same one, up both ways. */
  function linkIntact(conn = a.link.connection('b')): void {
    expect(a.link.connection('b')).toBe(conn);
    expect(b.link.connected()).toEqual(['a']);
  }

  it('refuses a client without a certificate, and plain TCP, at the handshake', async () => {
    const conn = a.link.connection('b');
    const before = b.link.stats().refused;
    await intrude(b.link, undefined, { from: 'a', to: 'b' });
    await new Promise<void>((resolve) => {
      const s = tcpConnect(portOf(b.link), '127.0.0.1', () => s.write(helloFrame({ from: 'a', to: 'b' })));
      s.on('error', () => undefined);
      s.on('close', () => resolve());
    });
    await waitFor('both refusals counted', () => (b.link.stats().refused === before + 2 ? true : undefined));
    expect(b.logs.some((l) => l.includes('refused a connection') && l.includes('TLS handshake failed'))).toBe(true);
    linkIntact(conn);
  });

  it("refuses a node whose hello names another node (c's certificate, a's name)", async () => {
    const conn = a.link.connection('b');
    const before = b.link.stats().refused;
    await intrude(b.link, await nodeTls('c'), { from: 'a', to: 'b' });
    expect(b.link.stats().refused).toBe(before + 1);
    expect(b.logs.some((l) => l.includes('its hello says it is a, but its certificate is node c'))).toBe(true);
    linkIntact(conn);
  });

  it("refuses a tenant's or the operator's certificate: only nodes are peers", async () => {
    const before = b.link.stats().refused;
    for (const id of [{ kind: 'tenant', name: 'a' } as const, { kind: 'operator' } as const])
      await intrude(b.link, await testCredential(id), { from: 'a', to: 'b' });
    expect(b.link.stats().refused).toBe(before + 2);
    expect(b.logs.some((l) => l.includes('its certificate is for tenant a, not a node'))).toBe(true);
    linkIntact();
  });

  it("does not link to a listener that presents another node's certificate", async () => {
    // a is told b lives where c listens: c's certificate is not b's.
    const before = a.link.stats().refused;
    a.link.setPeers([{ name: 'b', address: c.link.address }]);
    await waitFor('a to refuse c', () => (a.link.stats().refused >= before + 2 ? true : undefined));
    expect(a.link.connected()).toEqual([]);
    expect(a.logs.some((l) => l.includes('the server is node c, not node b'))).toBe(true);
    // Told the truth again, a links to b.
    a.link.setPeers([{ name: 'b', address: b.link.address }]);
    await waitFor('a <-> b again', () => (a.link.connected().includes('b') && b.link.connected().includes('a') ? true : undefined));
  });
});
