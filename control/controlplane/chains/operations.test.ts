/**
 * Changing a running chain under load, with a real control plane, a real
 * local ferryd (in this process) and real function instances, in both data
 * plane modes: scale a stage up and down, replace an instance, re-apply it
 * unchanged and with a changed handler, and a roll whose new version cannot
 * load. A closed-loop client keeps requests going through each change;
 * none may fail.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../log.js';
import { testCredential } from '../../../test/helpers/pki.js';
import { rejection } from '../../../test/helpers/admin.js';
import { modes, sharedTempDir } from '../../../test/helpers/dataplane.js';
import { startLoad } from '../../../test/helpers/http-load.js';
import { controlPlaneTls, nodeTls, testPinDir, waitFor } from '../../ferryd/testdata/harness.js';
import { AdminClient } from '../admin/client.js';
import type { AdminEvent, ChainStatus } from '../admin/proto.js';
import { startControlPlane, type ControlPlane } from '../control-plane.js';

const CHAIN = `apiVersion: ferry.dev/v1
kind: Chain
metadata: { name: roll }
spec:
  entry: parse
  # Sized by these tests (ferry scale), not by an autoscaler.
  scale: { policy: manual }
  limits: { maxBodyBytes: 4096, timeoutMs: 5000 }
  functions:
    - name: parse
      runtime: node
      handler: ./parse.ts
      scale: { min: 1, max: 4 }
      next: [greet]
    - name: greet
      runtime: node
      handler: ./greet.ts
      scale: { min: 1, max: 4 }
      next: []
`;

const PARSE = `export default function parse(ctx) {
  return { name: String(ctx.json().name).trim().toLowerCase() };
}
`;

/** The greet stage's handler, answering which version and process it is. */
const greetVersion = (v: number) => `export default function greet(ctx) {
  return { greeting: 'hello, ' + ctx.json().name, version: ${v}, pid: process.pid };
}
`;

const BROKEN = `throw new Error('greet v3 cannot load: GREETING_KEY is not set');
export default function greet() { return {}; }
`;

/** Loads once: every later load (counted in a file beside it) throws. */
const loadsOnce = (counter: string) => `import { existsSync, readFileSync, writeFileSync } from 'node:fs';
const loads = existsSync('${counter}') ? Number(readFileSync('${counter}', 'utf8')) : 0;
writeFileSync('${counter}', String(loads + 1));
if (loads >= 1) throw new Error('greet v4 cannot load a second time');
export default function greet(ctx) {
  return { greeting: 'hello, ' + ctx.json().name, version: 4, pid: process.pid };
}
`;

const SHOUT = `export default function shout(ctx) {
  const r = ctx.json();
  return { ...r, greeting: r.greeting.toUpperCase() };
}
`;

interface Reply {
  greeting: string;
  version: number;
  pid: number;
}

const pidAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const stage = (c: ChainStatus, name: string) => c.stages.find((s) => s.name === name)!;
const pids = (c: ChainStatus, name: string) => stage(c, name).instances.map((i) => i.pid);

describe.each(modes)('operations on a running chain under load (%s mode)', (mode) => {
  const dir = sharedTempDir('ferry-ops-');
  const chainFile = join(dir, 'chain.yaml');
  const dataDir = sharedTempDir('ferry-ops-data-');
  const pinDir = testPinDir();
  let cp: ControlPlane;
  let admin: AdminClient;
  const events: AdminEvent[] = [];
  /** Ids of the instances the scale test ran (some stopped since). */
  let freed: number[] = [];
  let cancelEvents = () => undefined as void;

  const apply = () => admin.call('ApplyChain', { yaml: readFileSync(chainFile, 'utf8'), file: chainFile });
  const get = () => admin.call('GetChain', { name: 'roll' });
  const url = () => `http://${cp.gatewayAddress}/chains/roll`;

  /** Run `change` while 4 clients keep sending requests; every answer and the pids that gave them. */
  async function underLoad<T>(change: () => Promise<T>): Promise<{ result: T; statuses: Map<number, number>; errors: string[]; total: number; replies: Reply[] }> {
    const replies: Reply[] = [];
    const load = startLoad({
      url: url(),
      concurrency: 4,
      body: () => '{"name":" Ferry "}',
      onAnswer: (status, body) => {
        if (status === 200) replies.push(JSON.parse(body.toString()) as Reply);
      },
    });
    // Traffic flows before the change starts, and after it ends.
    const settle = async (n: number) => {
      const want = replies.length + n;
      for (let i = 0; i < 400 && replies.length < want; i++) await new Promise((r) => setTimeout(r, 10));
    };
    try {
      await settle(20);
      const result = await change();
      await settle(20);
      return { result, ...(await load.stop()), replies };
    } catch (err) {
      await load.stop();
      throw err;
    }
  }

  const ok = (r: { statuses: Map<number, number>; errors: string[]; total: number }) => {
    expect(r.errors).toEqual([]);
    expect([...r.statuses.keys()]).toEqual([200]);
    expect(r.total).toBeGreaterThan(40);
  };

  beforeAll(async () => {
    writeFileSync(chainFile, CHAIN);
    writeFileSync(join(dir, 'parse.ts'), PARSE);
    writeFileSync(join(dir, 'greet.ts'), greetVersion(1));
    cp = await startControlPlane({
      dataDir,
      adminAddress: '127.0.0.1:0',
      tls: controlPlaneTls,
      localNode: { name: 'solo', tls: await nodeTls('solo'), grpcAddress: '127.0.0.1:0', gatewayAddress: '127.0.0.1:0', pinDir, mode },
      log: createLogger({ test: 'operations', mode }, 'warn'),
    });
    admin = new AdminClient(cp.adminAddress, await testCredential({ kind: 'operator' }));
    const stream = admin.watchEvents('roll');
    stream.on('data', (e: AdminEvent) => events.push(e));
    stream.on('error', () => undefined);
    cancelEvents = () => stream.cancel();
    expect((await apply()).state).toBe('RUNNING');
  });

  afterAll(async () => {
    cancelEvents();
    admin?.close();
    await cp?.close();
    rmSync(dir, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(pinDir, { recursive: true, force: true });
  });

  it('scales a stage 1 -> 3 -> 1 with no failed request; new instances take traffic, removed ones are stopped', async () => {
    const before = await get();
    const up = await underLoad(() => admin.call('ScaleStage', { name: 'roll', stage: 'greet', instances: 3 }));
    ok(up);
    expect(stage(up.result, 'greet').instances.map((i) => [i.state, i.ready])).toEqual([
      ['RUNNING', true],
      ['RUNNING', true],
      ['RUNNING', true],
    ]);
    const added = pids(up.result, 'greet').filter((p) => !pids(before, 'greet').includes(p));
    expect(added).toHaveLength(2);
    expect(up.replies.some((r) => added.includes(r.pid))).toBe(true);
    // The other stage was not touched.
    expect(pids(up.result, 'parse')).toEqual(pids(before, 'parse'));

    freed = stage(up.result, 'greet').instances.map((i) => i.id);
    const down = await underLoad(() => admin.call('ScaleStage', { name: 'roll', stage: 'greet', instances: 1 }));
    ok(down);
    expect(stage(down.result, 'greet').instances).toHaveLength(1);
    const gone = pids(up.result, 'greet').filter((p) => !pids(down.result, 'greet').includes(p));
    expect(gone).toHaveLength(2);
    for (const p of gone) expect(pidAlive(p)).toBe(false);
    expect(events.filter((e) => e.kind === 'scaled').map((e) => e.message)).toEqual([
      expect.stringMatching(/^stage greet of chain roll scaled 1 -> 3: started \d+@solo, \d+@solo$/),
      expect.stringMatching(/^stage greet of chain roll scaled 3 -> 1: drained and stopped \d+@solo, \d+@solo$/),
    ]);
  });

  it('replaces an instance with no failed request: the new one serves, the old one is stopped', async () => {
    const before = stage(await get(), 'greet').instances[0]!;
    const r = await underLoad(() => admin.call('ReplaceInstance', { name: 'roll', instanceId: before.id }));
    ok(r);
    const after = stage(r.result, 'greet').instances;
    expect(after).toHaveLength(1);
    expect(after[0]!.id).not.toBe(before.id);
    // Ids the scale-down freed are not handed out again at once.
    expect(freed).not.toContain(after[0]!.id);
    expect(after[0]).toMatchObject({ state: 'RUNNING', ready: true });
    expect(pidAlive(before.pid)).toBe(false);
    expect(r.replies.at(-1)!.pid).toBe(after[0]!.pid);
    expect(events.find((e) => e.kind === 'instance-replaced')).toMatchObject({
      instance: before.id,
      stage: 'greet',
      message: `instance ${before.id}@solo (stage greet) of chain roll replaced by ${after[0]!.id}@solo`,
    });
  });

  it('keeps every instance (same pids) when the chain is re-applied unchanged, and bumps its generation', async () => {
    const before = await get();
    const after = await apply();
    expect(after.generation).toBe(before.generation + 1);
    expect(after.stages.map((s) => s.instances.map((i) => [i.id, i.pid]))).toEqual(before.stages.map((s) => s.instances.map((i) => [i.id, i.pid])));
    for (let i = 0; i < 50 && !events.some((e) => e.kind === 'chain-applied' && e.message.includes(`generation ${after.generation}`)); i++)
      await new Promise((r) => setTimeout(r, 20));
    expect(events.find((e) => e.kind === 'chain-applied' && e.message.includes(`generation ${after.generation}`))?.message).toBe(
      `chain roll generation ${after.generation}: unchanged, its 2 instances kept`,
    );
  });

  it('rolls a changed handler instance by instance with no failed request, then answers with the new version', async () => {
    await admin.call('ScaleStage', { name: 'roll', stage: 'greet', instances: 2 });
    const before = await get();
    const old = stage(before, 'greet').instances;
    writeFileSync(join(dir, 'greet.ts'), greetVersion(2));
    const seen = events.length;
    const r = await underLoad(apply);
    ok(r);
    expect(r.result.generation).toBe(before.generation + 1);
    const now = stage(r.result, 'greet').instances;
    expect(now).toHaveLength(2);
    expect(now.map((i) => i.id).filter((id) => old.some((o) => o.id === id))).toEqual([]);
    expect(new Set(now.map((i) => i.version)).size).toBe(1);
    expect(now[0]!.version).not.toBe(old[0]!.version);
    // parse did not change: same processes.
    expect(pids(r.result, 'parse')).toEqual(pids(before, 'parse'));
    for (const o of old) expect(pidAlive(o.pid)).toBe(false);
    expect(r.replies.at(-1)).toMatchObject({ greeting: 'hello, ferry', version: 2 });
    expect(r.replies.some((x) => x.version === 1)).toBe(true);
    // One at a time: a new one ready before an old one stops, twice.
    const wanted = new Set(['instance-started', 'instance-ready', 'instance-stopped']);
    for (let i = 0; i < 100 && events.slice(seen).filter((e) => e.kind === 'instance-stopped').length < 2; i++) await new Promise((res) => setTimeout(res, 20));
    const steps = events
      .slice(seen)
      .filter((e) => e.stage === 'greet' && wanted.has(e.kind))
      .map((e) => `${e.kind.slice('instance-'.length)} ${old.some((o) => o.id === e.instance) ? 'old' : 'new'}`);
    expect(steps).toEqual(['started new', 'ready new', 'stopped old', 'started new', 'ready new', 'stopped old']);
  });

  it('fails a roll whose new version throws as it loads, with its error, and keeps the old version serving', async () => {
    const before = await get();
    writeFileSync(join(dir, 'greet.ts'), BROKEN);
    try {
      let err: Awaited<ReturnType<typeof rejection>> | undefined;
      const r = await underLoad(async () => {
        err = await rejection(apply());
      });
      ok(r);
      expect(err!.code).toBe('UNAVAILABLE');
      expect(err!.message).toMatch(/^chain roll: stage greet: instance \d+ on solo exited with code \d+ before it was ready: .*greet v3 cannot load: GREETING_KEY is not set/s);
      expect(err!.message).toContain('the running version keeps serving');
      expect(r.replies.every((x) => x.version === 2)).toBe(true);
      const after = await get();
      expect(after.generation).toBe(before.generation);
      expect(after.state).toBe('RUNNING');
      expect(after.stages.map((s) => s.instances.map((i) => [i.id, i.pid, i.version]))).toEqual(
        before.stages.map((s) => s.instances.map((i) => [i.id, i.pid, i.version])),
      );
    } finally {
      writeFileSync(join(dir, 'greet.ts'), greetVersion(2));
    }
  });

  it('stops a roll part-way when a later instance cannot load: both versions serve, and the next apply finishes it', async () => {
    const before = await get();
    const counter = join(dir, 'loads');
    writeFileSync(join(dir, 'greet.ts'), loadsOnce(counter));
    let err: Awaited<ReturnType<typeof rejection>> | undefined;
    const r = await underLoad(async () => {
      err = await rejection(apply());
    });
    ok(r);
    expect(err!.code).toBe('UNAVAILABLE');
    expect(err!.message).toMatch(/^chain roll: the roll stopped part-way: stage greet: instance \d+ on solo .*greet v4 cannot load a second time.*; instances not rolled keep the previous version/s);
    const mixed = await get();
    expect(mixed.state).toBe('RUNNING');
    const greets = stage(mixed, 'greet').instances;
    expect(greets).toHaveLength(2);
    expect(new Set(greets.map((i) => i.version)).size).toBe(2);
    expect(new Set(r.replies.slice(-20).map((x) => x.version))).toEqual(new Set([2, 4]));
    // The one left on the old version rolls on the next apply; the new one stays.
    const rolled = greets.find((i) => !stage(before, 'greet').instances.some((o) => o.id === i.id))!;
    writeFileSync(counter, '0');
    const done = await underLoad(apply);
    ok(done);
    const now = stage(done.result, 'greet').instances;
    expect(now.map((i) => i.version)).toEqual([rolled.version, rolled.version]);
    expect(now.find((i) => i.id === rolled.id)?.pid).toBe(rolled.pid);
    expect(done.replies.at(-1)).toMatchObject({ version: 4 });
    // What later tests load: the same version, loadable any number of times.
    writeFileSync(join(dir, 'greet.ts'), greetVersion(4));
  });

  it('adds a stage at the end and reroutes to it, then removes it again, with no failed request', async () => {
    const original = readFileSync(chainFile, 'utf8');
    writeFileSync(join(dir, 'shout.ts'), SHOUT);
    writeFileSync(
      chainFile,
      original.replace(/next: \[\]\n$/, 'next: [shout]\n') + '    - name: shout\n      runtime: node\n      handler: ./shout.ts\n      next: []\n',
    );
    const before = await get();
    const added = await underLoad(apply);
    ok(added);
    expect(added.result.stages.map((s) => [s.name, s.next, s.instances.length])).toEqual([
      ['parse', ['greet'], 1],
      ['greet', ['shout'], 2],
      ['shout', [], 1],
    ]);
    expect(pids(added.result, 'parse')).toEqual(pids(before, 'parse'));
    expect(added.replies.at(-1)).toMatchObject({ greeting: 'HELLO, FERRY' });
    writeFileSync(chainFile, original);
    const removed = await underLoad(apply);
    ok(removed);
    expect(removed.result.stages.map((s) => [s.name, s.next, s.instances.length])).toEqual([
      ['parse', ['greet'], 1],
      ['greet', [], 2],
    ]);
    expect(removed.replies.at(-1)).toMatchObject({ greeting: 'hello, ferry' });
    expect(pidAlive(pids(added.result, 'shout')[0]!)).toBe(false);
  });

  it('refuses to scale past scale.max or scale.min, an unknown stage, and another tenant\'s chain', async () => {
    const over = await rejection(admin.call('ScaleStage', { name: 'roll', stage: 'greet', instances: 5 }));
    expect(over.code).toBe('INVALID_ARGUMENT');
    expect(over.message).toBe(`stage greet: 5 instances is more than its scale.max 4; raise spec.functions[1].scale.max in ${chainFile} and apply it first`);
    const under = await rejection(admin.call('ScaleStage', { name: 'roll', stage: 'greet', instances: 0 }));
    expect(under.message).toBe(`stage greet: 0 instances is fewer than its scale.min 1; lower spec.functions[1].scale.min in ${chainFile} and apply it first`);
    const unknown = await rejection(admin.call('ScaleStage', { name: 'roll', stage: 'gret', instances: 2 }));
    expect(unknown.code).toBe('NOT_FOUND');
    expect(unknown.message).toBe('chain roll has no stage "gret"; its stages: parse, greet');
    const noInstance = await rejection(admin.call('ReplaceInstance', { name: 'roll', instanceId: 9999 }));
    expect(noInstance.code).toBe('NOT_FOUND');
    const acme = new AdminClient(cp.adminAddress, await testCredential({ kind: 'tenant', name: 'acme' }));
    try {
      const other = await rejection(acme.call('ScaleStage', { name: 'roll', tenant: 'default', stage: 'greet', instances: 2 }));
      expect(other.code).toBe('NOT_FOUND');
      const own = await rejection(acme.call('ScaleStage', { name: 'roll', stage: 'greet', instances: 2 }));
      expect(own.message).toContain('no chain named "roll" in tenant acme');
    } finally {
      acme.close();
    }
    expect(stage(await get(), 'greet').instances).toHaveLength(2);
  });

  it('scales a stage whose scale.min is 0 to no instance, and the next request brings one back', async () => {
    const zeroFile = join(dir, 'zero.yaml');
    writeFileSync(zeroFile, readFileSync(chainFile, 'utf8').replace('metadata: { name: roll }', 'metadata: { name: zero }').replace(/scale: \{ min: 1, max: 4 \}\n(\s+)next: \[\]/, 'scale: { min: 0, max: 4 }\n$1next: []'));
    await admin.call('ApplyChain', { yaml: readFileSync(zeroFile, 'utf8'), file: zeroFile });
    const zeroUrl = `http://${cp.gatewayAddress}/chains/zero`;
    try {
      const none = await admin.call('ScaleStage', { name: 'zero', stage: 'greet', instances: 0 });
      expect(stage(none, 'greet').instances).toEqual([]);
      // Held at the gateway while an instance starts (autoscale/activator.ts).
      const held = await fetch(zeroUrl, { method: 'POST', body: '{"name":"z"}' });
      expect(held.status).toBe(200);
      await waitFor('greet back from zero', async () => (stage(await admin.call('GetChain', { name: 'zero' }), 'greet').instances.length === 1 ? true : undefined));
    } finally {
      await admin.call('DeleteChain', { name: 'zero' });
    }
  });

  it("refuses to scale past the nodes' resources, saying which resource is short", async () => {
    const { nodes } = await admin.call('ListNodes', {});
    const memoryMb = Math.floor((nodes[0]!.memoryBytes / (1 << 20)) * 0.6);
    const bigFile = join(dir, 'big.yaml');
    writeFileSync(
      bigFile,
      `apiVersion: ferry.dev/v1\nkind: Chain\nmetadata: { name: big }\nspec:\n  entry: greet\n  functions:\n    - name: greet\n      runtime: node\n      handler: ./greet.ts\n      resources: { memoryMb: ${memoryMb} }\n      scale: { min: 1, max: 3 }\n`,
    );
    await admin.call('ApplyChain', { yaml: readFileSync(bigFile, 'utf8'), file: bigFile });
    try {
      const err = await rejection(admin.call('ScaleStage', { name: 'big', stage: 'greet', instances: 2 }));
      expect(err.code).toBe('RESOURCE_EXHAUSTED');
      expect(err.message).toMatch(new RegExp(`^chain big: no node can run stage "greet": solo: ResourceFit: needs ${memoryMb} MB memory, \\d+ MB free`));
      expect(stage(await admin.call('GetChain', { name: 'big' }), 'greet').instances).toHaveLength(1);
    } finally {
      await admin.call('DeleteChain', { name: 'big' });
    }
  });
});
