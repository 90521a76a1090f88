/**
 * The motion chain end to end on the real data plane: native motion
 * detection (median/MAD over the window) feeding the node actuator's
 * decision, with bad readings refused (4xx, saying what is wrong) in the
 * sensor stage and bad light readings in the actuator.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../control/paths.js';
import { chainUnderTest, sampleRequests } from '../test-context.js';

const CHAIN_FILE = join(repoRoot, 'chains/motion/chain.yaml');
const samples = sampleRequests(CHAIN_FILE);

describe('motion chain', () => {
  const t = chainUnderTest(CHAIN_FILE);
  const { ok, rejects } = t;

  it('compiles to sensor (native) -> actuator (node), with a test for each sample', () => {
    expect(t.chain.ir.stages.map((s) => `${s.name}:${s.runtime}`)).toEqual(['sensor:native', 'actuator:node']);
    expect(Object.keys(samples).sort()).toEqual(['intruder', 'still', 'walk']);
  });

  it('turns the lights on for someone walking through a dark hallway', async () => {
    // Baseline 100, MAD 1 -> threshold max(4 x 1.4826, 5) = 5.93; samples
    // 3..7 (140..160) are a 5-sample run: 300 ms in, 500 ms long, peak 60.
    expect(await ok(samples.walk!)).toEqual({
      device: 'hall-pir-1', zone: 'hallway', motion: { detected: true, durationMs: 500, score: 10.12 },
      action: 'lights_on', brightness: 76, durationS: 70, reason: 'motion in the dark (lux 12)',
    });
  });

  it('does nothing about sensor noise', async () => {
    expect(await ok(samples.still!)).toMatchObject({ action: 'none', reason: 'no motion', motion: { detected: false, durationMs: 0 } });
  });

  it('sounds the alarm for motion in an armed zone', async () => {
    // 50 Hz: samples 7..12 above 9.81 + 0.2 -> 6 x 20 ms.
    expect(await ok(samples.intruder!)).toMatchObject({
      zone: 'back-door', action: 'alarm', siren: true, notify: ['security'], motion: { detected: true, durationMs: 120, score: 16.45 },
    });
  });

  it('leaves the lights alone when the room is bright', async () => {
    const bright = { ...JSON.parse(samples.walk!), lux: 320 };
    expect(await ok(bright)).toMatchObject({ action: 'none', reason: 'bright enough (lux 320)' });
  });

  it('refuses readings that are not numbers, too few, or not JSON in the native sensor, saying what is wrong', async () => {
    const field = (message: string) => ({ status: 422, code: 'badField', message });
    expect(await rejects({ samples: [1, 2, 'three', 4, 5] })).toEqual(field('samples[2] is not a number'));
    expect(await rejects({ samples: [1, 2, 3] })).toEqual(field('"samples" needs at least 5 readings'));
    expect(await rejects({ samples: [1, 2, 3, 4, 5], sampleHz: 0 })).toEqual(field('"sampleHz" must be a number from 1 to 1000'));
    expect(await rejects('[1, 2, 3')).toMatchObject({ status: 400, code: 'badJson', message: expect.stringMatching(/^malformed JSON at byte 8: /) });
    expect(await rejects('[1, 2, 3, 4, 5]')).toEqual({ status: 400, code: 'badJson', message: 'the readings must be a JSON object' });
  });

  it('refuses a light reading that is not a number in the node actuator', async () => {
    const walk = JSON.parse(samples.walk!);
    expect(await rejects({ ...walk, lux: 'dim' })).toEqual({ status: 422, code: 'badField', message: '"lux" must be a non-negative number' });
    expect(await rejects({ ...walk, lux: undefined, hour: 25 })).toEqual({ status: 422, code: 'badField', message: '"hour" must be an integer from 0 to 23' });
  });
});
