/**
 * The main job until the chain work lands: a local single-node ferry data
 * plane serving an example chain, with real requests crossing the real
 * data plane (eBPF SK_MSG when it can load, the relay otherwise).
 *
 *   wordcount:  normalize (node) -> count (native C) -> format (node)
 *
 * Prints each reply, the per-instance router counters, then a short burst
 * with latency percentiles.
 */
import { join } from 'node:path';
import { STAGE_REPLY } from '../dataplane/descriptor.js';
import { Injector } from '../gateway/injector.js';
import { createLogger } from '../log.js';
import { NodeDataPlane } from '../node/dataplane.js';
import { repoRoot } from '../paths.js';

const CHAIN = 1;
const GATEWAY = 1;
const fns = join(repoRoot, 'chains/wordcount/functions');
const stages = [
  { id: 10, stage: 0, name: 'normalize', runtime: 'node' as const, handler: join(fns, 'normalize.ts') },
  { id: 11, stage: 1, name: 'count', runtime: 'native' as const, handler: join(fns, 'count.so') },
  { id: 12, stage: 2, name: 'format', runtime: 'node' as const, handler: join(fns, 'format.ts') },
];

const samples = [
  'Shared memory, not sockets, carries the payload: the descriptor is all that moves.',
  'The quick brown fox jumps over the lazy dog. The dog sleeps; the fox runs on.',
  'To be, or not to be, that is the question: whether tis nobler in the mind to suffer',
];

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

async function main(): Promise<void> {
  const log = createLogger({ component: 'demo' });
  const dp = new NodeDataPlane({ log });
  const out = (s = '') => process.stdout.write(s + '\n');
  out(`\nferry data plane demo — mode: ${dp.mode.toUpperCase()} (${dp.router.description})\n`);

  dp.createPool(CHAIN, 'wordcount');
  stages.forEach((s, i) => {
    const next = stages[i + 1];
    dp.spawn({
      instanceId: s.id,
      chainId: CHAIN,
      stage: s.stage,
      stageName: s.name,
      runtime: s.runtime,
      handler: s.handler,
      next: next ? [{ name: next.name, id: next.stage }] : [],
    });
    dp.setRoute(CHAIN, s.stage, [{ instance: s.id, weight: 1 }]);
    dp.allow(CHAIN, s.stage, next ? next.stage : STAGE_REPLY);
  });
  dp.allow(CHAIN, STAGE_REPLY, 0);
  const inj = new Injector(dp.openGateway(CHAIN, GATEWAY));

  for (const text of samples) {
    const r = await inj.request(0, text);
    out(`> ${text}`);
    out(new TextDecoder().decode(r.body).replace(/^/gm, '  '));
  }

  out('router counters (per instance):');
  for (const s of stages) {
    const c = dp.counters(s.id);
    const drops = Object.values(c.drops).reduce((a, b) => a + b, 0);
    out(`  ${s.name.padEnd(10)} ${s.runtime.padEnd(7)} rx ${c.rxMsgs} msgs/${c.rxBytes} B   tx ${c.txMsgs} msgs/${c.txBytes} B   drops ${drops}`);
  }

  const n = 5000;
  const window = 16;
  const lat: number[] = [];
  let sent = 0;
  const t0 = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: window }, async () => {
      while (sent++ < n) {
        const t = process.hrtime.bigint();
        await inj.request(0, samples[sent % samples.length]!);
        lat.push(Number(process.hrtime.bigint() - t) / 1000);
      }
    }),
  );
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  lat.sort((a, b) => a - b);
  out(
    `\nburst: ${n} requests through 3 stages (${window} in flight): ${(n / secs).toFixed(0)} req/s, ` +
      `p50 ${percentile(lat, 50).toFixed(0)} us, p99 ${percentile(lat, 99).toFixed(0)} us`,
  );
  out(`pool after the burst: ${dp.pool(CHAIN).stats().inUse} buffers in use (0 = nothing leaked)\n`);
  inj.close();
  await dp.close();
}

main().catch((err: unknown) => {
  process.stderr.write(`demo failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
