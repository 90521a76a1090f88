/**
 * The three baselines, each up with real processes serving motion (native
 * and node stages), pipeline (five node stages) and online-boutique
 * (branching on the request, eight stages): every sample request answered
 * byte for byte as the in-process reference (the same handlers run in
 * sequence through the same host code) answers it, so the three agree
 * with each other too; and their bad days from outside: a body over the
 * limit refused before it is read, a function process killed while it
 * holds requests (502 at once, the ingress serving on), a stage that
 * stops answering (504 at the chain's timeout), and down() leaving no
 * process and no port behind. Then a chain of two instances a stage
 * (testdata/roundrobin: each reply names the processes that served it)
 * proves every instance is called, and knative with containerConcurrency
 * 1 proves the queue-proxy's breaker. Parking is left out: its persist stage
 * keeps state on disk, so answers depend on what ran before.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../../control/paths.js';
import { sampleRequests } from '../../../chains/samples.js';
import { allDead } from '../../../test/helpers/process.js';
import type { HttpAnswer } from '../host/answer.js';
import type { BaselineSystem, RunningBaseline } from './baseline.js';
import { grpcSystem } from './grpc.js';
import { httpSystem } from './http.js';
import { createKnativeSystem, knativeSystem } from './knative.js';
import { planChain } from './plan.js';
import { canListen } from './ports.js';
import { referenceChain } from './reference.js';

const CHAINS = ['motion', 'pipeline', 'online-boutique'].map((name) => ({ name, file: join(repoRoot, `chains/${name}/chain.yaml`) }));
const SYSTEMS: [BaselineSystem, number][] = [
  [httpSystem, 47000],
  [knativeSystem, 47200],
  [grpcSystem, 47400],
];

interface Seen {
  status: number;
  contentType: string | undefined;
  body: string;
}

const seen = (a: HttpAnswer): Seen => ({ status: a.status, contentType: a.contentType, body: Buffer.from(a.body).toString('base64') });

async function post(url: string, body: string, requestId?: number): Promise<Seen & { text: string; ms: number }> {
  const t0 = performance.now();
  const res = await fetch(url, { method: 'POST', body, headers: requestId === undefined ? {} : { 'x-request-id': String(requestId) } });
  const bytes = Buffer.from(await res.arrayBuffer());
  return {
    status: res.status,
    contentType: res.headers.get('content-type') ?? undefined,
    body: bytes.toString('base64'),
    text: bytes.toString('utf8'),
    ms: performance.now() - t0,
  };
}

/** Every sample of every chain, and a few bad bodies, by "chain/name";
 * each with its own request id (the checkout's order id derives from it). */
const inputs: [string, string, string][] = CHAINS.flatMap((c) => [
  ...Object.entries(sampleRequests(c.file)).map(([n, body]): [string, string, string] => [c.name, n, body]),
  [c.name, 'not-json', '{"broken'],
  [c.name, 'array', '[1, 2, 3]'],
]);
const idOf = (i: number) => 1000 + i;

/** The reference's answers, then each system's. */
const expected = new Map<string, Seen>();
const answers = new Map<string, Map<string, Seen>>();

beforeAll(async () => {
  for (const c of CHAINS) {
    const ref = await referenceChain(planChain(c.file));
    for (const [i, [chain, name, body]] of inputs.entries())
      if (chain === c.name) expected.set(`${chain}/${name}`, seen(await ref.run(Buffer.from(body), BigInt(idOf(i)))));
  }
});

/** The first status line the server sends after only headers announcing
 * a body of `length` bytes (none of it sent). */
function statusForHeadersOnly(url: string, length: number): Promise<string> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const sock = connect(Number(u.port), u.hostname, () => {
      sock.write(`POST ${u.pathname} HTTP/1.1\r\nhost: ${u.host}\r\ncontent-length: ${length}\r\n\r\n`);
    });
    let got = '';
    sock.on('data', (d) => {
      got += d.toString('latin1');
      if (got.includes('\r\n')) {
        sock.destroy();
        resolve(got.split('\r\n')[0]!);
      }
    });
    sock.on('error', reject);
    setTimeout(() => reject(new Error(`no answer to the headers alone: ${JSON.stringify(got)}`)), 5000).unref();
  });
}

describe.each(SYSTEMS)('baseline $name', (system, portBase) => {
  let running: RunningBaseline;
  let workDir: string;
  const proc = (label: string) => {
    const p = running.processes().find((x) => x.label === label);
    if (!p) throw new Error(`no process ${label}: ${running.processes().map((x) => x.label).join(', ')}`);
    return p;
  };

  beforeAll(async () => {
    workDir = mkdtempSync(join(tmpdir(), `ferry-baseline-${system.name}-`));
    running = await system.up(CHAINS, { portBase, workDir, log: () => {} });
  }, 240_000);

  afterAll(async () => {
    await running?.down();
    rmSync(workDir, { recursive: true, force: true });
  });

  it('runs one process per stage instance (plus ingress and, for knative, a queue-proxy each)', () => {
    const stages = CHAINS.reduce((n, c) => n + planChain(c.file).stages.length, 0);
    const roles = running.processes().map((p) => p.role);
    expect(roles.filter((r) => r === 'function')).toHaveLength(stages);
    expect(roles.filter((r) => r === 'ingress')).toHaveLength(1);
    expect(roles.filter((r) => r === 'queue-proxy')).toHaveLength(system.name === 'knative' ? stages : 0);
    expect(running.pids()).toEqual(running.processes().map((p) => p.pid));
  });

  it('answers every sample and bad body byte for byte as the in-process reference', async () => {
    const mine = new Map<string, Seen>();
    for (const [i, [chain, name, body]] of inputs.entries()) {
      const { status, contentType, body: b } = await post(running.url(chain), body, idOf(i));
      mine.set(`${chain}/${name}`, { status, contentType, body: b });
    }
    answers.set(system.name, mine);
    expect(Object.fromEntries(mine)).toEqual(Object.fromEntries(expected));
    // Not a vacuous match: successes and refusals both happened.
    expect([...mine.values()].filter((s) => s.status === 200).length).toBeGreaterThan(5);
    expect(mine.get('pipeline/not-json')!.status).toBe(400);
  });

  it('carries a 1 MiB body through all five pipeline stages', async () => {
    const r = await post(running.url('pipeline'), JSON.stringify({ id: 'big', pad: 'z'.repeat(1 << 20) }));
    expect(r.status).toBe(200);
    const out = JSON.parse(r.text);
    expect(out.pad).toHaveLength(1 << 20);
    expect(out.trail).toEqual(['stage1', 'stage2', 'stage3', 'stage4', 'stage5']);
  });

  it('refuses a body over maxBodyBytes with 413 from its headers alone, and a chunked one as it passes the limit', async () => {
    expect(await statusForHeadersOnly(running.url('motion'), 50 << 20)).toMatch(/^HTTP\/1\.1 413 /);
    const chunked = new ReadableStream({
      start(c) {
        for (let i = 0; i < 3; i++) c.enqueue(new Uint8Array(100_000).fill(0x20));
        c.close();
      },
    });
    const res = await fetch(running.url('motion'), { method: 'POST', body: chunked, duplex: 'half' } as RequestInit);
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ error: { code: 'bodyTooLarge', chain: 'motion' } });
  });

  it('answers 404 for a chain it does not serve and 400 for a broken URL, and serves on', async () => {
    expect((await post(running.url('nope'), '{}')).status).toBe(404);
    const broken = await post(running.url('motion').replace('/chains/motion', '/chains/%E0%A4%A'), '{}');
    expect(broken.status).toBe(400);
    expect(JSON.parse(broken.text)).toMatchObject({ error: { code: 'badUrl' } });
    expect((await post(running.url('motion'), sampleRequests(CHAINS[0]!.file).walk!)).status).toBe(200);
  });

  it('answers 504 when a stage stops answering, at the chain timeout, and serves again when it is back', async () => {
    const actuator = proc('motion-actuator#0');
    process.kill(actuator.pid, 'SIGSTOP');
    try {
      const r = await post(running.url('motion'), sampleRequests(CHAINS[0]!.file).walk!);
      expect(r.status).toBe(504);
      // ferry's words: the gateway's RequestTimeoutError (motion's entry is stage 0).
      expect(JSON.parse(r.text)).toEqual({ error: { code: 'timeout', message: 'no reply from the chain within 2000 ms (entry stage 0)', chain: 'motion' } });
      expect(r.ms).toBeGreaterThanOrEqual(1900); // motion's timeoutMs: 2000
      expect(r.ms).toBeLessThan(4000);
    } finally {
      process.kill(actuator.pid, 'SIGCONT');
    }
    expect((await post(running.url('motion'), sampleRequests(CHAINS[0]!.file).walk!)).status).toBe(200);
  });

  it('fails the requests a killed function process held with 502 at once, and the ingress serves on', async () => {
    const last = proc('pipeline-stage5#0');
    process.kill(last.pid, 'SIGSTOP'); // it accepts and holds the requests
    const held = [1, 2, 3].map((i) => post(running.url('pipeline'), JSON.stringify({ id: i })));
    await new Promise((r) => setTimeout(r, 300));
    const killedAt = performance.now();
    process.kill(last.pid, 'SIGKILL');
    const rs = await Promise.all(held);
    for (const r of rs) expect(r.status, r.text).toBe(502);
    // Knative's queue-proxy words it itself (a plain-text 502), as the real one does.
    if (system.name !== 'knative') for (const r of rs) expect(JSON.parse(r.text)).toMatchObject({ error: { code: 'instanceDied', chain: 'pipeline' } });
    else for (const r of rs) expect(r.text).toMatch(/^error reverse-proxying request: /);
    expect(performance.now() - killedAt).toBeLessThan(1500); // pipeline's timeoutMs is 5000
    await allDead([last.pid]);
    // The rest of the system lives: another chain answers, this one fails fast.
    expect((await post(running.url('motion'), sampleRequests(CHAINS[0]!.file).walk!)).status).toBe(200);
    const again = await post(running.url('pipeline'), '{}');
    expect(again.status).toBe(502);
    expect(again.ms).toBeLessThan(1500);
    expect(running.pids()).not.toContain(last.pid);
  });

  it('down() stops every process and frees every port', async () => {
    const procs = running.processes();
    await running.down();
    await allDead(procs.map((p) => p.pid));
    expect(running.pids()).toEqual([]);
    for (const p of procs) expect(await canListen(p.port), `port ${p.port} of ${p.label}`).toBe(true);
  });
});

describe('knative queue-proxy with containerConcurrency 1', () => {
  const motion = CHAINS[0]!;
  const walk = sampleRequests(motion.file).walk!;
  let running: RunningBaseline;
  let workDir: string;

  beforeAll(async () => {
    workDir = mkdtempSync(join(tmpdir(), 'ferry-baseline-knative-cc1-'));
    running = await createKnativeSystem(1).up([motion], { portBase: 47800, workDir, log: () => {} });
  }, 60_000);
  afterAll(async () => {
    await running?.down();
    rmSync(workDir, { recursive: true, force: true });
  });

  it('holds 1 request in the function and 10 in its queue, refuses the next with 503 at once, then serves them all', async () => {
    const actuator = running.processes().find((p) => p.label === 'motion-actuator#0')!;
    process.kill(actuator.pid, 'SIGSTOP');
    let held: ReturnType<typeof post>[] = [];
    try {
      // One in the sensor (waiting on the stopped actuator), ten queued in front of it.
      held = Array.from({ length: 11 }, () => post(running.url('motion'), walk));
      await new Promise((r) => setTimeout(r, 400));
      const over = await post(running.url('motion'), walk);
      expect(over.status).toBe(503);
      expect(over.text).toBe('pending request queue full\n');
      expect(over.ms).toBeLessThan(500);
    } finally {
      process.kill(actuator.pid, 'SIGCONT');
    }
    const rs = await Promise.all(held);
    expect(rs.map((r) => r.status)).toEqual(Array(11).fill(200));
  });
});

describe.each(SYSTEMS)('baseline $name with two instances a stage', (system) => {
  const chain = { name: 'roundrobin', file: join(repoRoot, 'bench/chains/systems/testdata/roundrobin/chain.yaml') };
  let running: RunningBaseline;
  let workDir: string;

  beforeAll(async () => {
    workDir = mkdtempSync(join(tmpdir(), `ferry-baseline-rr-${system.name}-`));
    running = await system.up([chain], { portBase: 47600, workDir, log: () => {} });
  }, 120_000);
  afterAll(async () => {
    await running?.down();
    rmSync(workDir, { recursive: true, force: true });
  });

  it('runs scale.min processes of each stage and calls them round robin', async () => {
    const pidsOf = (stage: string) => running.processes().filter((p) => p.role === 'function' && p.label.startsWith(`roundrobin-${stage}#`)).map((p) => p.pid).sort();
    expect(pidsOf('front')).toHaveLength(2);
    expect(pidsOf('who')).toHaveLength(2);
    const served = { front: new Set<number>(), who: new Set<number>() };
    for (let i = 0; i < 8; i++) {
      const r = await post(running.url('roundrobin'), '{}');
      expect(r.status, r.text).toBe(200);
      const out = JSON.parse(r.text) as { front: number; who: number };
      served.front.add(out.front);
      served.who.add(out.who);
    }
    expect([...served.front].sort()).toEqual(pidsOf('front'));
    expect([...served.who].sort()).toEqual(pidsOf('who'));
  });
});

describe('the three baselines', () => {
  it('answered every input byte for byte alike', () => {
    const [first, ...rest] = [...answers.values()];
    expect(answers.size).toBe(3);
    for (const other of rest) expect(Object.fromEntries(other)).toEqual(Object.fromEntries(first!));
  });
});
