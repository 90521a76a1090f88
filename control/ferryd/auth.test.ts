/**
 * ferryd's gRPC API over mutual TLS, attacked from outside: a real ferryd,
 * real TLS handshakes, clients holding no certificate, a forged one, an
 * expired one, or a genuine one of the wrong kind. Each is refused, and
 * ferryd goes on serving the control plane.
 */
import { ChannelCredentials, Client, credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forgedCredential, testCredential, type Forgery } from '../../test/helpers/pki.js';
import { modes } from '../../test/helpers/dataplane.js';
import { CHANNEL_OPTIONS, channelCredentials, expectServer } from '../auth/grpc.js';
import type { Identity } from '../auth/identity.js';
import { createLogger } from '../log.js';
import { connectFerryd as connectWith } from './client.js';
import { rpcCodec } from './proto.js';
import { startFerryd } from './server.js';
import { connectFerryd, nodeTls, startTestFerryd, testPinDir, type TestFerryd } from './testdata/harness.js';

const mode = modes[modes.length - 1]!;

/** GetNodeInfo over any channel credentials: the gRPC code name, or 'OK'. */
function getNodeInfo(address: string, creds: ChannelCredentials): Promise<{ code: string; details: string }> {
  const client = new Client(address, creds, CHANNEL_OPTIONS);
  const codec = rpcCodec('GetNodeInfo');
  return new Promise((resolve) => {
    client.makeUnaryRequest(codec.path, codec.serialize, codec.deserialize, {}, new Metadata(), { deadline: Date.now() + 10_000 }, (err: ServiceError | null) => {
      client.close();
      resolve(err ? { code: String(err.code), details: err.details } : { code: 'OK', details: '' });
    });
  });
}

const UNAVAILABLE = '14';

describe(`ferryd gRPC refuses whoever may not drive it (${mode} mode)`, () => {
  let t: TestFerryd;

  beforeAll(async () => {
    t = await startTestFerryd(mode, 'guarded');
  });
  afterAll(() => t.cleanup());

  /** After every refusal ferryd must still serve its control plane. */
  async function stillServes(): Promise<void> {
    expect((await t.client.getNodeInfo({ timeoutMs: 5000 })).name).toBe('guarded');
  }

  it('takes the control plane and the operator', async () => {
    await stillServes();
    const op = connectWith(t.ferryd.grpcAddress, await testCredential({ kind: 'operator' }));
    expect((await op.getNodeInfo()).name).toBe('guarded');
    expect(op.server).toEqual({ kind: 'node', name: 'guarded' });
    op.close();
  });

  it('refuses a plaintext client and a TLS client without a certificate at the handshake', async () => {
    const plain = await getNodeInfo(t.ferryd.grpcAddress, credentials.createInsecure());
    expect(plain.code).toBe(UNAVAILABLE);
    const { ca } = await testCredential({ kind: 'operator' });
    const anonymous = await getNodeInfo(t.ferryd.grpcAddress, ChannelCredentials.createSsl(Buffer.from(ca), null, null, { checkServerIdentity: () => undefined }));
    expect(anonymous.code).toBe(UNAVAILABLE);
    expect(anonymous.details).toMatch(/alert certificate required/);
    await stillServes();
  });

  it.each<Forgery>(['self-signed', 'foreign-ca', 'expired'])('refuses an operator certificate that is %s', async (forgery) => {
    const forged = await forgedCredential(forgery, { kind: 'operator' });
    const r = await getNodeInfo(t.ferryd.grpcAddress, channelCredentials(forged, expectServer(['node'])));
    expect(r.code).toBe(UNAVAILABLE);
    // The same client with the genuine certificate gets in: the certificate is what was refused.
    const genuine = await getNodeInfo(t.ferryd.grpcAddress, channelCredentials(await testCredential({ kind: 'operator' }), expectServer(['node'])));
    expect(genuine.code).toBe('OK');
    await stillServes();
  });

  it.each<Identity>([
    { kind: 'tenant', name: 'acme' },
    { kind: 'node', name: 'other' },
  ])('answers a genuine %j certificate PERMISSION_DENIED naming the credential it needs, unary and streaming', async (id) => {
    const c = connectWith(t.ferryd.grpcAddress, await testCredential(id));
    await expect(c.startInstance({ chainId: 1, instanceId: 1, stage: 0, stageName: 'x', runtime: 'node', handler: '/bin/true' })).rejects.toThrow(
      /PERMISSION_DENIED: (tenant acme|node other) may not call this; it needs the control plane's or the operator's credential/,
    );
    const stream = c.streamStats({ intervalMs: 50 });
    const err = await new Promise<ServiceError>((resolve) => stream.on('error', resolve));
    expect(err.details).toMatch(/may not call this; it needs the control plane's or the operator's credential/);
    c.close();
    expect(t.logs.some((l) => l.includes('call refused') && l.includes('StartInstance'))).toBe(true);
    await stillServes();
  });

  it('is not taken for another node by a client that expects one', async () => {
    const wrong = connectFerryd(t.ferryd.grpcAddress, 'elsewhere');
    await expect(wrong.getNodeInfo({ timeoutMs: 5000 })).rejects.toThrow(/UNAVAILABLE.*the server is node guarded, not node elsewhere/);
    wrong.close();
  });

  it('will not start with a certificate of another node, or one that is not a node\'s', async () => {
    const base = { grpcAddress: '127.0.0.1:0', pinDir: testPinDir(), mode, log: createLogger({}, 'error', () => undefined) };
    await expect(startFerryd({ ...base, name: 'mine', tls: await nodeTls('theirs') })).rejects.toThrow(
      /the node certificate is for node theirs, not mine: start with --name theirs or issue one with `ferry node cert mine`/,
    );
    await expect(startFerryd({ ...base, tls: await testCredential({ kind: 'tenant', name: 'acme' }) })).rejects.toThrow(
      /ferryd needs a node certificate, and this one is for tenant acme/,
    );
  });
});
