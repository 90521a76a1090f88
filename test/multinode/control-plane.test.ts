/**
 * The control plane driving two nodes, the way an operator runs it: `ferry
 * up --no-local-node` on the host, two real ferryd in two network
 * namespaces added with `ferry node add` (b labelled site=edge), chains
 * applied with `ferry apply`. Placement splits `edge` over both nodes (its
 * middle stage wants b's data); the control plane links the nodes
 * (SetPeers), gives every node a gateway and programs remote routes, so a
 * request entering at either node's gateway crosses to the other and back.
 * Restarting b's ferryd (it forgets its instances and peers) must heal by
 * itself: the control plane re-links b and redeploys its part.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ferryCli } from '../helpers/ferry-cli.js';
import { waitFor as until } from '../../control/ferryd/testdata/harness.js';
import { repoRoot } from '../../control/paths.js';
import { clusterDown, clusterUp, tlsDirOf } from './cluster.js';
import { claimSubnet, NetnsPair, netnsUnavailable, type NetnsNode } from './netns-nodes.js';

const home = mkdtempSync(join(tmpdir(), 'ferry-mn-cp-'));
/** Subnets 10.21[345].X: 220..249 here, 20..219 in two-node.test.ts. */
const pair = new NetnsPair(`c${process.pid}`, netnsUnavailable ? 0 : claimSubnet(220, 250));
const { a, b } = pair;

const ferry = ferryCli(home);
const tlsDir = (n: NetnsNode) => tlsDirOf(home, n);

async function ok(...args: string[]): Promise<string> {
  const r = await ferry(...args);
  expect(r.code, `ferry ${args.join(' ')}: ${r.stderr}\n${pair.logs()}`).toBe(0);
  return r.stdout;
}

async function post(n: NetnsNode, chain: string, body: string): Promise<{ status: number; text: string }> {
  const res = await fetch(`http://${n.hostIp}:8080/chains/${chain}`, { method: 'POST', body, headers: { 'content-type': 'text/plain' } });
  return { status: res.status, text: await res.text() };
}

interface ChainView {
  stages: { name: string; instances: { id: number; node: string; state: string; pid: number }[] }[];
  gateways?: { node: string }[];
}

describe.skipIf(!!netnsUnavailable)('control plane with two nodes in network namespaces', () => {
  beforeAll(() => clusterUp(pair, ferry, home, { b: ['--label', 'site=edge'] }), 120_000);
  afterAll(() => clusterDown(pair, ferry, home), 60_000);

  it('lists both nodes, ready, with their peer listeners', async () => {
    const nodes = JSON.parse(await ok('get', 'nodes', '-o', 'json')) as { name: string; ready: boolean; labels: Record<string, string> }[];
    expect(nodes.map((n) => [n.name, n.ready])).toEqual([
      ['a', true],
      ['b', true],
    ]);
    expect(nodes[1]!.labels).toEqual({ site: 'edge' });
  });

  it('splits a chain over both nodes by its data and serves it from either gateway', async () => {
    await ok('apply', '-f', join(repoRoot, 'test/multinode/edge.yaml'));
    const chain = JSON.parse(await ok('get', 'chains', 'edge', '-o', 'json')) as ChainView;
    expect(chain.stages.map((s) => [s.name, s.instances.map((i) => i.node)])).toEqual([
      ['here', ['a']],
      ['there', ['b']],
      ['back', ['b']],
    ]);
    for (const n of [a, b]) {
      for (let i = 0; i < 3; i++) {
        const r = await post(n, 'edge', `via-${n.name}-${i}`);
        expect(r, pair.logs()).toEqual({ status: 200, text: `via-${n.name}-${i}|here@a|there@b|back@b` });
      }
    }
  });

  it('scales a stage up next to the stage it talks to, though the other node is emptier, and keeps everything on an unchanged re-apply', async () => {
    type Pids = ChainView & { generation: number };
    await ok('scale', 'edge', 'back', '2');
    const scaled = JSON.parse(await ok('get', 'chains', 'edge', '-o', 'json')) as Pids;
    expect(scaled.stages.map((s) => [s.name, s.instances.map((i) => i.node)])).toEqual([
      ['here', ['a']],
      ['there', ['b']],
      ['back', ['b', 'b']],
    ]);
    for (const n of [a, b]) expect(await post(n, 'edge', `x-${n.name}`)).toEqual({ status: 200, text: `x-${n.name}|here@a|there@b|back@b` });
    await ok('apply', '-f', join(repoRoot, 'test/multinode/edge.yaml'));
    const again = JSON.parse(await ok('get', 'chains', 'edge', '-o', 'json')) as Pids;
    expect(again.generation).toBe(scaled.generation + 1);
    expect(again.stages.map((s) => s.instances.map((i) => [i.id, i.pid]))).toEqual(scaled.stages.map((s) => s.instances.map((i) => [i.id, i.pid])));
    await ok('scale', 'edge', 'back', '1');
    expect(await post(a, 'edge', 'one')).toEqual({ status: 200, text: 'one|here@a|there@b|back@b' });
  });

  it('serves a chain through the gateway of a node that runs none of it', async () => {
    await ok('apply', '-f', join(repoRoot, 'test/multinode/solo.yaml'));
    const chain = JSON.parse(await ok('get', 'chains', 'solo', '-o', 'json')) as ChainView;
    expect(chain.stages[0]!.instances.map((i) => i.node)).toEqual(['b']);
    expect(await post(a, 'solo', 'in-at-a')).toEqual({ status: 200, text: 'in-at-a|only@b' });
  });

  it('heals when b\'s ferryd restarts: re-links b and redeploys its part of every chain', async () => {
    await pair.stop(b, 'SIGKILL');
    const down = await post(a, 'edge', 'while-b-is-down');
    expect(down.status).toBe(502);

    pair.start(b, { gateway: true, tlsDir: tlsDir(b) });
    const back = await until(
      'edge to serve again through a',
      async () => {
        const r = await post(a, 'edge', 'after-restart').catch(() => undefined);
        return r?.status === 200 ? r : undefined;
      },
      60_000,
    );
    expect(back.text).toBe('after-restart|here@a|there@b|back@b');
    // Chains come back one after the other, each once its instances are ready.
    const solo = await until(
      'solo to serve again through b',
      async () => {
        const r = await post(b, 'solo', 'in-at-b').catch(() => undefined);
        return r?.status === 200 ? r : undefined;
      },
      60_000,
    );
    expect(solo).toEqual({ status: 200, text: 'in-at-b|only@b' });
    const nodes = JSON.parse(await ok('get', 'nodes', '-o', 'json')) as { name: string; ready: boolean }[];
    expect(nodes.every((n) => n.ready)).toBe(true);
  }, 90_000);
});
