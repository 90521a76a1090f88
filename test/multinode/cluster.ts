/**
 * A two-node ferry cluster the way an operator brings it up (README):
 * `ferry up --no-local-node`, `ferry node cert` per node, a ferryd in each
 * namespace of a NetnsPair, `ferry node add` each; and down again. No
 * test framework in here: bench:fl's two-node mode brings it up too.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor as until } from '../../control/ferryd/testdata/harness.js';
import type { Run } from '../helpers/ferry-cli.js';
import type { NetnsNode, NetnsPair } from './netns-nodes.js';

export type Ferry = (...args: string[]) => Promise<Run>;

/** Runs ferry and throws what it printed when it fails. */
async function must(ferry: Ferry, ...args: string[]): Promise<void> {
  const r = await ferry(...args);
  if (r.code !== 0) throw new Error(`ferry ${args.join(' ')} failed (${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
}

export const tlsDirOf = (home: string, n: NetnsNode) => join(home, `tls-${n.name}`);

/** Both nodes joined, gateways on :8080; extra `ferry node add` flags per node. */
export async function clusterUp(pair: NetnsPair, ferry: Ferry, home: string, addFlags: { a?: string[]; b?: string[] } = {}): Promise<void> {
  pair.up();
  // As the README says: ferry up makes the CA, `ferry node cert` each node's credential.
  await must(ferry, 'up', '--no-local-node', '--admin', '127.0.0.1:0', '--metrics', '127.0.0.1:0');
  for (const n of [pair.a, pair.b]) await must(ferry, 'node', 'cert', n.name, '--out', tlsDirOf(home, n));
  for (const n of [pair.a, pair.b]) pair.start(n, { gateway: true, tlsDir: tlsDirOf(home, n) });
  // ferryd takes a moment to listen inside its namespace.
  for (const n of [pair.a, pair.b])
    await until(`node ${n.name} to join`, async () => ((await ferry('node', 'add', `${n.hostIp}:7070`, ...(addFlags[n.name] ?? []))).code === 0 ? true : undefined), 30_000);
}

export async function clusterDown(pair: NetnsPair, ferry: Ferry, home: string): Promise<void> {
  await ferry('down');
  await pair.down();
  rmSync(home, { recursive: true, force: true });
}
