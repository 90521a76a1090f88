/**
 * The parking chain end to end on the real data plane: both routes (entry:
 * detection -> search -> index -> persist; exit: detection -> search ->
 * charging), plate voting, registry lookup, the day log on disk and the
 * tariff, plus bad input refused (4xx, saying what is wrong) at the native
 * and node stages.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../control/paths.js';
import { sharedTempDir } from '../../test/helpers/dataplane.js';
import { chainUnderTest, sampleRequests } from '../test-context.js';

const CHAIN_FILE = join(repoRoot, 'chains/parking/chain.yaml');
const samples = sampleRequests(CHAIN_FILE);

describe('parking chain', () => {
  const store = sharedTempDir('ferry-parking-test-');
  afterAll(() => rmSync(store, { recursive: true, force: true }));
  const t = chainUnderTest(CHAIN_FILE, { env: { FERRY_PARKING_STORE: store } });
  const { ok, rejects } = t;

  it('compiles to 5 stages with search choosing between index and charging', () => {
    expect(t.chain.ir.stages.map((s) => `${s.name}:${s.runtime}->${s.next.map((n) => n.name).join('|')}`)).toEqual([
      'detection:native->search', 'search:node->index|charging', 'index:node->persist', 'persist:node->', 'charging:native->',
    ]);
    expect(Object.keys(samples).sort()).toEqual(['entry', 'exit', 'exit-long-stay']);
  });

  it('records an entry: votes the reads into a plate, finds the resident, indexes and appends to the day log', async () => {
    const r = await ok(samples.entry!);
    expect(r).toMatchObject({ status: 'stored', plate: 'BAB1234', permit: 'resident', owner: 'Ada Lovelace', alert: false });
    expect(r.keys).toEqual(['plate:BAB1234', 'lot:central:2024-06-10', 'camera:gate-north', 'permit:resident']);
    expect(r.log.file).toBe(join(store, 'central-2024-06-10.jsonl'));
    const line = readFileSync(r.log.file).subarray(r.log.offset, r.log.offset + r.log.bytes).toString();
    const rec = JSON.parse(line);
    expect(rec).toMatchObject({ eventId: r.eventId, plate: 'BAB1234', atEpoch: 1718007300, day: '2024-06-10', hour: 8, event: 'entry' });
    // 0.82 + 0.90 of 2.12 votes for BAB1234; "8AB1234" lost.
    expect(rec.confidence).toBe(0.8113);
  });

  it('gives a retried entry the same event id and appends it after the first', async () => {
    const first = await ok(samples.entry!);
    const again = await ok(samples.entry!);
    expect(again.eventId).toBe(first.eventId);
    expect(again.log.offset).toBe(first.log.offset + first.log.bytes);
  });

  it('charges a visitor 2.50 per started hour on exit', async () => {
    // 08:15 -> 11:40 is 205 minutes: 4 started hours.
    expect(await ok(samples.exit!)).toEqual({
      plate: 'MXY789', lot: 'central', permit: 'visitor', enteredAtEpoch: 1718007300, exitedAtEpoch: 1718019600,
      minutes: 205, days: 0, hours: 4, amountMicros: 10_000_000, currency: 'EUR', display: '€10.00',
    });
  });

  it('caps each day at 20.00 on a long stay', async () => {
    // 3030 minutes: 2 full days (40.00) + 150 minutes (3 hours, 7.50).
    expect(await ok(samples['exit-long-stay']!)).toMatchObject({ plate: 'HHQ42', minutes: 3030, days: 2, hours: 3, amountMicros: 47_500_000, display: '€47.50' });
  });

  it('lets staff out free and flags a blocked plate on entry', async () => {
    const staff = await ok({ event: 'exit', lot: 'central', plate: 'KAR-0815', at: 1718019600, enteredAt: 1718000000 });
    expect(staff).toMatchObject({ permit: 'staff', amountMicros: 0, display: '€0.00' });
    const blocked = await ok({ event: 'entry', lot: 'central', camera: 'gate-north', plate: 'stolen 1', at: '2024-06-10T23:59:00Z' });
    expect(blocked).toMatchObject({ permit: 'blocked', alert: true });
  });

  it('takes a bare plate as an entry into lot "main" now (the README example)', async () => {
    const today = new Date().toISOString().slice(0, 10);
    const r = await ok({ camera: 'gate-1', plate: 'ab 123 cd' });
    expect(r).toMatchObject({ status: 'stored', plate: 'AB123CD', permit: 'visitor', alert: false });
    expect(r.keys).toContain(`lot:main:${today}`);
    expect(r.log.file).toBe(join(store, `main-${today}.jsonl`));
  });

  it('refuses in native detection when no plate wins enough votes or the body is not JSON', async () => {
    const split = { reads: [{ text: 'AB 123', confidence: 0.5 }, { text: 'A8 123', confidence: 0.5 }, { text: 'AB I23', confidence: 0.4 }] };
    expect(await rejects(split)).toEqual({
      status: 422, code: 'noPlate', message: 'no plate recognised with enough confidence: best "AB123" has 0.36 of the votes (needs 0.50)',
    });
    expect(await rejects('{"plate": "AB 1')).toMatchObject({ status: 400, code: 'badJson', message: expect.stringContaining('malformed JSON at byte') });
    expect(await rejects({ reads: [{ text: 'AB 123', confidence: 7 }] })).toMatchObject({ status: 422, code: 'badField', message: expect.stringContaining('"confidence" must be a number in (0, 1]') });
    expect(await rejects({ camera: 'gate-1' })).toMatchObject({ status: 422, message: expect.stringContaining('"reads" (the camera\'s plate reads) or "plate" is required') });
  });

  it('refuses in search a bad event, lot or time, and in charging an exit before the entry', async () => {
    const field = (message: string) => ({ status: 422, code: 'badField', message });
    expect(await rejects({ plate: 'AB123', event: 'park' })).toEqual(field('"event" must be "entry" or "exit", not "park"'));
    expect(await rejects({ plate: 'AB123', lot: '../etc' })).toMatchObject({ status: 422, message: expect.stringContaining('"lot" must be a name') });
    expect(await rejects({ plate: 'AB123', event: 'exit', at: 'yesterday', enteredAt: 0 })).toMatchObject({ status: 422, message: expect.stringContaining('"at" must be an ISO-8601 time') });
    // A time past the year 9999 cannot name a day log: refused, not a 500 in index.
    expect(await rejects({ plate: 'AB123', at: 1e20 })).toMatchObject({ status: 422, message: expect.stringContaining('before the year 10000') });
    expect(await rejects({ plate: 'AB123', event: 'exit', at: 1000, enteredAt: 2000 })).toEqual(field('the exit time ("at") is before the entry time ("enteredAt")'));
  });
});
