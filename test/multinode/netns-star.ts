/**
 * N ferry nodes on one machine, all reaching each other: network namespaces
 * on one bridge (netns-star.sh), a real ferryd in each (its own bpffs pin
 * dir, gRPC on :7070, peer listener on :7071, HTTP gateway on :8080 where
 * asked), reachable from the host at its address. bench:lb runs a gateway
 * node and three workers on it.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { RouterClass } from '../../control/dataplane/native.js';
import { repoRoot } from '../../control/paths.js';
import { releaseSubnet, startFerrydIn, stopFerrydIn, type FerrydInNamespace, type NamespacedNode } from './netns-nodes.js';

const STAR = join(repoRoot, 'test/multinode/netns-star.sh');

export interface StarNode extends NamespacedNode {
  /** Its address, from the host and from the other nodes. */
  ip: string;
}

export class NetnsStar {
  readonly nodes: StarNode[];

  /** tag names the namespaces and links (at most 8 characters); x is the
   * third octet of the subnet, claimed with claimSubnet. */
  constructor(
    private readonly tag: string,
    readonly x: number,
    names: string[],
  ) {
    if (tag.length > 8) throw new Error(`netns tag "${tag}" is longer than 8 characters (link names hold 15)`);
    this.nodes = names.map((name, i) => ({
      name,
      ns: `ferry-${i + 1}-${tag}`,
      ip: `10.213.${x}.${11 + i}`,
      pinDir: `/sys/fs/bpf/ferry-test-${process.pid}-${tag}-${name}`,
      logs: [],
    }));
  }

  /** The host's address on the bridge. */
  get hostIp(): string {
    return `10.213.${this.x}.1`;
  }

  node(name: string): StarNode {
    const n = this.nodes.find((x) => x.name === name);
    if (!n) throw new Error(`no node ${name}`);
    return n;
  }

  up(): void {
    this.script('up', this.tag, String(this.x), String(this.nodes.length));
  }

  start(n: StarNode, o: Omit<FerrydInNamespace, 'peer'>): void {
    startFerrydIn(n, { ...o, peer: `${n.ip}:7071` });
  }

  /** Stop every ferryd, delete namespaces, veths and the bridge, unpin the
   * maps, release the subnet. */
  async down(): Promise<void> {
    for (const n of this.nodes) await stopFerrydIn(n);
    try {
      this.script('down', this.tag, String(this.nodes.length));
      releaseSubnet(this.x);
    } finally {
      for (const n of this.nodes) {
        try {
          RouterClass.unpin(n.pinDir);
        } catch {
          // never pinned
        }
      }
    }
  }

  logs(lines = 20): string {
    return this.nodes.flatMap((n) => n.logs.slice(-lines).map((l) => `${n.name}: ${l}`)).join('\n');
  }

  private script(...args: string[]): void {
    const r = spawnSync('bash', [STAR, ...args], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`netns-star.sh ${args.join(' ')} failed: ${r.stderr}`);
  }
}
