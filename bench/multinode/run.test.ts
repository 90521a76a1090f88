/**
 * bench:multinode --quick as a smoke test: two real ferryd in fpl-*
 * namespaces, both chains, the raw TCP echo, a result file. It checks the
 * pipeline (every size measured without errors, the plain link copying
 * nothing), not the target: this machine is shared and noisy.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { netnsUnavailable } from '../../test/multinode/netns-nodes.js';
import { runMultinodeSuite, type MultinodeResult } from './run.js';

if (netnsUnavailable) console.warn(`bench:multinode smoke test skipped: \`ip netns\` is unavailable (${netnsUnavailable})`);

describe.skipIf(!!netnsUnavailable)('bench:multinode --quick', () => {
  it('measures same-node, split and raw TCP at every size and writes the result', async () => {
    const out = join(tmpdir(), `fpl-multinode-${process.pid}.json`);
    const lines: string[] = [];
    try {
      const r = await runMultinodeSuite({ quick: true, json: true, out, log: (m) => lines.push(m), transports: ['tcp'], samples: 5 });
      expect(r.modes).toHaveLength(1);
      const m = r.modes[0]!;
      expect(m).toMatchObject({ mode: 'ebpf', transport: 'tcp', copiedBytes: { a: 0, b: 0 } });
      expect(m.sizes.map((s) => s.bytes)).toEqual([64, 4096, 65536, 1 << 20]);
      for (const s of m.sizes) {
        expect(s.errors).toBe(0);
        for (const p of [s.same, s.cross, s.rawTcpRtt]) expect(p.p50Us).toBeGreaterThan(0);
        expect(Number.isFinite(s.peerLoopCpuUs)).toBe(true);
        expect(s.ratioP50).toBe(Math.round(((s.cross.p50Us - s.same.p50Us) / s.rawTcpRtt.p50Us) * 100) / 100);
      }
      expect(typeof m.target.met).toBe('boolean');
      expect(existsSync(out)).toBe(true);
      expect((JSON.parse(readFileSync(out, 'utf8')) as MultinodeResult).modes[0]?.sizes).toHaveLength(4);
      expect(lines.some((l) => l.includes('(cross-same)/rtt'))).toBe(true);
    } finally {
      rmSync(out, { force: true });
    }
  }, 240_000);
});
