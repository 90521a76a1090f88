/**
 * The cgroup implementations. v1 is this machine's: tested on the real
 * cgroupfs, with real processes in the cgroups. v2's limits cannot be tried
 * here (cpu, memory and pids are bound to v1 hierarchies; the unified tree
 * has only hugetlb), so its file-writing logic runs against a FAKE v2 TREE
 * (a temporary directory laid out like one), and its killing and removal
 * against the real, controller-less unified tree.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../log.js';
import { MiB } from './cgroups.js';
import { selectCgroups } from './cgroups/select.js';
import { emptyAndRemove, ferrydDirName, parseMountinfo, parseProcCgroup } from './cgroups/tree.js';
import { V1Cgroups, V1_CONTROLLERS, type V1Controller } from './cgroups/v1.js';
import { killAll, V2Cgroups } from './cgroups/v2.js';

const log = createLogger({ test: true }, 'error');
const isRoot = process.getuid?.() === 0;
const mounts = parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8'));
const own = parseProcCgroup(readFileSync('/proc/self/cgroup', 'utf8'));
const v1Mount = (c: string) => mounts.find((m) => m.fstype === 'cgroup' && m.superOptions.includes(c));
const hasV1 = isRoot && V1_CONTROLLERS.every((c) => v1Mount(c));
const unified = mounts.find((m) => m.fstype === 'cgroup2');

/** A test's own tree root per controller, beside (not in) ferryd's "ferry". */
const testRoot = (c: V1Controller) => join(v1Mount(c)!.mountpoint, own.v1.get(c) ?? '/', `ferry-test-${process.pid}`);
const sleeper = (): ChildProcess => spawn('sleep', ['60'], { stdio: 'ignore' });
const alive = (pid: number) => existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
const join1 = (procs: string, pid: number) => writeFileSync(procs, String(pid));

describe.runIf(hasV1)('cgroup v1 (real cgroupfs)', () => {
  const roots = () => ({ cpu: testRoot('cpu'), memory: testRoot('memory'), pids: testRoot('pids') });
  const children: ChildProcess[] = [];
  afterEach(() => children.splice(0).forEach((c) => c.kill('SIGKILL')));
  afterAll(async () => {
    await emptyAndRemove(V1_CONTROLLERS.map(testRoot));
  });

  it('writes the declared limits: 500m is 50 ms per 100 ms, memory and swap to the byte, pids.max', async () => {
    const cg = V1Cgroups.open({ ferryRoots: roots(), dirName: 'limits@1-1', log });
    const inst = cg.create('7.1', { cpuMilli: 500, memoryMb: 96, pids: 20 });
    const dir = (c: V1Controller) => join(roots()[c], 'limits@1-1', '7.1');
    expect(readFileSync(join(dir('cpu'), 'cpu.cfs_quota_us'), 'utf8').trim()).toBe('50000');
    expect(readFileSync(join(dir('cpu'), 'cpu.cfs_period_us'), 'utf8').trim()).toBe('100000');
    expect(readFileSync(join(dir('cpu'), 'cpu.shares'), 'utf8').trim()).toBe('512');
    expect(readFileSync(join(dir('memory'), 'memory.limit_in_bytes'), 'utf8').trim()).toBe(String(96 * MiB));
    if (existsSync(join(dir('memory'), 'memory.memsw.limit_in_bytes')))
      expect(readFileSync(join(dir('memory'), 'memory.memsw.limit_in_bytes'), 'utf8').trim()).toBe(String(96 * MiB));
    expect(readFileSync(join(dir('pids'), 'pids.max'), 'utf8').trim()).toBe('20');
    expect(inst.procsFiles).toEqual(V1_CONTROLLERS.map((c) => join(dir(c), 'cgroup.procs')));
    expect(inst.oomKilled()).toBe(false);
    await inst.remove();
    await cg.close();
    for (const c of V1_CONTROLLERS) expect(existsSync(join(roots()[c], 'limits@1-1'))).toBe(false);
  });

  it('leaves cpu and memory unlimited when none are declared: no cpu cgroup at all, so scheduling is as without a sandbox', async () => {
    const cg = V1Cgroups.open({ ferryRoots: roots(), dirName: 'open@1-1', log });
    const inst = cg.create('1.1', { cpuMilli: 0, memoryMb: 0, pids: 64 });
    expect(existsSync(join(roots().cpu, 'open@1-1/1.1'))).toBe(false);
    expect(inst.procsFiles).toEqual([join(roots().memory, 'open@1-1/1.1/cgroup.procs'), join(roots().pids, 'open@1-1/1.1/cgroup.procs')]);
    expect(Number(readFileSync(join(roots().memory, 'open@1-1/1.1/memory.limit_in_bytes'), 'utf8'))).toBeGreaterThan(2 ** 60);
    // The tree weighs as all CPUs against the host's other tasks, not as one.
    expect(readFileSync(join(roots().cpu, 'open@1-1/cpu.shares'), 'utf8').trim()).toBe(String(1024 * availableParallelism()));
    await inst.remove();
    await cg.close();
  });

  it('defers the CPU quota of a starting instance until told (its start-up runs unthrottled)', async () => {
    const cg = V1Cgroups.open({ ferryRoots: roots(), dirName: 'boost@1-1', log });
    const inst = cg.create('5.1', { cpuMilli: 50, memoryMb: 0, pids: 8, deferCpuQuota: true });
    const quota = () => readFileSync(join(roots().cpu, 'boost@1-1/5.1/cpu.cfs_quota_us'), 'utf8').trim();
    expect(quota()).toBe('-1');
    inst.applyCpuQuota();
    expect(quota()).toBe('5000');
    await inst.remove();
    await cg.close();
  });

  it("kills what an instance left running in its cgroup (forked children) when it is removed", async () => {
    const cg = V1Cgroups.open({ ferryRoots: roots(), dirName: 'kill@1-1', log });
    const inst = cg.create('2.1', { cpuMilli: 0, memoryMb: 0, pids: 8 });
    const kids = [sleeper(), sleeper()];
    children.push(...kids);
    for (const k of kids) for (const f of inst.procsFiles) join1(f, k.pid!);
    await inst.remove();
    for (const k of kids) expect(alive(k.pid!)).toBe(false);
    expect(existsSync(join(roots().pids, 'kill@1-1/2.1'))).toBe(false);
    await cg.close();
  });

  it("cleans the tree of a ferryd that is gone, killing its instances, and keeps a live one's", async () => {
    const dead = V1Cgroups.open({ ferryRoots: roots(), dirName: 'gone@4194304-1', log }); // pid past pid_max: never alive
    const orphan = sleeper();
    children.push(orphan);
    for (const f of dead.create('3.1', { cpuMilli: 0, memoryMb: 0, pids: 8 }).procsFiles) join1(f, orphan.pid!);
    const liveName = ferrydDirName('live'); // this process: alive
    const live = V1Cgroups.open({ ferryRoots: roots(), dirName: liveName, log });
    const next = V1Cgroups.open({ ferryRoots: roots(), dirName: 'next@1-2', log });
    await next.close(); // waits for its clean-up of stale trees
    expect(alive(orphan.pid!)).toBe(false);
    for (const c of V1_CONTROLLERS) {
      expect(existsSync(join(roots()[c], 'gone@4194304-1'))).toBe(false);
      expect(existsSync(join(roots()[c], liveName))).toBe(true);
    }
    await live.close();
  });

  it('counts an OOM kill in memory.oom_control', async () => {
    const cg = V1Cgroups.open({ ferryRoots: roots(), dirName: 'oom@1-1', log });
    const inst = cg.create('4.1', { cpuMilli: 0, memoryMb: 16, pids: 8 });
    // Allocate and touch 64 MiB in a 16 MiB cgroup, from inside it.
    const hog = spawn('sh', ['-c', `echo $$ > ${inst.procsFiles.find((f) => f.includes('/memory/'))!}; exec ${process.execPath} -e "const a=[]; for(;;) a.push(Buffer.alloc(1<<20, 1))"`], { stdio: 'ignore' });
    children.push(hog);
    const signal = await new Promise<NodeJS.Signals | null>((r) => hog.on('exit', (_c, s) => r(s)));
    expect(signal).toBe('SIGKILL');
    expect(inst.oomKilled()).toBe(true);
    await inst.remove();
    await cg.close();
  });
});

describe.runIf(isRoot)('cgroup selection on this machine', () => {
  it('uses v1 where cpu, memory and pids are v1 hierarchies and the unified tree lacks them', async () => {
    const cg = selectCgroups({ node: `select-test-${process.pid}`, log });
    try {
      expect(cg.kind).toBe(hasV1 ? 'cgroup-v1' : cg.kind);
    } finally {
      await cg.close();
    }
  });

  it('says why there are none when no tree offers the controllers', () => {
    const cg = selectCgroups({
      node: 'x',
      log,
      mountinfo: '30 25 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw\n',
      procCgroup: '0::/nonexistent-ferry-test\n',
    });
    expect(cg.kind).toBe('none');
    expect(cg.reason).toContain('offers no controllers, not cpu, memory, pids');
    expect(cg.reason).toContain('no cgroup v1 cpu, memory, pids controller mounted');
  });
});

describe('cgroup v2 on a FAKE V2 TREE (a temporary directory laid out like one)', () => {
  const root = mkdtempSync(join(tmpdir(), 'ferry-fake-cgroup2-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  /** What the kernel does on rmdir of an empty cgroup: its interface files go with it. */
  const killed: string[] = [];
  const fakeRmdir = (dir: string) => {
    if (existsSync(join(dir, 'cgroup.kill'))) killed.push(`${dir}:${readFileSync(join(dir, 'cgroup.kill'), 'utf8')}`);
    rmSync(dir, { recursive: true });
  };

  it('delegates cpu, memory and pids down to its tree and writes cpu.max, weight, memory.max, oom.group and pids.max', async () => {
    writeFileSync(join(root, 'cgroup.controllers'), 'cpuset cpu io memory hugetlb pids rdma misc\n');
    writeFileSync(join(root, 'cgroup.subtree_control'), '');
    const cg = V2Cgroups.open({ ownDir: root, dirName: 'n@1-1', log, rmdir: fakeRmdir });
    for (const d of [root, join(root, 'ferry'), join(root, 'ferry/n@1-1')])
      expect(readFileSync(join(d, 'cgroup.subtree_control'), 'utf8')).toBe('+cpu +memory +pids');
    const inst = cg.create('9.1', { cpuMilli: 250, memoryMb: 128, pids: 64 });
    const dir = join(root, 'ferry/n@1-1/9.1');
    const read = (f: string) => readFileSync(join(dir, f), 'utf8');
    expect(read('cpu.max')).toBe('25000 100000');
    expect(read('cpu.weight')).toBe('10');
    expect(read('memory.max')).toBe(String(128 * MiB));
    expect(read('memory.oom.group')).toBe('1');
    expect(read('pids.max')).toBe('64');
    expect(inst.procsFiles).toEqual([join(dir, 'cgroup.procs')]);

    expect(inst.oomKilled()).toBe(false);
    writeFileSync(join(dir, 'memory.events'), 'low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\noom_group_kill 1\n');
    expect(inst.oomKilled()).toBe(true);

    writeFileSync(join(dir, 'cgroup.kill'), '');
    await inst.remove();
    expect(killed).toEqual([`${dir}:1`]);
    expect(existsSync(dir)).toBe(false);
    await cg.close();
    expect(existsSync(join(root, 'ferry/n@1-1'))).toBe(false);
  });

  it('refuses a tree that does not offer the controllers', () => {
    const bare = join(root, 'bare');
    mkdirSync(bare);
    writeFileSync(join(bare, 'cgroup.controllers'), 'hugetlb\n');
    expect(() => V2Cgroups.open({ ownDir: bare, dirName: 'n@1-1', log })).toThrow(/offers no cpu, memory, pids controller/);
  });
});

describe.runIf(isRoot && unified !== undefined)('cgroup v2 kill and removal (real unified tree, no controllers)', () => {
  const dir = join(unified?.mountpoint ?? '/nonexistent', own.v2 ?? '/', `ferry-test-${process.pid}`);
  afterAll(async () => {
    await emptyAndRemove([dir]);
  });

  it('kills every process of a cgroup with one cgroup.kill write, then removes it', async () => {
    mkdirSync(dir);
    const kids = [sleeper(), sleeper(), sleeper()];
    for (const k of kids) join1(join(dir, 'cgroup.procs'), k.pid!);
    expect(readFileSync(join(dir, 'cgroup.procs'), 'utf8').trim().split('\n')).toHaveLength(3);
    expect(await emptyAndRemove([dir], { killAll })).toBe(true);
    for (const k of kids) expect(alive(k.pid!)).toBe(false);
    expect(existsSync(dir)).toBe(false);
  });
});
