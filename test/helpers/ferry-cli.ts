/** Run the built `ferry` CLI (bin/ferry.js) as a user would, with its own
 * FERRY_HOME, and collect what it printed. FERRY_ADMIN and FERRY_GATEWAY
 * are left out: set to reach a running ferry (npm start's), they would
 * point the tests at it. */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../../control/paths.js';

const BIN = join(repoRoot, 'bin/ferry.js');

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export function ferryCli(home: string): (...args: string[]) => Promise<Run> {
  return (...args) =>
    new Promise((resolve) => {
      const { FERRY_ADMIN: _admin, FERRY_GATEWAY: _gateway, ...env } = process.env;
      execFile(process.execPath, [BIN, ...args], { env: { ...env, FERRY_HOME: home }, timeout: 60_000 }, (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });
}
