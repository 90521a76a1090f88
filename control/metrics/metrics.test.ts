/**
 * Prometheus /metrics of a real control plane and its local ferryd, scraped
 * over HTTP after real requests: the names, labels and values an operator's
 * dashboards and alerts rely on.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../log.js';
import { repoRoot } from '../paths.js';
import { testCredential } from '../../test/helpers/pki.js';
import { find, scrape, total, type Sample } from '../../test/helpers/prometheus.js';
import { controlPlaneTls, nodeTls, waitFor } from '../ferryd/testdata/harness.js';
import { startControlPlane, type ControlPlane } from '../controlplane/control-plane.js';
import { AdminClient } from '../controlplane/admin/client.js';

const dataDir = mkdtempSync(join(tmpdir(), 'ferry-metrics-'));
const pinDir = `/sys/fs/bpf/ferry-test-${process.pid}-metrics`;
const greetFile = join(repoRoot, 'control/cli/testdata/greet.yaml');
const log = createLogger({ test: 'metrics' }, 'warn');
const chain = { chain: 'greet', tenant: 'default' };

let cp: ControlPlane;
let admin: AdminClient;

/** A histogram's buckets are cumulative and end at +Inf = _count. */
function expectHistogram(samples: Sample[], name: string, labels: Record<string, string>, count: number): void {
  const buckets = find(samples, `${name}_bucket`, labels);
  expect(buckets.length).toBeGreaterThan(2);
  for (let i = 1; i < buckets.length; i++) expect(buckets[i]!.value).toBeGreaterThanOrEqual(buckets[i - 1]!.value);
  expect(buckets.at(-1)!.labels.le).toBe('+Inf');
  expect(buckets.at(-1)!.value).toBe(count);
  expect(total(samples, `${name}_count`, labels)).toBe(count);
  expect(total(samples, `${name}_sum`, labels)).toBeGreaterThan(0);
}

describe('Prometheus metrics', () => {
  beforeAll(async () => {
    cp = await startControlPlane({
      dataDir,
      adminAddress: '127.0.0.1:0',
      metricsAddress: '127.0.0.1:0',
      tls: controlPlaneTls,
      localNode: { name: 'gauged', tls: await nodeTls('gauged'), grpcAddress: '127.0.0.1:0', gatewayAddress: '127.0.0.1:0', metricsAddress: '127.0.0.1:0', pinDir },
      log,
    });
    admin = new AdminClient(cp.adminAddress, await testCredential({ kind: 'operator' }));
    // greet may have 1 or 2 instances (so the autoscaler decides for it)
    // and is balanced by least-connections (so ferryd's balancer weighs it).
    const yaml = readFileSync(greetFile, 'utf8').replace('      next: []', '      scale: { min: 1, max: 2 }\n      balance: least-connections\n      next: []');
    await admin.call('ApplyChain', { yaml, file: greetFile });
    for (let i = 0; i < 20; i++) {
      const res = await fetch(`http://${cp.gatewayAddress}/chains/greet`, { method: 'POST', body: JSON.stringify({ name: `n${i}` }) });
      expect(res.status).toBe(200);
    }
    // greet takes at most 4 KiB.
    const tooBig = await fetch(`http://${cp.gatewayAddress}/chains/greet`, { method: 'POST', body: 'x'.repeat(8192) });
    expect(tooBig.status).toBe(413);
  });

  afterAll(async () => {
    admin?.close();
    await cp?.close();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(pinDir, { recursive: true, force: true });
  });

  it('ferryd exposes its gateway, stages, instances and pools', async () => {
    // Instances report service times when ferryd next asks (signal interval).
    const m = await waitFor('service times of both stages', async () => {
      const s = await scrape(cp.ferrydMetricsAddress!);
      return ['parse', 'greet'].every((stage) => total(s, 'ferry_stage_service_duration_seconds_count', { ...chain, stage }) >= 20) ? s : undefined;
    });
    const labels = { node: 'gauged', ...chain };
    expect(total(m, 'ferry_gateway_responses_total', { ...labels, status: '200' })).toBe(20);
    expect(find(m, 'ferry_gateway_responses_total', { ...labels, status: '413' })).toMatchObject([{ labels: { code: 'bodyTooLarge' }, value: 1 }]);
    // Only what went into the chain has a latency: the 413 never did.
    expectHistogram(m, 'ferry_gateway_request_duration_seconds', labels, 20);
    for (const stage of ['parse', 'greet']) {
      expectHistogram(m, 'ferry_stage_service_duration_seconds', { ...labels, stage }, total(m, 'ferry_stage_service_duration_seconds_count', { ...labels, stage }));
      expect(total(m, 'ferry_instances', { ...labels, stage, state: 'running', ready: 'true' })).toBe(1);
      expect(total(m, 'ferry_instance_messages_total', { ...labels, stage, direction: 'in' })).toBeGreaterThanOrEqual(20);
      expect(total(m, 'ferry_instance_in_flight', { ...labels, stage })).toBe(0);
      expect(total(m, 'ferry_instance_restarts_total', { ...labels, stage })).toBe(0);
    }
    // The pool: nothing held once every answer is out, and a quota.
    expect(total(m, 'ferry_pool_bytes', { ...labels, state: 'in_use' })).toBe(0);
    expect(total(m, 'ferry_pool_bytes', { ...labels, state: 'quota' })).toBeGreaterThan(0);
    expect(total(m, 'ferry_pool_alloc_failures_total', labels)).toBe(0);
    // The process's own metrics, under ferryd's prefix.
    expect(find(m, 'ferryd_process_cpu_seconds_total')).toHaveLength(1);
  });

  it('the control plane exposes each chain over its gateways, its instances, nodes and events', async () => {
    // Nodes' stats reach the control plane once a second.
    const m = await waitFor('the gateway\'s answers', async () => {
      const s = await scrape(cp.metricsAddress!);
      return total(s, 'ferry_chain_responses_total', { ...chain, status: '200' }) >= 20 ? s : undefined;
    });
    expect(total(m, 'ferry_chain_responses_total', { ...chain, status: '200' })).toBe(20);
    expect(total(m, 'ferry_chain_responses_total', { ...chain, status: '413', code: 'bodyTooLarge' })).toBe(1);
    expectHistogram(m, 'ferry_chain_request_duration_seconds', chain, 20);
    expect(total(m, 'ferry_chain_instances', { ...chain, stage: 'parse', node: 'gauged', state: 'running' })).toBe(1);
    expect(find(m, 'ferry_nodes', { node: 'gauged', ready: 'true' })).toHaveLength(1);
    expect(total(m, 'ferry_events_total', { kind: 'chain-applied' })).toBe(1);
    expect(find(m, 'ferry_controlplane_process_cpu_seconds_total')).toHaveLength(1);
  });

  it('the control plane exposes what the autoscaler decided and the weights the balancer wrote', async () => {
    const m = await waitFor('a decision and a weight', async () => {
      const s = await scrape(cp.metricsAddress!);
      return find(s, 'ferry_autoscaler_desired_instances', { ...chain, stage: 'greet' }).length > 0 && find(s, 'ferry_balancer_target_weight', { ...chain, stage: 'greet' }).length > 0 ? s : undefined;
    });
    // Twenty requests are far below kpa's target: one instance is enough.
    expect(find(m, 'ferry_autoscaler_desired_instances', { ...chain, stage: 'greet' })).toMatchObject([{ labels: { policy: 'kpa' }, value: 1 }]);
    // parse's scale is fixed (1..1): whatever kpa would say, 1.
    expect(find(m, 'ferry_autoscaler_desired_instances', { ...chain, stage: 'parse' })).toMatchObject([{ value: 1 }]);
    expect(total(m, 'ferry_autoscaler_decisions_total', { policy: 'kpa' })).toBeGreaterThan(0);
    const weights = find(m, 'ferry_balancer_target_weight', { ...chain, stage: 'greet', node: 'gauged', policy: 'least-connections' });
    expect(weights).toHaveLength(1);
    expect(weights[0]!.labels.target).toMatch(/^instance-\d+$/);
    expect(weights[0]!.value).toBeGreaterThan(0);
    // One instance is not a choice: the policy has not had to decide yet, but the series is there.
    expect(find(m, 'ferry_balancer_decisions_total', { ...chain, stage: 'greet', policy: 'least-connections' })).toHaveLength(1);
  });

  it('has every metric and label the shipped Grafana dashboard queries', async () => {
    const dashboard = JSON.parse(readFileSync(join(repoRoot, 'manifests/grafana/ferry-dashboard.json'), 'utf8')) as {
      panels: { title: string; targets: { expr: string }[] }[];
      templating: { list: { query?: string | { query: string } }[] };
    };
    const exprs = [
      ...dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr)),
      ...dashboard.templating.list.flatMap((v) => (typeof v.query === 'object' ? [v.query.query] : [])),
    ];
    expect(exprs.length).toBeGreaterThan(8);
    const scraped = [...(await scrape(cp.metricsAddress!)), ...(await scrape(cp.ferrydMetricsAddress!))];
    for (const expr of exprs) {
      const names = [...new Set(expr.match(/\bferry_[a-z_]+/g) ?? [])];
      expect(names, expr).not.toHaveLength(0);
      const grouped = [...expr.matchAll(/by \(([^)]*)\)|label_values\([^,]+, (\w+)\)|(\w+)=~?"/g)].flatMap((m) => (m[1] ?? m[2] ?? m[3]!).split(/,\s*/));
      for (const name of names) {
        const series = find(scraped, name);
        expect(series.length, `${name} in ${expr}`).toBeGreaterThan(0);
        for (const label of grouped) expect(series.some((x) => label in x.labels), `label ${label} of ${name} in ${expr}`).toBe(true);
      }
    }
  });

  it('answers only GET /metrics', async () => {
    for (const address of [cp.metricsAddress!, cp.ferrydMetricsAddress!]) {
      expect((await fetch(`http://${address}/`)).status).toBe(404);
      expect((await fetch(`http://${address}/metrics`, { method: 'POST', body: 'x' })).status).toBe(404);
    }
  });
});
