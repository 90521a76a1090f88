/**
 * The admin API's reads come from a kept status that follows the nodes:
 * an instance that dies and comes back shows in the next read after its
 * events, though nothing about the chain's record changed.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestControlPlane, type TestControlPlane } from '../../../test/helpers/control-plane.js';
import { waitFor } from '../../ferryd/testdata/harness.js';
import { repoRoot } from '../../paths.js';

const greetFile = join(repoRoot, 'control/cli/testdata/greet.yaml');

describe('chain status as reads see it', () => {
  let t: TestControlPlane;

  beforeAll(async () => {
    t = await startTestControlPlane({ test: 'status-view' });
    await t.admin.call('ApplyChain', { yaml: readFileSync(greetFile, 'utf8'), file: greetFile });
  });

  afterAll(async () => {
    await t?.close();
  });

  it('shows a crashed instance restarted, with its new pid, in the reads that follow its events', async () => {
    const before = await t.admin.call('GetChain', { name: 'greet' });
    const old = before.stages[1]!.instances[0]!;
    expect(old.restarts).toBe(0);
    expect((await t.admin.call('GetChain', { name: 'greet' })).stages[1]!.instances[0]!.pid).toBe(old.pid);
    process.kill(old.pid, 'SIGKILL');
    const after = await waitFor('the restart in GetChain', async () => {
      const i = (await t.admin.call('GetChain', { name: 'greet' })).stages[1]!.instances[0]!;
      return i.restarts >= 1 && i.ready && i.pid !== old.pid ? i : undefined;
    });
    expect(after.id).toBe(old.id);
    const listed = (await t.admin.call('ListChains', {})).chains.find((c) => c.name === 'greet')!;
    expect(listed.stages[1]!.instances[0]!.pid).toBe(after.pid);
  });
});
