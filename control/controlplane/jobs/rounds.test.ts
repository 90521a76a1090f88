/**
 * Round events from two samples of a job's stats: closed rounds with the
 * last one's times, failed rounds from failed_rounds growing, several
 * rounds between samples, and job-done once.
 */
import { describe, expect, it } from 'vitest';
import type { JobStats } from '../../ferryd/proto.js';
import { roundEvents } from './rounds.js';

const job = { name: 'j', quorum: 8, rounds: 5 };
const stats = (over: Partial<JobStats>): JobStats => ({
  name: 'j',
  tenant: '',
  round: 0,
  state: 'open',
  accepted: 0,
  lateMerged: 0,
  rejected: {},
  lastAggregationMs: 0,
  lastRoundMs: 0,
  lastRoundUpdates: 0,
  modelBytes: 40,
  failedRounds: 0,
  ...over,
});
const seen = (round: number, failedRounds = 0, state = 'open') => ({ round, state, failedRounds });

describe('roundEvents', () => {
  it('says nothing while the round is the same', () => {
    expect(roundEvents(job, seen(2), stats({ round: 2, accepted: 5 }))).toEqual([]);
  });

  it('reports a closed round with its aggregation and round times', () => {
    const out = roundEvents(job, seen(0), stats({ round: 1, lastAggregationMs: 3.25, lastRoundMs: 412, lastRoundUpdates: 10 }));
    expect(out).toEqual([{ kind: 'round-closed', message: 'job j: round 0 closed: aggregation 3.3 ms, round 412 ms, 10 updates' }]);
  });

  it('reports a failed round when failed_rounds grew, saying it had too few updates', () => {
    const out = roundEvents(job, seen(1), stats({ round: 2, failedRounds: 1, lastRoundUpdates: 5 }));
    expect(out).toEqual([{ kind: 'round-failed', message: "job j: round 1 failed (5 of the 8 updates it needed by the deadline); round 2 starts from round 1's model" }]);
  });

  it('reports every round that ended between two samples, the failed ones last', () => {
    const out = roundEvents(job, seen(1), stats({ round: 4, failedRounds: 1, lastRoundUpdates: 2 }));
    expect(out.map((e) => e.kind)).toEqual(['round-closed', 'round-closed', 'round-failed']);
    expect(out[0]!.message).toBe('job j: round 1 closed');
  });

  it('reports job-done once, after the last round', () => {
    const done = stats({ round: 5, state: 'done', lastRoundUpdates: 8, accepted: 40 });
    expect(roundEvents(job, seen(4), done).map((e) => e.kind)).toEqual(['round-closed', 'job-done']);
    expect(roundEvents(job, seen(5, 0, 'done'), done)).toEqual([]);
  });

  it('reports nothing from the first sample of a job it did not see start', () => {
    expect(roundEvents(job, undefined, stats({ round: 3, failedRounds: 1 }))).toEqual([]);
  });
});
