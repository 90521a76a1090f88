/** What every transport's case runner is given. */
import { chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { HopCase, Pinning } from './options.js';

export interface CaseSetup {
  cases: HopCase[];
  budgetMs: number;
  pin: Pinning;
  /** A fresh directory for one pinger's sample files. */
  caseDir(name: string): string;
}

export function caseSetup(root: string, cases: HopCase[], budgetMs: number, pin: Pinning): CaseSetup {
  return {
    cases,
    budgetMs,
    pin,
    caseDir(name) {
      const dir = join(root, name);
      mkdirSync(dir, { recursive: true });
      // A ferry pinger runs sandboxed, as another user than this process.
      chmodSync(dir, 0o1777);
      return dir;
    },
  };
}
