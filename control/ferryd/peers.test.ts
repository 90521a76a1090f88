/**
 * SetPeers and the remote parts of ProgramChain, through the real gRPC API
 * of a real ferryd: what is refused, and why. (Requests crossing nodes are
 * tested in control/node/peer/hops.test.ts and test/multinode/.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modes } from '../../test/helpers/dataplane.js';
import { RouterClass } from '../dataplane/native.js';
import { createLogger } from '../log.js';
import type { FerrydClient } from './client.js';
import { startFerryd, type Ferryd } from './server.js';
import { chainInstances, chainProgram, connectFerryd, nodeTls, testPinDir } from './testdata/harness.js';

const mode = modes[0]!;

async function start(peerAddress?: string): Promise<{ ferryd: Ferryd; client: FerrydClient; pinDir: string }> {
  const pinDir = testPinDir();
  const ferryd = await startFerryd({
    name: 'n1',
    tls: await nodeTls('n1'),
    grpcAddress: '127.0.0.1:0',
    peerAddress,
    pinDir,
    mode,
    log: createLogger({ test: true }, 'error', () => undefined),
  });
  return { ferryd, client: connectFerryd(ferryd.grpcAddress), pinDir };
}

async function stop(n: { ferryd: Ferryd; client: FerrydClient; pinDir: string }) {
  n.client.close();
  await n.ferryd.close();
  if (mode === 'ebpf') RouterClass.unpin(n.pinDir);
}

describe('ferryd peers', () => {
  let n: Awaited<ReturnType<typeof start>>;

  beforeAll(async () => {
    n = await start('127.0.0.1:0');
    await n.client.createPool({ chainId: 5, chainName: 'c5' });
    for (const i of chainInstances(5, 50)) await n.client.startInstance(i);
  });
  afterAll(() => stop(n));

  it('tells its peer address', async () => {
    const info = await n.client.getNodeInfo();
    expect(info.peerAddress).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(info.peerAddress).not.toBe('127.0.0.1:0');
  });

  it.each([
    [{ peers: [{ name: 'n1', address: '127.0.0.1:1' }], infraIdBase: 1, infraIdCount: 4 }, /peers\[0\]\.name: "n1" is this node itself/],
    [{ peers: [{ name: 'x', address: '127.0.0.1:1' }, { name: 'x', address: '127.0.0.1:2' }], infraIdBase: 1, infraIdCount: 4 }, /peers\[1\]\.name: "x" is listed twice/],
    [{ peers: [{ name: 'x', address: 'nowhere' }], infraIdBase: 1, infraIdCount: 4 }, /peers\[0\]\.address: .*"nowhere" is not host:port/],
    [{ peers: [{ name: 'x', address: '127.0.0.1:1' }], infraIdBase: 16380, infraIdCount: 10 }, /infra_id_base: the block 16380\.\.16389 must lie within 1\.\.16383/],
    [{ peers: [{ name: 'x', address: '127.0.0.1:1' }] }, /infra_id_count: peers need infra ids/],
  ])('refuses SetPeers %j', async (req, message) => {
    await expect(n.client.setPeers(req)).rejects.toThrow(message);
  });

  it('refuses remote targets on a node that is no peer, and a remote gateway that is its own', async () => {
    const prog = chainProgram(5, 50, 59, 'c5');
    const routes = [prog.routes![0]!, { stage: 1, targets: [{ instance: 77, weight: 1, node: 'elsewhere' }] }];
    await expect(n.client.programChain({ ...prog, routes })).rejects.toThrow(/FAILED_PRECONDITION: node elsewhere is not a peer of n1: SetPeers first/);
    await expect(n.client.programChain({ ...prog, remoteGateways: [{ instance: 59, node: 'x' }] })).rejects.toThrow(
      /remote_gateways\[0\]\.instance: 59 is this node's own gateway/,
    );
  });

  it('routes a stage served elsewhere to its egress, from the infra id block', async () => {
    await n.client.setPeers({ peers: [{ name: 'n2', address: '127.0.0.1:9' }], infraIdBase: 900, infraIdCount: 8 });
    const prog = chainProgram(5, 50, 59, 'c5');
    const routes = [prog.routes![0]!, { stage: 1, targets: [{ instance: 77, weight: 3, node: 'n2' }] }];
    await n.client.programChain({ ...prog, routes, remoteGateways: [{ instance: 88, node: 'n2' }] });
    expect(n.ferryd.daemon.routes.route(5, 1)).toEqual([{ instance: 900, weight: 3, node: '' }]);
    // A block in use cannot move.
    await expect(n.client.setPeers({ peers: [{ name: 'n2', address: '127.0.0.1:9' }], infraIdBase: 2000, infraIdCount: 8 })).rejects.toThrow(
      /FAILED_PRECONDITION: infra_id_base: infra ids 900\.\.907 are in use/,
    );
    // Back to local only: the egress goes, and its id with it.
    await n.client.programChain(prog);
    expect(n.ferryd.daemon.routes.route(5, 1)).toEqual([{ instance: 51, weight: 1, node: '' }]);
    await n.client.setPeers({ peers: [], infraIdBase: 2000, infraIdCount: 8 });
  });

  it('refuses SetPeers and remote targets without a peer listener', async () => {
    const lone = await start();
    try {
      await expect(lone.client.setPeers({ peers: [] })).rejects.toThrow(/FAILED_PRECONDITION: this ferryd has no peer listener/);
      expect((await lone.client.getNodeInfo()).peerAddress).toBe('');
    } finally {
      await stop(lone);
    }
  });
});
