/**
 * `npm run bench -- --suite NAME`: which module runs each suite. A map, so
 * a suite joins with one entry; each is imported only when asked for, so a
 * suite's module can be absent from a checkout (multinode, until it is
 * merged) without breaking the others.
 */
import { join } from 'node:path';

export interface SuiteOptions {
  quick: boolean;
  json: boolean;
  /** Where to write results (each suite has its default under bench/results/). */
  out?: string;
  log: (m: string) => void;
  /** chains only: --systems, --chains and the first port of its range. */
  systems?: string[];
  chains?: string[];
  portBase: number;
  /** chains only: --scale, a full run's load durations multiplied (0, 1]. */
  scale?: number;
}

export interface SuiteOutcome {
  /** What --json prints: one object. */
  result: unknown;
  /** What is printed without --json. */
  text: string;
}

export type SuiteRunner = (o: SuiteOptions) => Promise<SuiteOutcome>;

const asText = (x: unknown) => JSON.stringify(x, null, 2);

export const SUITES: Record<string, SuiteRunner> = {
  chains: async (o) => (await import('./chain-suite-main.js')).chainsSuite(o),
  admin: async (o) => {
    const { runAdminSuite } = await import('../admin/run.js');
    const result = await runAdminSuite({ callers: 8, seconds: o.quick ? 2 : 10, chains: 10, log: o.log, ...(o.out ? { out: join(o.out, 'admin.json') } : {}) });
    return { result, text: asText(result) };
  },
  multinode: async (o) => {
    const { runMultinodeSuite } = await import('../multinode/run.js');
    const result = await runMultinodeSuite({ quick: o.quick, json: o.json, log: o.log, ...(o.out ? { out: o.out } : {}) });
    return { result, text: asText(result) };
  },
};

export const suiteNames = () => Object.keys(SUITES);
