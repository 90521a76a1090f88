/** Shared set-up for data-plane tests: a real NodeDataPlane with its own
 * bpffs pin directory, torn down (and unpinned) afterwards. */
import { chmodSync, mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RouterClass } from '../../control/dataplane/native.js';
import { NodeDataPlane } from '../../control/node/dataplane.js';
import type { DataPlaneMode } from '../../control/node/router/router.js';
import { createLogger } from '../../control/log.js';
import { repoRoot } from '../../control/paths.js';

/** eBPF needs root; fallback runs everywhere. */
export const modes: DataPlaneMode[] = process.getuid?.() === 0 ? ['ebpf', 'fallback'] : ['fallback'];

let seq = 0;
export function testPinDir(): string {
  return `/sys/fs/bpf/ferry-test-${process.pid}-${seq++}`;
}

/** A temporary directory that sandboxed instances see at the same path and
 * may write in (a test and its functions meet there): not under /tmp, which
 * instances see as their tenant's own. The caller removes it. */
export function sharedTempDir(prefix: string): string {
  const dir = mkdtempSync(join('/var/tmp', prefix));
  chmodSync(dir, 0o1777);
  return dir;
}

export function fixture(name: string): string {
  return join(repoRoot, 'test/fixtures/functions', name);
}

export async function openDataPlane(mode: DataPlaneMode): Promise<{ dp: NodeDataPlane; cleanup: () => Promise<void> }> {
  const pinDir = testPinDir();
  const lines: string[] = [];
  const log = createLogger({ test: true }, 'debug', (l) => lines.push(l));
  const dp = new NodeDataPlane({ mode, pinDir, log });
  return {
    dp,
    cleanup: async () => {
      await dp.close();
      if (mode === 'ebpf') RouterClass.unpin(pinDir);
    },
  };
}

/** utime + stime of a process, in clock ticks. */
export function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
