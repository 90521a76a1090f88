/**
 * Aggregation jobs end to end through the Admin API: a real control plane
 * with a real local ferryd running the built-in native aggregators. Apply
 * places and starts them and programs ferryd with the JobConfig (its
 * gateway then serves /jobs/NAME); updates through the gateway close a
 * round, which comes back as JobStatus and a round-closed event; re-apply
 * keeps warm aggregators or deploys again when the tree changes; bad
 * files, wrong kinds, unknown names and other tenants are refused; after a
 * control-plane restart the job runs again; delete stops it.
 */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rejection } from '../../../test/helpers/admin.js';
import { startTestControlPlane, type TestControlPlane } from '../../../test/helpers/control-plane.js';
import { sharedTempDir } from '../../../test/helpers/dataplane.js';
import { testCredential } from '../../../test/helpers/pki.js';
import { jobApi, testDelta } from '../../ferryd/jobs/testdata/harness.js';
import { AdminClient } from '../admin/client.js';
import type { AdminEvent, JobStatus } from '../admin/proto.js';

const FILE = '/x/mini.yaml';
const job = (over: { clients?: number; quorum?: number; tenant?: string; rounds?: number } = {}) => `apiVersion: ferry.dev/v1
kind: AggregationJob
metadata: { name: mini${over.tenant ? `, tenant: ${over.tenant}` : ''} }
spec:
  model:
    layers:
      - { name: w, shape: [8, 4] }
      - { name: b, shape: [4] }
  rounds: ${over.rounds ?? 3}
  clients: ${over.clients ?? 4}
  quorum: ${over.quorum ?? over.clients ?? 4}
  roundDeadlineMs: 20000
  hierarchy: { fanIn: 2 }
`;
const PARAMS = 36;

async function until<T>(what: string, get: () => Promise<T | undefined> | T | undefined, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await get();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const ids = (s: JobStatus) => s.aggregators.map((a) => `${a.stage}:${a.instance}`).sort();

describe('aggregation jobs through the Admin API', () => {
  const dataDir = sharedTempDir('ferry-jobs-data-');
  let t: TestControlPlane;
  const apply = (yaml: string, file = FILE) => t.admin.call('ApplyJob', { yaml, file });
  const api = () => jobApi(t.cp.gatewayAddress!, 'mini');
  const eventsOf = (kind: string): AdminEvent[] => t.events.filter((e) => e.kind === kind);

  beforeAll(async () => {
    t = await startTestControlPlane({ test: 'jobs', dataDir });
  });

  afterAll(async () => {
    await t?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('applies a job: two leaves and a top, running on the node, home there, and the gateway serves it', async () => {
    const s = await apply(job());
    expect(s.aggregators.map((a) => [a.stage, a.role, a.node])).toEqual([
      ['leaf-0', 'leaf', 'solo'],
      ['leaf-1', 'leaf', 'solo'],
      ['top', 'top', 'solo'],
    ]);
    expect([s.homeNode, s.levels, s.clients, s.rounds, s.modelBytes]).toEqual(['solo', 2, 4, 3, 4 * PARAMS]);
    const running = await until('aggregators running', async () => {
      const g = await t.admin.call('GetJob', { name: 'mini' });
      return g.aggregators.every((a) => a.state === 'RUNNING') ? g : undefined;
    });
    expect(running.aggregators).toHaveLength(3);
    // ferryd got the JobConfig: its gateway answers for the job.
    const status = await api().status();
    expect(status).toMatchObject({ name: 'mini', paramCount: PARAMS, clients: 4, quorum: 4, rounds: 3 });
    expect(eventsOf('job-applied').at(-1)?.message).toMatch(/job mini generation 1: leaf-0@solo leaf-1@solo top@solo/);
  });

  it('closes a round from updates through the gateway: JobStatus and a round-closed event follow', async () => {
    for (let c = 0; c < 4; c++) {
      const res = await api().update(0, `client-${c}`, 10 + c, testDelta(PARAMS, 0, c));
      expect(res.status, await res.clone().text()).toBe(200);
    }
    const s = await until('round 1 in JobStatus', async () => {
      const g = await t.admin.call('GetJob', { name: 'mini' });
      return g.round === 1 ? g : undefined;
    });
    expect(s.accepted).toBe(4);
    expect(s.state).toBe('open');
    expect(s.lastRoundMs).toBeGreaterThan(0);
    const closed = await until('round-closed event', () => eventsOf('round-closed')[0]);
    expect(closed.message).toMatch(/^job mini: round 0 closed: aggregation [\d.]+ ms, round [\d.]+ ms, 4 updates$/);
    expect(closed.chain).toBe('mini');
  });

  it('keeps the aggregators warm and the rounds going on an unchanged re-apply', async () => {
    const before = await t.admin.call('GetJob', { name: 'mini' });
    const same = await apply(job());
    expect(ids(same)).toEqual(ids(before));
    expect(eventsOf('job-applied').at(-1)?.message).toMatch(/generation 2: unchanged, its aggregators and rounds kept/);
    expect(await api().status()).toMatchObject({ round: 1, accepted: 4 });
  });

  it('starts over with new round rules: fresh aggregators, round 0', async () => {
    const before = await t.admin.call('GetJob', { name: 'mini' });
    const quorum = await apply(job({ quorum: 3 }));
    expect(ids(quorum).some((id) => ids(before).includes(id))).toBe(false);
    expect(eventsOf('job-applied').at(-1)?.message).toMatch(/generation 3: the job changed, deployed again from round 0/);
    expect(await api().status()).toMatchObject({ quorum: 3, round: 0 });
  });

  it('deploys again when the tree changes: 6 clients under fanIn 2 take three levels', async () => {
    const before = await t.admin.call('GetJob', { name: 'mini' });
    const wider = await apply(job({ clients: 6, quorum: 6 }));
    expect(wider.aggregators.map((a) => `${a.stage}/${a.role}`)).toEqual(['leaf-0/leaf', 'leaf-1/leaf', 'leaf-2/leaf', 'mid-0/mid', 'mid-1/mid', 'top/top']);
    expect(wider.levels).toBe(3);
    expect(wider.aggregators.map((a) => a.instance).some((id) => before.aggregators.some((b) => b.instance === id))).toBe(false);
    expect(eventsOf('job-applied').at(-1)?.message).toMatch(/the aggregator tree changed, deployed again from round 0/);
    await until('the new job served', async () => ((await api().status()).clients === 6 ? true : undefined));
  });

  it('refuses a bad file with positioned errors, a chain, and names it does not have', async () => {
    const bad = await rejection(apply(job().replace('fanIn: 2', 'fanIn: 1')));
    expect(bad.code).toBe('INVALID_ARGUMENT');
    expect(bad.specErrors.map((e) => `${e.line}:${e.column} ${e.path}`)).toEqual(['13:23 spec.hierarchy.fanIn']);
    const chain = await rejection(apply('apiVersion: ferry.dev/v1\nkind: Chain\nmetadata: { name: c }\nspec:\n  entry: a\n  functions:\n    - { name: a, runtime: node, handler: /bin/sh }\n'));
    expect(chain.code).toBe('INVALID_ARGUMENT');
    const nodeHint = await rejection(apply(job().replace('hierarchy:', 'placement: { top: sollo }\n  hierarchy:')));
    expect(nodeHint.specErrors[0]?.message).toBe('no node named "sollo" (did you mean "solo"? nodes: solo)');
    const empty = await rejection(apply('  \n'));
    expect([empty.code, empty.message]).toEqual(['INVALID_ARGUMENT', "yaml: empty; send the job file's text"]);
    const two = await rejection(apply(`${job()}---\n${job().replace('name: mini', 'name: other')}`));
    expect([two.code, two.message]).toEqual(['INVALID_ARGUMENT', `${FILE}: holds 2 jobs; apply one AggregationJob per file`]);
    const missing = await rejection(t.admin.call('GetJob', { name: 'nope' }));
    expect([missing.code, missing.message]).toEqual(['NOT_FOUND', 'no job named "nope" in tenant default; its jobs: mini']);
  });

  it("keeps tenants apart: a tenant's credential neither sees nor deletes another's job", async () => {
    const acme = new AdminClient(t.cp.adminAddress, await testCredential({ kind: 'tenant', name: 'acme' }));
    try {
      expect((await acme.call('ListJobs', {})).jobs).toEqual([]);
      const other = await rejection(acme.call('DeleteJob', { name: 'mini', tenant: 'default' }));
      expect([other.code, other.message]).toEqual(['NOT_FOUND', 'no job named "mini" in tenant default']);
      const forbidden = await rejection(acme.call('ApplyJob', { yaml: job({ tenant: 'beta' }), file: FILE }));
      expect(forbidden.code).toBe('PERMISSION_DENIED');
    } finally {
      acme.close();
    }
    const all = await t.admin.call('ListJobs', {});
    expect(all.jobs.map((j) => `${j.tenant}/${j.name}`)).toEqual(['default/mini']);
  });

  it('reports an aggregator killed from outside, and ferryd starting it again', async () => {
    const before = await t.admin.call('GetJob', { name: 'mini' });
    const leaf = before.aggregators.find((a) => a.stage === 'leaf-0')!;
    expect(leaf.pid).toBeGreaterThan(0);
    process.kill(leaf.pid, 'SIGKILL');
    const back = await until('leaf-0 running again under a new pid', async () => {
      const g = await t.admin.call('GetJob', { name: 'mini' });
      const a = g.aggregators.find((x) => x.stage === 'leaf-0')!;
      return a.state === 'RUNNING' && a.pid !== leaf.pid && a.restarts >= 1 ? a : undefined;
    });
    expect(back.instance).toBe(leaf.instance);
    expect(eventsOf('instance-crashed').some((e) => e.chain === 'mini' && e.instance === leaf.instance)).toBe(true);
  });

  it('runs the job again after the control plane restarts', async () => {
    const before = await t.admin.call('GetJob', { name: 'mini' });
    await t.close();
    t = await startTestControlPlane({ test: 'jobs', dataDir });
    const after = await until('the job restored and running', async () => {
      const g = await t.admin.call('GetJob', { name: 'mini' }).catch(() => undefined);
      return g && g.aggregators.every((a) => a.state === 'RUNNING') ? g : undefined;
    });
    // Same ids (the record is what ran), a new ferryd: started again.
    expect(ids(after)).toEqual(ids(before));
    expect(await api().status()).toMatchObject({ name: 'mini', clients: 6 });
    expect(eventsOf('job-applied').some((e) => /restored/.test(e.message))).toBe(true);
  });

  it('deletes the job: aggregators stopped, the gateway forgets it', async () => {
    const { stoppedInstances } = await t.admin.call('DeleteJob', { name: 'mini' });
    expect(stoppedInstances).toBe(6);
    expect((await fetch(api().root)).status).toBe(404);
    expect((await t.admin.call('ListJobs', {})).jobs).toEqual([]);
    await until('job-deleted event', () => eventsOf('job-deleted')[0]);
  });
});
