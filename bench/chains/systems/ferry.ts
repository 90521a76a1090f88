/**
 * ferry as a system under test: `ferry up` (supervisor + daemon: control
 * plane, ferryd, gateway) as processes of their own, so their CPU is
 * measured apart from the load generator, with a FERRY_HOME, ports and a
 * BPF pin dir of its own (never the defaults a developer's ferry uses),
 * then `ferry apply -f` of each chain rewritten by chain-copy.ts (pinned
 * instance counts, manual autoscaling). pids() is the supervisor and every
 * descendant, walked from /proc on each call since instances restart.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../../control/paths.js';
import { processTree } from '../../lib/proc-tree.js';
import type { ChainUnderTest, RunningSystem, SystemName, SystemOptions, SystemUnderTest } from '../system.js';
import { sampleFiles, writePinnedChain } from './chain-copy.js';

const BIN = join(repoRoot, 'bin/ferry.js');
const READY_TIMEOUT_MS = 60_000;

type Mode = 'ebpf' | 'fallback';

/** Runs the ferry CLI against this system's FERRY_HOME; rejects with what it printed.
 * (Also bench:fl's: it applies AggregationJobs to the ferry this brings up.) */
export function cli(home: string, args: string[], timeoutMs = 120_000): Promise<string> {
  // FERRY_ADMIN / FERRY_GATEWAY would point the CLI at someone else's ferry.
  const { FERRY_ADMIN: _a, FERRY_GATEWAY: _g, ...env } = process.env;
  return new Promise((resolve, reject) =>
    execFile(process.execPath, [BIN, ...args], { env: { ...env, FERRY_HOME: home }, timeout: timeoutMs }, (err, stdout, stderr) =>
      err ? reject(new Error(`ferry ${args.join(' ')} failed: ${stderr.trim() || err.message}`)) : resolve(stdout),
    ),
  );
}

/** The first sample request of a chain, '{}' if it has none. */
function firstSample(chain: ChainUnderTest): string {
  const first = sampleFiles(chain)[0];
  return first ? readFileSync(first, 'utf8') : '{}';
}

/** POSTs until a 200 (instances may still be starting) or the deadline. */
async function awaitServing(url: string, body: string, what: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
      const text = await res.text();
      if (res.status === 200) return;
      last = `${res.status} ${text.slice(0, 200)}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${what} did not answer 200 within ${READY_TIMEOUT_MS / 1000} s (last: ${last}); see its log under the run's work dir`);
}

/** Where ferrySystem(mode).up(..., opts) keeps its FERRY_HOME and serves its gateway. */
export const ferryHomeOf = (opts: SystemOptions) => join(opts.workDir, 'home');
export const ferryGatewayOf = (opts: SystemOptions) => `127.0.0.1:${opts.portBase + 2}`;

export function ferrySystem(mode: Mode): SystemUnderTest {
  const name: SystemName = `ferry-${mode}`;
  return {
    name,
    async up(chains, opts: SystemOptions): Promise<RunningSystem> {
      const home = ferryHomeOf(opts);
      const chainDir = join(opts.workDir, 'chains');
      mkdirSync(chainDir, { recursive: true });
      const pinDir = `/sys/fs/bpf/ferry-suite-${mode}-${process.pid}-${opts.portBase}`;
      const port = (k: number) => `127.0.0.1:${opts.portBase + k}`;
      const gateway = ferryGatewayOf(opts);
      opts.log(`${name}: ferry up (home ${home}, ports ${opts.portBase}-${opts.portBase + 4}, pins ${pinDir})`);
      let stateOut: string;
      try {
        stateOut = await cli(home, [
          'up', '-o', 'json', '--mode', mode, '--pin-dir', pinDir, '--autoscale', 'manual',
          '--admin', port(0), '--ferryd', port(1), '--gateway', gateway, '--metrics', port(3), '--ferryd-metrics', port(4),
        ]);
      } catch (err) {
        // ferry up stops its supervisor when it fails; what it made is ours to remove.
        rmSync(pinDir, { recursive: true, force: true });
        rmSync(home, { recursive: true, force: true });
        throw err;
      }
      const supervisor = (JSON.parse(stateOut) as { pid: number }).pid;
      const running: RunningSystem = {
        name,
        url: (chain) => `http://${gateway}/chains/${chain}`,
        pids: () => processTree([supervisor]),
        down: async () => {
          try {
            await cli(home, ['down']);
          } catch (err) {
            opts.log(`${name}: ${(err as Error).message}; killing its processes`);
            for (const pid of processTree([supervisor])) {
              try {
                process.kill(pid, 'SIGKILL');
              } catch {
                /* already gone */
              }
            }
          }
          rmSync(pinDir, { recursive: true, force: true });
          rmSync(home, { recursive: true, force: true });
        },
      };
      try {
        // In parallel: each apply waits for its chain's instances to start,
        // and the control plane places one chain at a time anyway.
        await Promise.all(
          chains.map(async (chain) => {
            await cli(home, ['apply', '-f', writePinnedChain(chain, chainDir).file]);
            opts.log(`${name}: applied ${chain.name}`);
          }),
        );
        for (const chain of chains) await awaitServing(running.url(chain.name), firstSample(chain), `${name} chain ${chain.name}`);
      } catch (err) {
        await running.down();
        throw err;
      }
      return running;
    },
  };
}

export const ferryEbpfSystem = ferrySystem('ebpf');
export const ferryFallbackSystem = ferrySystem('fallback');
