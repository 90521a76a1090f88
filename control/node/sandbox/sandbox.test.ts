/**
 * Choosing the sandbox and what an instance gets: uids per tenant, the
 * allow-listed environment, and the unsandboxed modes, which must say so
 * (a warning at start, NodeInfo.sandbox) — shown with a real ferryd whose
 * hostile function then does get out, the contrast to escape.test.ts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modes } from '../../../test/helpers/dataplane.js';
import { STAGE_REPLY, startTestFerryd, type TestFerryd } from '../../ferryd/testdata/harness.js';
import { createLogger } from '../../log.js';
import { repoRoot } from '../../paths.js';
import { NoCgroups } from './cgroups/none.js';
import { instanceEnv } from './environment.js';
import { selectSandbox } from './select.js';
import { TenantIds } from './tenant-ids.js';

const isRoot = process.getuid?.() === 0;
const PROBE_TS = join(repoRoot, 'control/node/sandbox/testdata/escape.ts');

function logged(): { log: ReturnType<typeof createLogger>; lines: { level: string; msg: string }[] } {
  const lines: { level: string; msg: string }[] = [];
  return { log: createLogger({}, 'debug', (l) => lines.push(JSON.parse(l))), lines };
}

describe('uids per tenant', () => {
  it('gives a tenant the same uid in every ferryd, and different tenants different uids', () => {
    const a = new TenantIds();
    const b = new TenantIds();
    expect(a.ids('acme')).toEqual(b.ids('acme'));
    expect(a.ids('acme').uid).toBe(a.ids('acme').gid);
    expect(a.ids('acme').uid).not.toBe(a.ids('globex').uid);
    for (const t of ['acme', 'globex', 'default', '']) {
      expect(a.ids(t).uid).toBeGreaterThanOrEqual(200_000);
      expect(a.ids(t).uid).toBeLessThan(200_000 + 65_536);
    }
  });

  it('moves a tenant whose name hashes onto a taken uid to the next free one, and says when none is left', () => {
    const ids = new TenantIds(300_000, 2);
    const first = ids.ids('one').uid;
    const second = ids.ids('two').uid;
    expect(new Set([first, second])).toEqual(new Set([300_000, 300_001]));
    expect(() => ids.ids('three')).toThrow('no free uid left in 300000..300001 for tenant "three"');
  });

  it('refuses a uid range that reaches system users or past 2^31', () => {
    expect(() => new TenantIds(0, 10)).toThrow(/uid range 0\+10/);
    expect(() => new TenantIds(2 ** 31 - 5, 10)).toThrow(/within 2\^31/);
  });
});

describe("an instance's environment", () => {
  it("is the allow-list: fixed PATH and HOME, LANG/TZ from ferryd, ferryd's FERRY_* and the caller's own, nothing else of ferryd's", () => {
    const parent = { LANG: 'C.UTF-8', TZ: 'UTC', npm_config_token: 'secret', NODE_OPTIONS: '--inspect', AWS_SECRET_ACCESS_KEY: 'k', PATH: '/root/bin' };
    const env = instanceEnv({ FERRY_INSTANCE_ID: '5' }, { GREETING: 'hi', LANG: 'de_DE.UTF-8', PATH: '/evil', FERRY_INSTANCE_ID: '9' }, parent);
    expect(env).toEqual({ LANG: 'de_DE.UTF-8', TZ: 'UTC', GREETING: 'hi', PATH: '/usr/local/bin:/usr/bin:/bin', HOME: '/tmp', FERRY_INSTANCE_ID: '5' });
  });
});

describe('choosing the sandbox', () => {
  it('off when asked, with a warning that says instances are not sandboxed and why', () => {
    const { log, lines } = logged();
    const s = selectSandbox({ mode: 'off', node: 'n', log });
    expect(s.status).toBe('off: --sandbox off was requested');
    expect(lines).toContainEqual(expect.objectContaining({ level: 'warn', msg: expect.stringMatching(/^sandbox: off — instances are NOT sandboxed.*Reason: --sandbox off was requested$/) }));
  });

  it('off with the reason when the launcher is not built (auto), and a refusal to start when the sandbox was required (on)', () => {
    const { log, lines } = logged();
    const launcher = '/nonexistent/ferry-sandbox';
    const s = selectSandbox({ mode: 'auto', node: 'n', log, launcher });
    expect(s.status).toBe(isRoot ? `off: the sandbox launcher ${launcher} is not built (npm run setup)` : 'off: ferryd is not root, so it cannot switch instances to other users');
    expect(lines.some((l) => l.level === 'warn' && l.msg.includes('NOT sandboxed'))).toBe(true);
    expect(() => selectSandbox({ mode: 'on', node: 'n', log, launcher })).toThrow(/^sandbox: /);
  });

  it.runIf(isRoot)('uid without limits when there are no cgroups, and says why', async () => {
    const { log, lines } = logged();
    const s = selectSandbox({ mode: 'on', node: 'n', log, cgroups: new NoCgroups('test: cgroups withheld') });
    expect(s.status).toBe('uid, no cgroups: test: cgroups withheld');
    expect(lines).toContainEqual(expect.objectContaining({ level: 'warn', msg: expect.stringContaining('WITHOUT resource limits (no cgroups). Reason: test: cgroups withheld') }));
    await s.close();
  });
});

describe.runIf(isRoot)(`an unsandboxed ferryd (${modes[0]} mode)`, () => {
  let t: TestFerryd;
  beforeAll(async () => {
    process.env.SANDBOX_TEST_PARENT_SECRET = 'ferryd-only';
    t = await startTestFerryd(modes[0]!, 'unsandboxed', { sandbox: 'off' });
    await t.client.createPool({ chainId: 71, chainName: 'probe', tenant: 'alpha', classes: [{ size: 4096, count: 8 }] });
    await t.client.startInstance({ chainId: 71, instanceId: 710, stage: 0, stageName: 'main', runtime: 'node', handler: PROBE_TS, next: [] });
    await t.client.programChain({
      chainId: 71,
      routes: [{ stage: 0, targets: [{ instance: 710, weight: 1 }] }],
      allow: [{ fromStage: STAGE_REPLY, toStage: 0 }, { fromStage: 0, toStage: STAGE_REPLY }],
      gateway: { chainName: 'probe', entryStage: 0, timeoutMs: 10_000, gatewayInstanceId: 719 },
    });
  });
  afterAll(async () => {
    delete process.env.SANDBOX_TEST_PARENT_SECRET;
    await t?.cleanup();
  });

  const probe = async (body: string) => (await (await fetch(`http://${t.ferryd.gatewayAddress}/tenants/alpha/chains/probe`, { method: 'POST', body })).json()) as Record<string, unknown>;

  it('says so: a warning at start and in GetNodeInfo', async () => {
    expect((await t.client.getNodeInfo()).sandbox).toBe('off: --sandbox off was requested');
    expect(t.logs.some((l) => l.includes('"level":"warn"') && l.includes('instances are NOT sandboxed'))).toBe(true);
  });

  it("lets the hostile function read ferryd's environment (what the sandbox prevents)", async () => {
    const r = await probe(`open PATH= /proc/${process.pid}/environ`);
    expect(r).toMatchObject({ escaped: true, results: [{ opened: true, found: true }] });
    expect(readFileSync(`/proc/${t.ferryd.dataPlane.instance(710)!.pid}/status`, 'utf8')).toMatch(/^Uid:\t0\t/m);
  });

  it("still gives it only the allow-listed environment", async () => {
    const names = (await probe('env')).names as string[];
    expect(names).not.toContain('SANDBOX_TEST_PARENT_SECRET');
    for (const n of names) expect(n).toMatch(/^(PATH|HOME|LANG|LC_ALL|TZ|FERRY_[A-Z_]+)$/);
  });
});
