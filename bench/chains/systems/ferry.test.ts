/**
 * ferry as a system under test, from outside: brought up on its own ports
 * and pin dir with a pinned chain, it serves; pids() follows an instance
 * that is killed and restarted; down() leaves no process, pin or state.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../../control/paths.js';
import { allDead } from '../../../test/helpers/process.js';
import { parentMap } from '../../lib/proc-tree.js';
import { ferryFallbackSystem } from './ferry.js';

// Made when a test runs (a filtered run that skips them all leaves nothing).
let work = '';
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'chain-suite-ferry-test-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

const motion = { name: 'motion', file: join(repoRoot, 'chains/motion/chain.yaml') };
const walk = readFileSync(join(repoRoot, 'chains/motion/requests/walk.json'), 'utf8');
const post = (url: string) => fetch(url, { method: 'POST', body: walk, headers: { 'content-type': 'application/json' } });
const isRunner = (pid: number) => {
  try {
    return /ferry-runner|node-runner/.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8'));
  } catch {
    return false;
  }
};

describe('ferry system', () => {
  it('serves a pinned chain, follows a restarted instance in pids(), and leaves nothing behind', async () => {
    const logs: string[] = [];
    const sys = await ferryFallbackSystem.up([motion], { portBase: 49800, workDir: work, log: (m) => logs.push(m) });
    const pinDir = readdirSync('/sys/fs/bpf').find((d) => d.startsWith(`ferry-suite-fallback-${process.pid}-49800`));
    let pids: number[] = [];
    try {
      expect(sys.url('motion')).toBe('http://127.0.0.1:49802/chains/motion');
      expect((await post(sys.url('motion'))).status).toBe(200);
      pids = sys.pids();
      // supervisor, daemon, and motion's two stages pinned at one instance each (plus helpers such as esbuild).
      expect(pids.length).toBeGreaterThanOrEqual(4);
      const parents = parentMap();
      const [supervisor] = pids;
      const daemon = pids.find((p) => parents.get(p) === supervisor)!;
      const instance = pids.find((p) => parents.get(p) === daemon && isRunner(p))!;
      expect(instance).toBeDefined();
      process.kill(instance, 'SIGKILL');
      await allDead([instance]);
      expect(sys.pids()).not.toContain(instance);
      // ferryd restarts it: a new pid under the daemon, and the chain serves again.
      let served = false;
      for (let i = 0; i < 120 && !served; i++) {
        await new Promise((r) => setTimeout(r, 250));
        served = sys.pids().some((p) => !pids.includes(p) && isRunner(p)) && (await post(sys.url('motion')).catch(() => undefined))?.status === 200;
      }
      expect(served).toBe(true);
    } finally {
      await sys.down();
    }
    expect(await allDead(pids, 10_000)).toBe(true);
    expect(pinDir === undefined || !existsSync(join('/sys/fs/bpf', pinDir))).toBe(true);
    expect(existsSync(join(work, 'home'))).toBe(false);
    await expect(post(sys.url('motion'))).rejects.toThrow();
  }, 120_000);

  it('fails up() with the CLI\'s own words for a chain that cannot be placed, and cleans up', async () => {
    const bad = join(work, 'bad.yaml');
    writeFileSync(bad, 'apiVersion: ferry.dev/v1\nkind: Chain\nmetadata: { name: bad }\nspec:\n  entry: a\n  functions:\n    - { name: a, runtime: node, handler: /nonexistent/a.ts, resources: { cpu: 100m, memoryMb: 64 }, next: [] }\n');
    const dir = join(work, 'bad');
    await expect(ferryFallbackSystem.up([{ name: 'bad', file: bad }], { portBase: 49850, workDir: dir, log: () => undefined })).rejects.toThrow(/ferry apply -f .*bad\.chain\.yaml failed: .+/);
    expect(readdirSync('/sys/fs/bpf').filter((d) => d.startsWith(`ferry-suite-fallback-${process.pid}-49850`))).toEqual([]);
    expect(existsSync(join(dir, 'home'))).toBe(false);
  }, 120_000);
});
