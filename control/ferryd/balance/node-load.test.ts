/** A node's load against its own limits, read from a cgroup tree (a fake
 * one in a temp dir, laid out as v1 with cpuacct apart from cpu, as on this
 * machine, and as v2). */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cgroupLimits, NodeLoadMeter } from './node-load.js';

const root = mkdtempSync(join(tmpdir(), 'ferry-node-load-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function file(path: string, text: string): void {
  mkdirSync(join(root, path, '..'), { recursive: true });
  writeFileSync(join(root, path), text);
}

const mount = (dir: string, fstype: string, opts: string) => `30 25 0:26 / ${join(root, dir)} rw,nosuid - ${fstype} cgroup ${opts}`;

describe('node load from cgroups', () => {
  it('v1: the quota of an ancestor, the usage of this process\'s cpuacct cgroup, the memory limit', () => {
    file('cpu/a/cpu.cfs_quota_us', '50000\n');
    file('cpu/a/cpu.cfs_period_us', '100000\n');
    file('cpu/a/b/cpu.cfs_quota_us', '-1\n');
    file('cpu/a/b/cpu.cfs_period_us', '100000\n');
    file('cpuacct/a/b/cpuacct.usage', '2500000000\n');
    file('memory/a/b/memory.limit_in_bytes', String(2 ** 63 - 4096));
    file('memory/a/memory.limit_in_bytes', String(512 << 20));
    file('memory/a/memory.usage_in_bytes', String(128 << 20));
    const view = {
      mountinfo: [mount('cpu', 'cgroup', 'rw,cpu'), mount('cpuacct', 'cgroup', 'rw,cpuacct'), mount('memory', 'cgroup', 'rw,memory')].join('\n'),
      procCgroup: '1:cpu:/a/b\n2:cpuacct:/a/b\n4:memory:/a/b\n',
    };
    const l = cgroupLimits(view);
    expect(l.cpu?.cpus).toBe(0.5);
    expect(l.cpu?.usageMs()).toBe(2500);
    expect(l.mem?.limitBytes).toBe(512 << 20);
    expect(l.mem?.usageBytes()).toBe(128 << 20);
    // The node's memory use is its limit's share in use.
    expect(new NodeLoadMeter(view).sample().mem).toBeCloseTo(0.25, 6);
    expect(new NodeLoadMeter(view).cpus).toBe(0.5);
  });

  it('v2: cpu.max and memory.max, and no limits where it says max', () => {
    file('unified/n/cpu.max', '200000 100000\n');
    file('unified/n/cpu.stat', 'usage_usec 7000\nuser_usec 5000\n');
    file('unified/n/memory.max', 'max\n');
    file('unified/n/memory.current', '100\n');
    const view = { mountinfo: mount('unified', 'cgroup2', 'rw'), procCgroup: '0::/n\n' };
    const l = cgroupLimits(view);
    expect(l.cpu?.cpus).toBe(2);
    expect(l.cpu?.usageMs()).toBe(7);
    expect(l.mem).toBeUndefined();
  });

  it('without limits, is the machine', () => {
    expect(cgroupLimits({ mountinfo: '', procCgroup: '' })).toEqual({});
    const s = new NodeLoadMeter({ mountinfo: '', procCgroup: '' }).sample();
    expect(s.cpu).toBeGreaterThanOrEqual(0);
    expect(s.cpu).toBeLessThanOrEqual(1);
    expect(s.mem).toBeGreaterThan(0);
  });
});
