/**
 * A stage's balance policy from the chain YAML to the ferryd that applies
 * it, through a real control plane: the policy the YAML names, else the
 * cluster's default (ferry up --balance), reaches ferryd in ProgramChain
 * and runs there (StreamStats lists every stage's policy).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkBalance } from '../../balance/registry.js';
import type { FerrydClient } from '../../ferryd/client.js';
import type { NodeStats } from '../../ferryd/proto.js';
import { connectFerryd, controlPlaneTls, nodeTls, waitFor } from '../../ferryd/testdata/harness.js';
import { createLogger } from '../../log.js';
import { repoRoot } from '../../paths.js';
import { testCredential } from '../../../test/helpers/pki.js';
import { AdminClient } from '../admin/client.js';
import { startControlPlane, type ControlPlane } from '../control-plane.js';

const dataDir = mkdtempSync(join(tmpdir(), 'ferry-balance-'));
const pinDir = `/sys/fs/bpf/ferry-test-${process.pid}-balance`;
const greetFile = join(repoRoot, 'control/cli/testdata/greet.yaml');

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
    cp = await startControlPlane({
      dataDir,
      adminAddress: '127.0.0.1:0',
      tls: controlPlaneTls,
      localNode: { name: 'solo', tls: await nodeTls('solo'), grpcAddress: '127.0.0.1:0', gatewayAddress: '127.0.0.1:0', pinDir },
      defaultBalance: checkBalance({ policy: 'least-connections' }).spec,
      log: createLogger({ test: 'balance' }, 'warn'),
    });
    admin = new AdminClient(cp.adminAddress, await testCredential({ kind: 'operator' }));
    ferryd = connectFerryd(cp.ferrydAddress!);
  });

  afterAll(async () => {
    ferryd?.close();
    admin?.close();
    await cp?.close();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(pinDir, { recursive: true, force: true });
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
