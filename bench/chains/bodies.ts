/**
 * What the suite sends a chain: its own sample requests (requests/*.json
 * beside chain.yaml) in turn, or the first of them padded to a body size
 * (bench/scenarios' paddedBody), capped at the chain's maxBodyBytes; and
 * the chain's SLO, which the max search must meet.
 */
import { readFileSync } from 'node:fs';
import { loadChainFile } from '../../control/chain/load.js';
import { DEFAULTS } from '../../control/chain/schema.js';
import { minPaddedBytes, paddedBody } from '../scenarios/scenario.js';
import { sampleFiles } from './systems/chain-copy.js';
import type { ChainUnderTest } from './system.js';

export interface ChainFacts {
  name: string;
  maxBodyBytes: number;
  /** spec.slo.p99Ms, or the fallback when the chain has none. */
  sloP99Ms: number;
  samples: string[];
}

export function chainFacts(chain: ChainUnderTest, fallbackSloMs: number): ChainFacts {
  const found = loadChainFile(chain.file).find((c) => c.spec.metadata.name === chain.name);
  if (!found) throw new Error(`${chain.file} defines no chain named "${chain.name}"`);
  const samples = sampleFiles(chain).map((f) => readFileSync(f, 'utf8'));
  if (samples.length === 0) throw new Error(`chain ${chain.name} has no sample requests (requests/*.json beside ${chain.file}): the suite sends those`);
  return {
    name: chain.name,
    maxBodyBytes: found.spec.spec.limits?.maxBodyBytes ?? DEFAULTS.maxBodyBytes,
    sloP99Ms: found.spec.spec.slo?.p99Ms ?? fallbackSloMs,
    samples,
  };
}

export interface PaddedBody {
  /** The size asked for. */
  nominalBytes: number;
  /** The size sent: the nominal one, raised to the smallest padded sample or cut to maxBodyBytes. */
  bytes: number;
  body: string;
  /** Why bytes differs from nominalBytes, if it does. */
  note?: string;
}

/** The chain's first sample padded to `nominalBytes` (as close as it fits). */
export function paddedSample(facts: ChainFacts, nominalBytes: number): PaddedBody {
  const base = JSON.parse(facts.samples[0]!) as Record<string, unknown>;
  const min = minPaddedBytes(base);
  let bytes = nominalBytes;
  let note: string | undefined;
  if (bytes > facts.maxBodyBytes) {
    bytes = facts.maxBodyBytes;
    note = `${facts.name}'s maxBodyBytes is ${facts.maxBodyBytes}: the largest body that fits`;
  }
  if (bytes < min) {
    bytes = min;
    note = `the smallest body of ${facts.name}'s first sample with the pad member is ${min} bytes`;
  }
  return { nominalBytes, bytes, body: paddedBody(base, bytes), ...(note ? { note } : {}) };
}
