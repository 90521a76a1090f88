/**
 * A load scenario's shape (issue #10): the typed form of
 * scenario.schema.json, and the body a sweep sends. Shared by the loader
 * (load.ts, under Node) and the k6 scripts (bench/k6/, under k6), so this
 * file imports nothing and uses nothing but the language.
 */

export type ScenarioKind = 'steady' | 'max' | 'sweep' | 'burst' | 'admin';

/** What a run must meet to pass: k6 thresholds. */
export interface Thresholds {
  /** 99th percentile latency bound (for HTTP kinds, at most the chain's spec.slo.p99Ms). */
  p99Ms: number;
  /** Largest fraction of failed requests, 0..1. */
  maxErrorRate: number;
}

export interface Stage {
  durationS: number;
  /** Requests per second reached by the end of the stage (k6 ramps linearly to it). */
  rate: number;
}

interface Common {
  /** The file's name without .json. */
  name: string;
  description: string;
  /** A chain under chains/<chain>/chain.yaml. */
  chain: string;
  thresholds: Thresholds;
}

/** A fixed arrival rate (open loop) for durationS. */
export interface SteadyScenario extends Common {
  kind: 'steady';
  /** Sample request files in chains/<chain>/requests/, sent in turn. */
  requests: string[];
  rate: number;
  durationS: number;
}

/** Closed loop: connections ramp up in doublings (1, 2, 4 ... connections),
 * durationS in all; the highest level whose p99 and errors meet the
 * thresholds gives the chain's maximum rate. */
export interface MaxScenario extends Common {
  kind: 'max';
  requests: string[];
  connections: number;
  durationS: number;
}

/** One fixed-rate run of durationS per body size: the single request
 * file, padded to each size in payloadBytes (see paddedBody). */
export interface SweepScenario extends Common {
  kind: 'sweep';
  requests: string[];
  rate: number;
  durationS: number;
  payloadBytes: number[];
}

/** Arrival rate ramped through stages (a step holds a rate; a spike jumps to one). */
export interface BurstScenario extends Common {
  kind: 'burst';
  requests: string[];
  stages: Stage[];
}

/** Read-only gRPC admin API calls (ferry.admin.v1.Admin), `rate` per second
 * spread over `calls`; GetChain asks for `chain`. */
export interface AdminScenario extends Common {
  kind: 'admin';
  calls: AdminCall[];
  rate: number;
  durationS: number;
}

export type AdminCall = 'ListChains' | 'GetChain' | 'ListNodes';

export type Scenario = SteadyScenario | MaxScenario | SweepScenario | BurstScenario | AdminScenario;

/** The kinds k6 drives over HTTP (admin is gRPC). */
export type HttpScenario = Exclude<Scenario, AdminScenario>;

/** The member a sweep pads a request with. */
export const PAD_FIELD = 'pad';

/** A JSON object's text padded to exactly `bytes` bytes of UTF-8 with a
 * string member of ASCII `x`s: the chain sees its usual request with one
 * extra member, which chains that hand unknown members on (motion does)
 * carry through every stage. Throws when `bytes` is below
 * minPaddedBytes(base). */
export function paddedBody(base: Record<string, unknown>, bytes: number): string {
  const min = minPaddedBytes(base);
  if (bytes < min) throw new RangeError(`cannot pad this request to ${bytes} bytes: it takes ${min} with an empty "${PAD_FIELD}" member`);
  const body = JSON.stringify({ ...base, [PAD_FIELD]: 'x'.repeat(bytes - min) });
  return body;
}

/** The size of `base` with an empty pad member: the smallest body a sweep can send. */
export function minPaddedBytes(base: Record<string, unknown>): number {
  return utf8Length(JSON.stringify({ ...base, [PAD_FIELD]: '' }));
}

/** Bytes of `s` in UTF-8 (k6 has no Buffer or TextEncoder). */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length) {
      n += 4; // a surrogate pair: one 4-byte code point
      i++;
    } else n += 3;
  }
  return n;
}
