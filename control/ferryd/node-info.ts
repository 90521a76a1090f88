/** GetNodeInfo: who this node is, as placement needs to know it. */
import { readFileSync } from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../paths.js';
import type { NodeInfo } from './proto.js';

/** Node's process.arch in the names chain specs use (`archs: [amd64, arm64]`). */
const ARCH_NAMES: Partial<Record<NodeJS.Architecture, string>> = { x64: 'amd64', arm64: 'arm64' };

export function nodeArchs(arch: NodeJS.Architecture = process.arch): string[] {
  const name = ARCH_NAMES[arch];
  return name ? [name] : [arch];
}

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

export const FERRYD_VERSION = packageVersion();

export interface NodeInfoInput {
  name: string;
  mode: string;
  detail: string;
  gatewayAddress: string;
  /** '' when this ferryd links to no peers. */
  peerAddress: string;
  /** How instances are confined (Sandbox.status). */
  sandbox: string;
}

export function nodeInfo(i: NodeInfoInput): NodeInfo {
  return {
    name: i.name,
    archs: nodeArchs(),
    cpus: availableParallelism(),
    memoryBytes: totalmem(),
    dataplaneMode: i.mode,
    dataplaneDetail: i.detail,
    gatewayAddress: i.gatewayAddress,
    peerAddress: i.peerAddress,
    version: FERRYD_VERSION,
    sandbox: i.sandbox,
    // Sequence numbers of instance events restart with the process.
    startedAtMs: Date.now(),
  };
}
