/**
 * The live autoscaling loop on a real control plane and ferryd: a stage's
 * count follows its load through the chain's policy, each decision is an
 * event with its reason, no request fails while it changes, and neither
 * scale.max nor the nodes' resources can be exceeded whatever the policy
 * asks.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestControlPlane, type TestControlPlane } from '../../../test/helpers/control-plane.js';
import { sharedTempDir } from '../../../test/helpers/dataplane.js';
import { startLoad } from '../../../test/helpers/http-load.js';
import { waitFor } from '../../ferryd/testdata/harness.js';

/** kpa sized so a handful of connections is a lot: one request in flight
 * per instance, Knative's shortest stable window (6 s), a decision a second. */
const chain = (name: string, cpu: string, max: number) => `apiVersion: ferry.dev/v1
kind: Chain
metadata: { name: ${name} }
spec:
  entry: work
  scale:
    policy: { name: kpa, params: { targetConcurrency: 1, stableWindowMs: 6000, tickMs: 1000 } }
  limits: { maxBodyBytes: 4096, timeoutMs: 8000 }
  functions:
    - name: work
      runtime: node
      handler: ./work.ts
      resources: { cpu: ${cpu}, memoryMb: 64 }
      scale: { min: 1, max: ${max} }
`;

/** Waits 30 ms per request without using the CPU: in-flight requests pile up. */
const WORK = `export default async function work(ctx) {
  await new Promise((r) => setTimeout(r, 30));
  return { pid: process.pid };
}
`;

describe('autoscaling loop', () => {
  const dir = sharedTempDir('ferry-autoscale-loop-');
  let t: TestControlPlane;

  const apply = async (name: string, cpu: string, max: number) => {
    const file = join(dir, `${name}.yaml`);
    writeFileSync(file, chain(name, cpu, max));
    return t.admin.call('ApplyChain', { yaml: readFileSync(file, 'utf8'), file });
  };
  const count = async (name: string) => (await t.admin.call('GetChain', { name })).stages[0]!.instances.length;
  const eventsOf = (name: string, kind: string) => t.events.filter((e) => e.chain === name && e.kind === kind);

  beforeAll(async () => {
    writeFileSync(join(dir, 'work.ts'), WORK);
    t = await startTestControlPlane({ test: 'autoscale-loop' });
  });

  afterAll(async () => {
    await t?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  afterEach(async () => {
    // A failed test must not leave its chain holding the node's CPU for the next.
    for (const name of ['busy', 'wide']) await t.admin.call('DeleteChain', { name }).catch(() => undefined);
  });

  it('scales a stage up under load to its scale.max and back down after, every decision an event with its reason, no request failed', async () => {
    await apply('busy', '100m', 3);
    expect(await count('busy')).toBe(1);
    const load = startLoad({ url: `http://${t.cp.gatewayAddress}/chains/busy`, concurrency: 6, body: () => '{}' });
    let result;
    try {
      await waitFor('busy scaled to 3', async () => ((await count('busy')) === 3 ? true : undefined), 30_000);
      // Held there while the load lasts: never past scale.max.
      await new Promise((r) => setTimeout(r, 3000));
      expect(await count('busy')).toBe(3);
    } finally {
      result = await load.stop();
    }
    expect(result.errors).toEqual([]);
    expect(result.total).toBeGreaterThan(100);
    expect([...result.statuses.keys()]).toEqual([200]);

    const seen = JSON.stringify(t.events.filter((e) => e.chain === 'busy').map((e) => `${e.kind}: ${e.message}`), null, 1);
    // The rule that fired, the counts, and what it saw; each scale-up once
    // (a change under way is not decided again).
    const ups = eventsOf('busy', 'autoscale-decision').map((e) => e.message.match(/^kpa (panic|stable): (\d+) -> (\d+): .*requests in flight .*want \d+/)).filter((m) => m && Number(m[3]) > Number(m[2]));
    expect(ups.length, seen).toBeGreaterThan(0);
    expect(new Set(ups.map((m) => m![2])).size, seen).toBe(ups.length);
    const scaled = eventsOf('busy', 'scaled').map((e) => e.message);
    expect(scaled.some((m) => /scaled \d -> 3: started .* \(kpa (panic|stable)\)$/.test(m)), seen).toBe(true);

    // Idle now: down to scale.min, to no fewer than floor(ready / 2) per
    // decision (maxScaleDownRate 2, as Knative's autoscaler.go rounds it).
    await waitFor('busy back to 1', async () => ((await count('busy')) === 1 ? true : undefined), 40_000);
    const down = eventsOf('busy', 'scaled').map((e) => e.message.match(/scaled (\d+) -> (\d+)/)).filter((m) => m && Number(m[2]) < Number(m[1]));
    expect(down.length).toBeGreaterThan(0);
    for (const m of down) expect(Number(m![2])).toBeGreaterThanOrEqual(Math.floor(Number(m![1]) / 2));
  }, 120_000);

  it("stops at what the nodes' resources hold, however many the policy asks for, and says so once", async () => {
    const { nodes } = await t.admin.call('ListNodes', {});
    const cpuMilli = nodes[0]!.cpus * 1000;
    // Two fit on the node, a third does not.
    const each = Math.floor(cpuMilli / 2) - 50;
    await apply('wide', `${each}m`, 4);
    const load = startLoad({ url: `http://${t.cp.gatewayAddress}/chains/wide`, concurrency: 8, body: () => '{}' });
    let result;
    try {
      await waitFor('the capacity event', () => (eventsOf('wide', 'autoscale-failed').length > 0 ? true : undefined), 30_000);
      await waitFor('wide at 2', async () => ((await count('wide')) === 2 ? true : undefined), 10_000);
      await new Promise((r) => setTimeout(r, 4000));
      expect(await count('wide')).toBe(2);
    } finally {
      result = await load.stop();
    }
    expect(result.errors).toEqual([]);
    const failed = eventsOf('wide', 'autoscale-failed').map((e) => e.message);
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatch(/kpa asked 1 -> 4: .*needs \d+m cpu.*; the nodes hold 2, the most it gets for 30 s/);
    // Later decisions are bounded by that capacity and say so.
    expect(eventsOf('wide', 'autoscale-decision').some((e) => /bounded by the nodes' capacity 2/.test(e.message))).toBe(true);
  }, 120_000);
});
