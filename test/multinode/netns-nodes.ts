/**
 * Two ferry nodes on one machine for tests: network namespaces a and b
 * joined by veth (netns.sh), a real ferryd in each (its own bpffs pin dir,
 * gRPC on :7070, peer listener on the a <-> b link at :7071, HTTP gateway on
 * :8080 where asked), reachable from the host at hostIp. Each ferryd
 * serves with the node credential in the directory it is given (--tls-dir).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { RouterClass } from '../../control/dataplane/native.js';
import { paths, repoRoot } from '../../control/paths.js';

const NETNS = join(repoRoot, 'test/multinode/netns.sh');
const FERRYD = join(repoRoot, 'control/ferryd/main.ts');

export interface NetnsNode {
  name: 'a' | 'b';
  ns: string;
  pinDir: string;
  /** Where the host reaches it. */
  hostIp: string;
  /** Its address on the a <-> b link. */
  linkIp: string;
  child?: ChildProcess;
  exited?: Promise<void>;
  /** Its ferryd's stderr (structured logs), for failure messages. */
  logs: string[];
}

const ipNetns = spawnSync('ip', ['netns', 'list']);
/** Why namespaces cannot be used here, or undefined when they can. */
export const netnsUnavailable: string | undefined =
  process.getuid?.() !== 0 ? 'not root' : ipNetns.status !== 0 ? (ipNetns.error?.message ?? ipNetns.stderr?.toString().trim()) : undefined;

/** What startFerrydIn needs of a node: where it runs and where it keeps its output. */
export interface NamespacedNode {
  name: string;
  ns: string;
  pinDir: string;
  child?: ChildProcess;
  exited?: Promise<void>;
  logs: string[];
}

export interface FerrydInNamespace {
  /** Its node credential directory. */
  tlsDir: string;
  /** Serve HTTP on :8080. */
  gateway: boolean;
  /** host:port of its peer listener. */
  peer: string;
  /** Further ferryd flags. */
  args?: string[];
  /** cgroup.procs files to put ferryd (and so everything it starts) in
   * before it runs, e.g. a cgroup with a CPU quota. */
  cgroupProcs?: string[];
}

/** Start a ferryd inside n's network namespace (gRPC on :7070). */
export function startFerrydIn(n: NamespacedNode, o: FerrydInNamespace): void {
  const ferryd = [
    'nsenter',
    `--net=/run/netns/${n.ns}`,
    process.execPath,
    '--import',
    pathToFileURL(paths.tsxLoader).href,
    FERRYD,
    '--name', n.name,
    '--tls-dir', o.tlsDir,
    '--grpc', '0.0.0.0:7070',
    '--peer', o.peer,
    '--pin-dir', n.pinDir,
    ...(o.gateway ? ['--gateway', '0.0.0.0:8080'] : []),
    ...(o.args ?? []),
  ];
  // The shell joins the cgroups, then becomes ferryd: nothing of it runs outside them.
  const join = (o.cgroupProcs ?? []).map((f, i) => `echo $$ > "$${i + 1}"`).join(' && ');
  const [cmd, ...args] = join ? ['sh', '-c', `${join} && shift ${o.cgroupProcs!.length} && exec "$@"`, 'sh', ...o.cgroupProcs!, ...ferryd] : ferryd;
  const child = spawn(cmd!, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr!.on('data', (d: Buffer) => n.logs.push(...d.toString().split('\n').filter(Boolean)));
  n.child = child;
  n.exited = new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Stop n's ferryd (SIGKILL after 5 s). */
export async function stopFerrydIn(n: NamespacedNode, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!n.child || n.child.exitCode !== null || n.child.signalCode !== null) return;
  n.child.kill(signal);
  const timer = setTimeout(() => n.child?.kill('SIGKILL'), 5000);
  await n.exited;
  clearTimeout(timer);
}

/** Where test runs claim the third octet of their subnets (one directory
 * per octet, holding the owner's pid), so two runs never share one. */
const CLAIMS = '/run/ferry-test-subnets';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Third octets some interface of this namespace already uses in 10.213-215/16. */
function subnetsInUse(): Set<number> {
  const r = spawnSync('ip', ['-o', '-4', 'addr', 'show'], { encoding: 'utf8' });
  return new Set([...(r.stdout ?? '').matchAll(/inet 10\.21[345]\.(\d+)\./g)].map((m) => Number(m[1])));
}

/**
 * A third octet in [from, to) that no other test run (this one's other
 * files, another engineer's `npm test`) holds: claimed by an atomic mkdir,
 * taken over only from a dead owner, and skipped while any interface uses
 * it. Released by NetnsPair.down().
 */
export function claimSubnet(from: number, to: number): number {
  mkdirSync(CLAIMS, { recursive: true });
  const used = subnetsInUse();
  const span = to - from;
  for (let k = 0; k < span; k++) {
    const x = from + ((process.pid + k) % span);
    if (used.has(x)) continue;
    const dir = `${CLAIMS}/${x}`;
    try {
      mkdirSync(dir);
    } catch {
      let owner = 0;
      try {
        owner = Number(readFileSync(`${dir}/pid`, 'utf8'));
      } catch {
        continue; // being claimed right now
      }
      if (!owner || alive(owner)) continue;
      rmSync(dir, { recursive: true, force: true });
      try {
        mkdirSync(dir);
      } catch {
        continue; // someone else took it over first
      }
    }
    writeFileSync(`${dir}/pid`, String(process.pid));
    return x;
  }
  throw new Error(`no free test subnet 10.213-215.X.0/24 with X in ${from}..${to - 1}: other test runs hold them all (${CLAIMS})`);
}

/** Give back a third octet claimSubnet handed out. */
export function releaseSubnet(x: number): void {
  rmSync(`${CLAIMS}/${x}`, { recursive: true, force: true });
}

/**
 * tag names the namespaces and links (keep it short: link names hold 15
 * characters); x (0..255) is the third octet of their subnets, claimed
 * with claimSubnet so runs side by side never share one; prefix starts the
 * namespace names (`<prefix>-a-<tag>`).
 */
export class NetnsPair {
  readonly a: NetnsNode;
  readonly b: NetnsNode;

  constructor(
    private readonly tag: string,
    readonly x: number,
    private readonly prefix = 'ferry',
  ) {
    this.a = this.node('a');
    this.b = this.node('b');
  }

  up(): void {
    this.netns('up', this.tag, String(this.x));
  }

  /** Start n's ferryd; gateway: serve HTTP on :8080; tlsDir: its node
   * credential; args: further ferryd flags. */
  start(n: NetnsNode, opts: { gateway: boolean; tlsDir: string; args?: string[] }): void {
    startFerrydIn(n, { ...opts, peer: `${n.linkIp}:7071` });
  }

  stop(n: NetnsNode, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    return stopFerrydIn(n, signal);
  }

  /** Stop both ferryd, delete namespaces and links, unpin the maps,
   * release the subnet. */
  async down(): Promise<void> {
    for (const n of [this.a, this.b]) await this.stop(n);
    try {
      this.netns('down', this.tag);
      releaseSubnet(this.x);
    } finally {
      for (const n of [this.a, this.b]) {
        try {
          RouterClass.unpin(n.pinDir);
        } catch {
          // never pinned (ferryd did not start)
        }
      }
    }
  }

  logs(lines = 20): string {
    return [...this.a.logs, ...this.b.logs].slice(-lines).join('\n');
  }

  private node(name: 'a' | 'b'): NetnsNode {
    const x = this.x;
    return {
      name,
      ns: `${this.prefix}-${name}-${this.tag}`,
      pinDir: `/sys/fs/bpf/${this.prefix}-test-${process.pid}-${this.tag}-${name}`,
      hostIp: name === 'a' ? `10.214.${x}.2` : `10.215.${x}.2`,
      linkIp: name === 'a' ? `10.213.${x}.1` : `10.213.${x}.2`,
      logs: [],
    };
  }

  private netns(...args: string[]): void {
    const r = spawnSync('bash', [NETNS, ...args], { encoding: 'utf8', env: { ...process.env, NETNS_PREFIX: this.prefix } });
    if (r.status !== 0) throw new Error(`netns.sh ${args.join(' ')} failed: ${r.stderr}`);
  }
}
