/**
 * The baseline aggregator over real gRPC (in this process): its FedAvg
 * equals an offline FedAvg of the same updates, bad updates are refused
 * with ferry's codes without touching the round, a client gone mid-upload
 * is counted and forgotten, and the deadline/quorum rules hold.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { HEADER_SIZE, encodeUpdate, encodeUpdateHeader } from '../../../control/fl/wire.js';
import { initialModel } from '../../../control/fl/model.js';
import { seeded } from '../../../control/random.js';
import { fedAvg } from '../../../control/fl/reference.js';
import { BaselineClient, BaselineError } from './client.js';
import type { Rules } from './fedavg.js';
import { serveBaseline, type RunningBaseline } from './server.js';
import { credentials } from '@grpc/grpc-js';
import { AggregatorService, CHANNEL_OPTIONS } from './proto.js';

const P = 1000;
const layers = [
  { name: 'w', shape: [40, 24] },
  { name: 'b', shape: [40] },
];
let running: RunningBaseline | undefined;
const clients: BaselineClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await running?.close();
  running = undefined;
});

async function up(rules: Partial<Rules> = {}): Promise<{ client: BaselineClient; initial: Float32Array }> {
  const initial = initialModel(layers, P, 7);
  running = await serveBaseline({ port: 0, rules: { paramCount: P, rounds: 3, clients: 4, quorum: 4, roundDeadlineMs: 30_000, weighting: 'num-examples', ...rules }, initial });
  const client = new BaselineClient(`127.0.0.1:${running.port}`);
  clients.push(client);
  return { client, initial };
}

function delta(seed: number, n = P): Float32Array {
  const r = seeded(seed);
  return Float32Array.from({ length: n }, () => r() - 0.5);
}

/** Send a whole update (header + tensor) as the client does. */
function send(c: BaselineClient, round: number, clientId: string, d: Float32Array, numExamples = 10) {
  const whole = encodeUpdate({ numExamples, round, clientId }, d);
  return c.upload(round, whole.subarray(0, HEADER_SIZE), whole.subarray(HEADER_SIZE), 1000);
}

/** control/fl/reference.ts's offline FedAvg of the same updates (num-examples weights). */
const reference = (base: Float32Array, updates: { d: Float32Array; w: number }[]) =>
  fedAvg(base, updates.map((u) => ({ delta: u.d, numExamples: u.w })), 'num-examples');

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    return err instanceof BaselineError ? err.code : `unexpected: ${(err as Error).message}`;
  }
}

describe('gRPC baseline aggregator', () => {
  it('averages two rounds as an offline FedAvg does (num-examples weights, deltas on the round model)', async () => {
    const { client, initial } = await up();
    let base: Float32Array = initial;
    for (const round of [0, 1]) {
      const ups = [0, 1, 2, 3].map((i) => ({ id: `c${i}`, d: delta(round * 10 + i), w: 5 + i * 7 }));
      const replies = await Promise.all(ups.map((u) => send(client, round, u.id, u.d, u.w)));
      expect(replies.map((r) => r.weight)).toEqual(ups.map((u) => u.w));
      const model = new Float32Array(P);
      const got = await client.download(round + 1, { waitMs: 5000, into: model });
      expect(got.bytes).toBe(4 * P);
      const want = reference(base, ups);
      for (let i = 0; i < P; i++) expect(model[i]).toBeCloseTo(want[i]!, 5);
      base = model;
    }
    const s = await client.status();
    expect(s.round).toBe(2);
    expect(s.accepted).toBe(8);
    expect(s.rounds.map((r) => r.updates)).toEqual([4, 4]);
    expect(s.rounds.every((r) => r.aggregationMs > 0 && r.roundMs >= r.aggregationMs)).toBe(true);
    const updateBytes = 8 * (HEADER_SIZE + 4 * P);
    expect(s.bytesReceived).toBe(updateBytes);
    // 3 copies per update byte, 1 per model finished, 2 per model byte served (2 downloads)
    expect(s.bytesCopied).toBe(3 * updateBytes + 2 * 4 * P + 2 * 2 * 4 * P);
  });

  it('uniform weighting ignores num_examples', async () => {
    const { client, initial } = await up({ clients: 2, quorum: 2, weighting: 'uniform' });
    const a = delta(1);
    const b = delta(2);
    await Promise.all([send(client, 0, 'a', a, 1), send(client, 0, 'b', b, 1000)]);
    const model = new Float32Array(P);
    await client.download(1, { waitMs: 5000, into: model });
    const want = reference(initial, [{ d: a, w: 1 }, { d: b, w: 1 }]);
    for (let i = 0; i < P; i += 97) expect(model[i]).toBeCloseTo(want[i]!, 5);
  });

  it('refuses bad updates with ferry codes, counts them, and leaves the round to the good ones', async () => {
    const { client, initial } = await up({ clients: 2, quorum: 2 });
    const good = delta(3);
    const nan = delta(4);
    nan[123] = Number.NaN;
    const inf = delta(5);
    inf[0] = Number.POSITIVE_INFINITY;
    expect(await codeOf(send(client, 0, 'x', nan))).toBe('nonFiniteUpdate');
    expect(await codeOf(send(client, 0, 'x', inf))).toBe('nonFiniteUpdate');
    expect(await codeOf(send(client, 0, 'x', delta(6, P - 1)))).toBe('badTensorSize');
    expect(await codeOf(send(client, 1, 'x', good))).toBe('roundNotOpen');
    // header says round 0 but the request says 1
    const whole = encodeUpdate({ numExamples: 3, round: 0, clientId: 'x' }, good);
    expect(await codeOf(client.upload(1, whole.subarray(0, HEADER_SIZE), whole.subarray(HEADER_SIZE)))).toBe('badHeader');
    const header = new Uint8Array(HEADER_SIZE);
    encodeUpdateHeader(header, { numExamples: 3, round: 0, clientId: 'x', paramCount: P, dtype: 2 });
    expect(await codeOf(client.upload(0, header, new Uint8Array(4 * P)))).toBe('badDtype');
    encodeUpdateHeader(header, { numExamples: 0, round: 0, clientId: 'x', paramCount: P });
    expect(await codeOf(client.upload(0, header, new Uint8Array(4 * P)))).toBe('badHeader');
    encodeUpdateHeader(header, { numExamples: 1, round: 0, clientId: 'bad id!', paramCount: P });
    expect(await codeOf(client.upload(0, header, new Uint8Array(4 * P)))).toBe('badHeader');
    // too long: the tensor runs past param_count
    encodeUpdateHeader(header, { numExamples: 1, round: 0, clientId: 'x', paramCount: P });
    expect(await codeOf(client.upload(0, header, new Uint8Array(4 * P + 8)))).toBe('badTensorSize');

    expect(await codeOf(send(client, 0, 'x', good, 2))).toBe('ok');
    expect(await codeOf(send(client, 0, 'x', good, 2))).toBe('duplicateUpdate');
    const other = delta(8);
    expect(await codeOf(send(client, 0, 'y', other, 6))).toBe('ok');
    expect(await codeOf(send(client, 0, 'z', other, 6))).toBe('roundClosed');

    const model = new Float32Array(P);
    await client.download(1, { waitMs: 5000, into: model });
    const want = reference(initial, [{ d: good, w: 2 }, { d: other, w: 6 }]);
    for (let i = 0; i < P; i++) expect(model[i]).toBeCloseTo(want[i]!, 5);
    const s = await client.status();
    expect(s.accepted).toBe(2);
    expect(s.rejected).toEqual({ nonFiniteUpdate: 2, badTensorSize: 2, roundNotOpen: 1, badHeader: 3, badDtype: 1, duplicateUpdate: 1, roundClosed: 1 });
    expect(await codeOf(client.download(7))).toBe('roundNotReady');
  });

  it('counts a client gone mid-upload, frees its slot (it may send again), and does not count it in the round', async () => {
    const { client } = await up({ clients: 1, quorum: 1 });
    const raw = new AggregatorService(`127.0.0.1:${running!.port}`, credentials.createInsecure(), CHANNEL_OPTIONS) as unknown as {
      upload(cb: () => void): { write(m: object): boolean; cancel(): void };
      close(): void;
    };
    const call = raw.upload(() => undefined);
    const whole = encodeUpdate({ numExamples: 1, round: 0, clientId: 'gone' }, delta(9));
    call.write({ round: 0, data: Buffer.from(whole.subarray(0, HEADER_SIZE + 400)) });
    await new Promise((r) => setTimeout(r, 200));
    call.cancel();
    for (let i = 0; i < 50 && (await client.status()).rejected['disconnected'] === undefined; i++) await new Promise((r) => setTimeout(r, 50));
    raw.close();
    expect((await client.status()).rejected).toEqual({ disconnected: 1 });
    expect(await codeOf(send(client, 0, 'gone', delta(9)))).toBe('ok');
    expect((await client.status()).rounds[0]!.updates).toBe(1);
  });

  it('closes at the deadline with a quorum, and fails the round below it (the next model is the same)', async () => {
    const { client, initial } = await up({ clients: 4, quorum: 2, roundDeadlineMs: 300 });
    const d = delta(10);
    await send(client, 0, 'a', d);
    await send(client, 0, 'b', d);
    const m1 = new Float32Array(P);
    await client.download(1, { waitMs: 5000, into: m1 });
    const want = reference(initial, [{ d, w: 10 }, { d, w: 10 }]);
    expect(m1[5]).toBeCloseTo(want[5]!, 5);
    await send(client, 1, 'a', d);
    const m2 = new Float32Array(P);
    await client.download(2, { waitMs: 5000, into: m2 });
    expect(m2).toEqual(m1);
    const s = await client.status();
    expect(s.rounds.map((r) => [r.updates, r.failed])).toEqual([
      [2, false],
      [1, true],
    ]);
    expect(s.rounds[0]!.roundMs).toBeGreaterThanOrEqual(290);
  });
});
