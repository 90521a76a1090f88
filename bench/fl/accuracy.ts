/**
 * Time-to-accuracy on digits (MLP, IID, 20 clients), the same federation
 * on both systems: fl-train's data, split, round-0 model and local SGD
 * (control/fl/federation.ts, control/fl/train), the clients of simulate.ts
 * (same seeds), only the aggregation done by the system under test. Per
 * round: held-out accuracy of the sealed model, and seconds since the job
 * opened (the clients train in this process, one after another, the same
 * work for both systems).
 */
import { HEADER_SIZE, encodeUpdateHeader } from '../../control/fl/wire.js';
import { prepareFederation } from '../../control/fl/federation.js';
import { clientSeed } from '../../control/fl/simulate.js';
import { delta, evaluate, roundSeed, trainLocal } from '../../control/fl/train/train.js';
import type { AccuracyRun } from './report.js';
import type { FlSystemName, RunningFlSystem } from './system.js';

export const ACCURACY_CLIENTS = 20;
const MODEL_WAIT_MS = 60_000;

export async function runAccuracy(system: RunningFlSystem, opts: { name: FlSystemName; rounds: number; jobName: string; log: (m: string) => void }): Promise<AccuracyRun> {
  const fed = prepareFederation({ model: 'mlp', clients: ACCURACY_CLIENTS, split: { kind: 'iid' }, initSeed: 1 });
  const { net, shards, test } = fed;
  const job = await system.start({
    name: opts.jobName,
    paramCount: net.paramCount,
    layers: net.layers,
    seed: 1,
    rounds: opts.rounds,
    clients: ACCURACY_CLIENTS,
    quorum: ACCURACY_CLIENTS,
    roundDeadlineMs: 120_000,
    weighting: 'num-examples',
    fanIn: 8,
  });
  const conns = shards.map(() => job.connect());
  const started = performance.now();
  const perRound: number[] = [];
  const seconds: number[] = [];
  try {
    const model = new Float32Array(net.paramCount);
    for (let r = 0; r < opts.rounds; r++) {
      await conns[0]!.download(r, { waitMs: MODEL_WAIT_MS, into: model });
      // Each client trains from round r's model (fetched once here: every
      // client would fetch the same bytes) and uploads its delta.
      const uploads = shards.map((data, c) => {
        const trained = trainLocal(net, model, data, { ...fed.train, seed: roundSeed(clientSeed(c), r) });
        const d = delta(trained.params, model);
        const header = new Uint8Array(HEADER_SIZE);
        encodeUpdateHeader(header, { numExamples: data.count, round: r, clientId: `digits-${c}`, paramCount: net.paramCount });
        return conns[c]!.upload(r, header, new Uint8Array(d.buffer));
      });
      await Promise.all(uploads);
      await conns[0]!.download(r + 1, { waitMs: MODEL_WAIT_MS, into: model });
      const acc = evaluate(net, model, test).accuracy;
      perRound.push(acc);
      seconds.push((performance.now() - started) / 1000);
      if ((r + 1) % 5 === 0 || r + 1 === opts.rounds) opts.log(`  ${opts.name} digits round ${r + 1}/${opts.rounds}: accuracy ${acc.toFixed(3)}`);
    }
  } finally {
    for (const c of conns) c.close();
    await job.stop();
  }
  return { system: opts.name, rounds: opts.rounds, perRound, seconds };
}
