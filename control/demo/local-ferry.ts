/**
 * A throwaway single-node ferry for a demo: `ferry up` with its own
 * FERRY_HOME, its own ports (free ones of a range) and its own BPF pin
 * directory, so it runs next to any other ferry on the machine; `ferry
 * apply`; and `ferry down` plus clean-up at the end. Driven through the
 * real CLI (bin/ferry.js), as a user would.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts, Ports } from '../../bench/chains/systems/ports.js';
import { repoRoot } from '../paths.js';

const BIN = join(repoRoot, 'bin/ferry.js');

export interface LocalFerryOptions {
  /** Ports are taken from [portBase, portBase + 200). */
  portBase: number;
  /** Extra `ferry up` flags, each given a port of the range (e.g. --fl-grpc). */
  extraAddresses?: string[];
  /** Keep FERRY_HOME and leave ferry running at stop(). */
  keep?: boolean;
  log: (line: string) => void;
}

export interface LocalFerry {
  home: string;
  gateway: string;
  admin: string;
  /** The address given to each of extraAddresses. */
  extra: Record<string, string>;
  cli(...args: string[]): Promise<string>;
  stop(): Promise<void>;
}

export async function startLocalFerry(o: LocalFerryOptions): Promise<LocalFerry> {
  const home = mkdtempSync(join(tmpdir(), 'ferry-demo-'));
  const pinDir = `/sys/fs/bpf/ferry-demo-${process.pid}`;
  const ports = new Ports(o.portBase, await freePorts(o.portBase));
  const at = () => `127.0.0.1:${ports.take()}`;
  const admin = at();
  const gateway = at();
  const extra = Object.fromEntries((o.extraAddresses ?? []).map((flag) => [flag, at()]));
  const cli = (...args: string[]) =>
    new Promise<string>((resolve, reject) => {
      // FERRY_ADMIN / FERRY_GATEWAY would point the CLI at another ferry
      const { FERRY_ADMIN: _a, FERRY_GATEWAY: _g, ...env } = process.env;
      execFile(process.execPath, [BIN, ...args], { env: { ...env, FERRY_HOME: home }, timeout: 120_000 }, (err, stdout, stderr) => {
        if (err) reject(new Error(`ferry ${args.join(' ')} failed (exit ${(err as { code?: number }).code ?? '?'}):\n${(stderr || stdout).trim()}`));
        else resolve(stdout);
      });
    });
  const stop = async () => {
    if (o.keep) {
      o.log(`ferry keeps running: FERRY_HOME=${home} npx ferry down  (to stop it)`);
      return;
    }
    o.log('ferry down');
    const t0 = performance.now();
    await cli('down').catch((err: Error) => o.log(`ferry down: ${err.message}`));
    o.log(`ferry is down (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
    rmSync(home, { recursive: true, force: true });
    rmSync(pinDir, { recursive: true, force: true });
  };
  const flags = ['--admin', admin, '--ferryd', at(), '--gateway', gateway, '--metrics', '', '--ferryd-metrics', '', '--pin-dir', pinDir];
  for (const [flag, addr] of Object.entries(extra)) flags.push(flag, addr);
  o.log(`starting a local ferry (FERRY_HOME=${home}, gateway ${gateway})`);
  try {
    await cli('up', ...flags);
  } catch (err) {
    await stop();
    throw err;
  }
  return { home, gateway, admin, extra, cli, stop };
}
