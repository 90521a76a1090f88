/**
 * Request-rate traces: requests per second, second by second. The default
 * set is synthetic and seeded (the same counts on every run of a seed):
 *
 * - diurnal: one compressed day, a raised cosine from 50 to 1500 req/s and
 *   back over the trace, with slow +-10% wobble;
 * - bursty: 150 req/s with spikes every 150 s on average, each rising
 *   within 1-3 s to 4-8x, holding 5-30 s, and falling within 2 s;
 * - onoff: on periods of 30-120 s at 200-800 req/s between idle gaps, 60%
 *   short (5-25 s) and 40% long (90-300 s).
 *
 * Rates are for a chain like online-boutique, whose entry stage serves a
 * request in about 0.2 ms of CPU on a 100m quota: the peaks need several
 * instances of it, the troughs one.
 *
 * Counts are Poisson draws around the rate, spread uniformly within their
 * second by the simulator (a Poisson process at that rate). `--trace FILE`
 * replays a CSV of `second,requests` as it is.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { Rng } from './sim/rng.js';

export interface Trace {
  name: string;
  /** Requests arriving in each second. */
  counts: number[];
}

/** A rate function sampled into Poisson counts. */
function fromRate(name: string, seconds: number, rng: Rng, rate: (t: number) => number, scale: number): Trace {
  return { name, counts: Array.from({ length: seconds }, (_, t) => rng.poisson(Math.max(0, scale * rate(t)))) };
}

/** Smooth noise: a sum of a few slow sines with random phases. */
function wobble(rng: Rng, periodsS: number[]): (t: number) => number {
  const phases = periodsS.map(() => rng.uniform(0, 2 * Math.PI));
  return (t) => periodsS.reduce((s, p, i) => s + Math.sin((2 * Math.PI * t) / p + (phases[i] ?? 0)), 0) / periodsS.length;
}

export function diurnal(seconds: number, seed: number, scale = 1): Trace {
  const rng = new Rng(seed * 1000 + 1);
  const w = wobble(rng, [97, 211, 389]);
  return fromRate('diurnal', seconds, rng, (t) => (50 + (1450 * (1 - Math.cos((2 * Math.PI * t) / seconds))) / 2) * (1 + 0.1 * w(t)), scale);
}

export function bursty(seconds: number, seed: number, scale = 1): Trace {
  const rng = new Rng(seed * 1000 + 2);
  const base = 150;
  const rate = new Array<number>(seconds).fill(base);
  for (let t = rng.uniform(20, 150); t < seconds; t += -150 * Math.log(1 - rng.next())) {
    const rise = rng.uniform(1, 3);
    const hold = rng.uniform(5, 30);
    const peak = base * rng.uniform(4, 8);
    for (let s = Math.floor(t); s < Math.min(seconds, t + rise + hold + 2); s++) {
      const x = s - t;
      const level = x < rise ? x / rise : x < rise + hold ? 1 : 1 - (x - rise - hold) / 2;
      rate[s] = Math.max(rate[s] ?? base, base + (peak - base) * Math.max(0, level));
    }
  }
  return fromRate('bursty', seconds, rng, (t) => rate[t] ?? base, scale);
}

export function onoff(seconds: number, seed: number, scale = 1): Trace {
  const rng = new Rng(seed * 1000 + 3);
  const rate = new Array<number>(seconds).fill(0);
  let t = 0;
  while (t < seconds) {
    const on = Math.round(rng.uniform(30, 120));
    const r = rng.uniform(200, 800);
    for (let s = t; s < Math.min(seconds, t + on); s++) rate[s] = r;
    t += on;
    t += Math.round(rng.next() < 0.6 ? rng.uniform(5, 25) : rng.uniform(90, 300));
  }
  return fromRate('onoff', seconds, rng, (s) => rate[s] ?? 0, scale);
}

/** The default set; scale multiplies every rate (--rate-scale). */
export function syntheticTraces(seconds: number, seed: number, scale = 1): Trace[] {
  return [diurnal(seconds, seed, scale), bursty(seconds, seed, scale), onoff(seconds, seed, scale)];
}

/** A CSV of `second,requests` (a header line and # comments allowed;
 * seconds not listed have no requests). */
export function parseTraceCsv(text: string, file: string): Trace {
  const counts: number[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const m = /^(\d+)\s*,\s*(\d+)$/.exec(line);
    if (!m) {
      if (i === 0 && /[a-z]/i.test(line)) return; // a header
      throw new Error(`${file}:${i + 1}: expected "second,requests" (two whole numbers), found "${line.slice(0, 60)}"`);
    }
    const second = Number(m[1]);
    if (second > 7 * 86_400) throw new Error(`${file}:${i + 1}: second ${second} is past a week; a trace this long is not simulated`);
    while (counts.length <= second) counts.push(0);
    counts[second] = (counts[second] ?? 0) + Number(m[2]);
  });
  if (counts.length === 0) throw new Error(`${file}: no "second,requests" lines`);
  return { name: basename(file).replace(/\.csv$/i, ''), counts };
}

export function loadTraceCsv(file: string): Trace {
  return parseTraceCsv(readFileSync(file, 'utf8'), file);
}
