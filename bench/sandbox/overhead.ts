/**
 * What the sandbox costs: the same measurements with instances confined
 * (uid, cgroups, private mounts) and not, alternated in one run so both
 * see the same machine. See bench/README.md ("Sandbox overhead").
 *
 *   node dist/bench/sandbox/overhead.js [--rounds N] [--seconds S] [--connections C] [--skip-hop] [--no-memory-limit]
 *
 * 1. hop: `bench:hop --transports ferry` (native and node echo, 64 B..1 MiB)
 *    with --sandbox on and off, alternately, N rounds each; p50 per case.
 * 2. chain throughput: chains/motion (native sensor -> node actuator) on a
 *    ferryd of its own (a child process, as in production), driven through
 *    its HTTP gateway by C closed-loop keep-alive clients for S seconds,
 *    sandbox on and off alternately; plus one round with the chain's
 *    declared CPU quotas (50m, 100m) to show the limit is enforced.
 * Prints one JSON object on stdout, progress on stderr.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { allowEdges, routeTables } from '../../control/chain/routes.js';
import { compileChainFile } from '../../control/chain/validate.js';
import { LocalPki } from '../../control/auth/local-pki.js';
import { connectFerryd } from '../../control/ferryd/client.js';
import { repoRoot } from '../../control/paths.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '10' },
    connections: { type: 'string', default: '8' },
    'skip-hop': { type: 'boolean', default: false },
    // Also drop the memory limit in the sandbox-on rounds (isolates what
    // the limit itself costs, e.g. V8 sizing its heap to it).
    'no-memory-limit': { type: 'boolean', default: false },
  },
});
const ROUNDS = Number(values.rounds);
const SECONDS = Number(values.seconds);
const CONNECTIONS = Number(values.connections);
const progress = (m: string) => process.stderr.write(`[sandbox-overhead] ${m}\n`);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

interface HopRow {
  runtime: string;
  payloadBytes: number;
  p50us: number;
  verified: boolean;
}

function hopRound(sandbox: 'on' | 'off'): HopRow[] {
  const work = mkdtempSync(join(tmpdir(), 'sandbox-hop-'));
  try {
    const r = spawnSync(
      process.execPath,
      [join(repoRoot, 'dist/bench/hop/run.js'), '--json', '--transports', 'ferry', '--idle-seconds', '0', '--no-floor', '--budget-ms', '1000', '--sandbox', sandbox, '--out', join(work, 'hop.json')],
      { encoding: 'utf8', maxBuffer: 64 << 20 },
    );
    if (r.status !== 0) throw new Error(`bench:hop --sandbox ${sandbox} failed: ${r.stderr.slice(-2000)}`);
    const rep = JSON.parse(r.stdout) as { sandbox: string; results: HopRow[] };
    progress(`hop sandbox ${sandbox}: ${rep.sandbox}`);
    return rep.results.filter((x) => x.verified);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function hop() {
  const rows: Record<string, { on: number[]; off: number[] }> = {};
  for (let i = 0; i < ROUNDS; i++) {
    for (const mode of ['on', 'off'] as const) {
      for (const r of hopRound(mode)) {
        const k = `${r.runtime} ${r.payloadBytes}`;
        (rows[k] ??= { on: [], off: [] })[mode].push(r.p50us);
      }
    }
  }
  return Object.entries(rows).map(([k, v]) => {
    const on = median(v.on);
    const off = median(v.off);
    return { case: k, p50usOff: off, p50usOn: on, overheadPct: Math.round(((on - off) / off) * 1000) / 10, samplesOn: v.on, samplesOff: v.off };
  });
}

/** The benchmark's own cluster CA (in a temp dir, never $FERRY_HOME): its
 * ferryd serves mutual TLS like any other. */
const pki = new LocalPki(mkdtempSync(join(tmpdir(), 'ferry-sandbox-bench-pki-')));
process.on('exit', () => rmSync(pki.home, { recursive: true, force: true }));

/** A ferryd child process; resolves with its addresses once it serves. */
async function startFerryd(sandbox: 'on' | 'off') {
  await pki.ensure();
  await pki.credential({ kind: 'node', name: 'bench' });
  const tlsDir = pki.credentialDir({ kind: 'node', name: 'bench' });
  const child = spawn(process.execPath, [join(repoRoot, 'dist/control/ferryd/main.js'), '--tls-dir', tlsDir, '--name', 'bench', '--grpc', '127.0.0.1:0', '--gateway', '127.0.0.1:0', '--mode', 'auto', '--sandbox', sandbox, '--pin-dir', `/sys/fs/bpf/ferry-sandbox-bench-${process.pid}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  const ready = await new Promise<{ grpc: string; gateway: string; sandbox: string }>((resolve, reject) => {
    child.stderr.on('data', (d: Buffer) => {
      log += d.toString();
      for (const line of log.split('\n')) {
        if (!line.includes('"ferryd ready"')) continue;
        const j = JSON.parse(line) as { grpc: string; gateway: string; sandbox: string };
        resolve(j);
      }
    });
    child.on('exit', (code) => reject(new Error(`ferryd exited ${code}: ${log.slice(-2000)}`)));
  });
  return { child, ...ready };
}

async function load(gateway: string, body: string): Promise<{ ok: number; failed: number; perSec: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  const deadline = Date.now() + SECONDS * 1000;
  let ok = 0;
  let failed = 0;
  const one = () =>
    new Promise<void>((resolve) => {
      const req = request(`http://${gateway}/chains/motion`, { method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode === 200) ok++;
          else failed++;
          resolve();
        });
      });
      req.on('error', () => {
        failed++;
        resolve();
      });
      req.end(body);
    });
  const started = Date.now();
  await Promise.all(Array.from({ length: CONNECTIONS }, async () => {
    while (Date.now() < deadline) await one();
  }));
  agent.destroy();
  return { ok, failed, perSec: Math.round((ok / (Date.now() - started)) * 1000) };
}

async function chainRound(sandbox: 'on' | 'off', quotas: boolean) {
  const [ir] = compileChainFile(join(repoRoot, 'chains/motion/chain.yaml'));
  const f = await startFerryd(sandbox);
  const c = connectFerryd(f.grpc, await pki.credential({ kind: 'controlplane' }), 'bench');
  try {
    await c.createPool({ chainId: 1, chainName: ir!.name, tenant: ir!.tenant });
    const placement = new Map<number, { instance: number; node: string; weight: number }[]>();
    for (const s of ir!.stages) {
      const resources = quotas ? s.resources : { ...s.resources, cpuMilli: 0, memoryMb: values['no-memory-limit'] ? 0 : s.resources.memoryMb };
      await c.startInstance({ chainId: 1, instanceId: 10 + s.id, stage: s.id, stageName: s.name, runtime: s.runtime, handler: s.handler, next: s.next, tenant: ir!.tenant, resources });
      placement.set(s.id, [{ instance: 10 + s.id, node: 'bench', weight: 1 }]);
    }
    await c.programChain({
      chainId: 1,
      routes: routeTables(ir!, placement, 'bench').map((r) => ({ stage: r.stage, targets: r.targets })),
      allow: allowEdges(ir!).map(([fromStage, toStage]) => ({ fromStage, toStage })),
      gateway: { chainName: 'motion', entryStage: ir!.entry, maxBodyBytes: ir!.maxBodyBytes, timeoutMs: 10_000, gatewayInstanceId: 9 },
    });
    const body = readFileSync(join(repoRoot, 'chains/motion/requests/walk.json'), 'utf8');
    // Until both stages answer (a Node instance takes a moment to start).
    for (let i = 0; i < 600; i++) if ((await fetch(`http://${f.gateway}/chains/motion`, { method: 'POST', body }).then((r) => r.status)) === 200) break;
    await load(f.gateway, body); // warm-up: half the time is discarded below
    const r = await load(f.gateway, body);
    progress(`chain sandbox ${sandbox}${quotas ? ' (declared cpu quotas)' : ''}: ${f.sandbox}: ${r.perSec} req/s (${r.failed} failed)`);
    return { sandbox, status: f.sandbox, quotas, ...r };
  } finally {
    c.close();
    f.child.kill('SIGTERM');
    await new Promise((r) => f.child.on('exit', r));
  }
}

async function main() {
  const hopRows = values['skip-hop'] ? [] : hop();
  const rounds: Awaited<ReturnType<typeof chainRound>>[] = [];
  for (let i = 0; i < ROUNDS; i++) for (const mode of ['on', 'off'] as const) rounds.push(await chainRound(mode, false));
  const declared = await chainRound('on', true);
  const on = median(rounds.filter((r) => r.sandbox === 'on').map((r) => r.perSec));
  const off = median(rounds.filter((r) => r.sandbox === 'off').map((r) => r.perSec));
  const out = {
    hop: hopRows,
    chain: { chain: 'motion', connections: CONNECTIONS, seconds: SECONDS, reqPerSecOff: off, reqPerSecOn: on, overheadPct: Math.round(((off - on) / off) * 1000) / 10, rounds, declaredQuotas: declared },
  };
  process.stdout.write(JSON.stringify(out, null, 2) + '\n');
}

void main();
