/**
 * A stage's balance policy from the chain YAML to the ferryd that applies
 * it, through a real control plane: the policy the YAML names, else the
 * cluster's default (ferry up --balance), reaches ferryd in ProgramChain
 * and runs there (StreamStats lists every stage's policy).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkBalance } from '../../balance/registry.js';
import type { FerrydClient } from '../../ferryd/client.js';
import type { NodeStats } from '../../ferryd/proto.js';
import { connectFerryd, waitFor } from '../../ferryd/testdata/harness.js';
import { repoRoot } from '../../paths.js';
import { startTestControlPlane, type TestControlPlane } from '../../../test/helpers/control-plane.js';
import type { AdminClient } from '../admin/client.js';
import type { ControlPlane } from '../control-plane.js';

const greetFile = join(repoRoot, 'control/cli/testdata/greet.yaml');

let t: TestControlPlane;
let cp: ControlPlane;
let admin: AdminClient;
let ferryd: FerrydClient;

async function policies(): Promise<Record<number, string>> {
  const stream = ferryd.streamStats({ intervalMs: 50 });
  try {
    for await (const s of stream) return Object.fromEntries((s as NodeStats).balance.map((b) => [b.stage, b.policy]));
  } finally {
    stream.cancel();
  }
  return {};
}

describe('balance policies through the control plane', () => {
  beforeAll(async () => {
    t = await startTestControlPlane({ test: 'balance', defaultBalance: checkBalance({ policy: 'least-connections' }).spec });
    ({ cp, admin } = t);
    ferryd = connectFerryd(cp.ferrydAddress!);
  });

  afterAll(async () => {
    ferryd?.close();
    await t?.close();
  });

  it('programs the YAML\'s policy, and the cluster default where it names none', async () => {
    const yaml = readFileSync(greetFile, 'utf8').replace('      next: [greet]', '      next: [greet]\n      balance: { policy: ucb1, c: 1.5 }');
    await admin.call('ApplyChain', { yaml, file: greetFile });
    expect(await waitFor('both stages balanced', async () => {
      const p = await policies();
      return Object.keys(p).length === 2 ? p : undefined;
    })).toEqual({ 0: 'ucb1', 1: 'least-connections' });
    const res = await fetch(`http://${cp.gatewayAddress}/chains/greet`, { method: 'POST', body: JSON.stringify({ name: 'lb' }) });
    expect(res.status).toBe(200);
  });

  it('refuses a chain whose policy is wrong, at the line, and keeps the one that runs', async () => {
    const yaml = readFileSync(greetFile, 'utf8').replace('      next: [greet]', '      next: [greet]\n      balance: { policy: ucb1, c: 200 }');
    const err = await admin.call('ApplyChain', { yaml, file: greetFile }).then(
      () => undefined,
      (e: Error) => e.message,
    );
    expect(err).toMatch(/greet\.yaml:14:\d+: spec\.functions\[0\]\.balance\.c: expected a number from 0 to 100/);
    expect((await policies())[0]).toBe('ucb1');
  });
});
