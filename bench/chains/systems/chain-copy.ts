/**
 * A chain's YAML rewritten for a suite run: handlers made absolute (they
 * resolve relative to chain.yaml, and the copy lives in the run's work
 * dir), every stage pinned at max(1, scale.min) instances under the
 * `manual` autoscale policy (so systems are compared at the same instance
 * counts, none scaling mid-measurement), and optionally renamed (the idle
 * measurement deploys ten chains under ten names).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { parse, stringify } from 'yaml';
import type { ChainUnderTest } from '../system.js';

interface FunctionDoc {
  name: string;
  handler: string;
  resources?: { cpu?: string | number };
  scale?: { min?: number; max?: number };
}

interface ChainDoc {
  metadata: { name: string };
  spec: { scale?: { policy?: unknown }; functions: FunctionDoc[] };
}

/** Instances each stage runs in the suite: max(1, scale.min). */
export const pinnedInstances = (fn: { scale?: { min?: number } }) => Math.max(1, fn.scale?.min ?? 1);

/** `chain`'s YAML with absolute handlers, renamed to `name`, pinned when asked. */
export function chainCopyYaml(chain: ChainUnderTest, o: { name?: string; pin?: boolean } = {}): string {
  const doc = parse(readFileSync(chain.file, 'utf8')) as ChainDoc;
  doc.metadata.name = o.name ?? chain.name;
  if (o.pin) doc.spec.scale = { policy: 'manual' };
  for (const fn of doc.spec.functions) {
    if (o.pin) {
      const n = pinnedInstances(fn);
      fn.scale = { min: n, max: n };
    }
    if (!isAbsolute(fn.handler)) fn.handler = resolve(dirname(chain.file), fn.handler);
  }
  return stringify(doc);
}

/** The pinned copy a ferry system applies instead of the original, in `dir`. */
export function writePinnedChain(chain: ChainUnderTest, dir: string): ChainUnderTest {
  const file = join(dir, `${chain.name}.chain.yaml`);
  writeFileSync(file, chainCopyYaml(chain, { pin: true }));
  return { name: chain.name, file };
}

/** `chain` under another name, as a chain directory of its own in `dir`
 * (dir/<name>/chain.yaml, its requests/ a link to the original's), so
 * every system serves it and samples its requests as it would the original. */
export function writeRenamedChain(chain: ChainUnderTest, dir: string, name: string): ChainUnderTest {
  const chainDir = join(dir, name);
  mkdirSync(chainDir, { recursive: true });
  const file = join(chainDir, 'chain.yaml');
  writeFileSync(file, chainCopyYaml(chain, { name }));
  const requests = join(dirname(chain.file), 'requests');
  if (existsSync(requests) && !existsSync(join(chainDir, 'requests'))) symlinkSync(requests, join(chainDir, 'requests'));
  return { name, file };
}

/** The sample request files of a chain (requests/*.json beside its chain.yaml), sorted. */
export function sampleFiles(chain: ChainUnderTest): string[] {
  const dir = join(dirname(chain.file), 'requests');
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => f.endsWith('.json')).sort().map((f) => join(dir, f));
}

/** CPU a chain declares at its pinned instance counts, in millicores:
 * placement admits chains by declared CPU, so the idle run deploys ten
 * copies of the lightest chain to fit them all on one small node. */
export function declaredMillicpu(file: string): number {
  const doc = parse(readFileSync(file, 'utf8')) as ChainDoc;
  let total = 0;
  for (const fn of doc.spec.functions) {
    const cpu = String(fn.resources?.cpu ?? '0');
    const m = cpu.endsWith('m') ? Number(cpu.slice(0, -1)) : Number(cpu) * 1000;
    total += (Number.isFinite(m) ? m : 0) * pinnedInstances(fn);
  }
  return total;
}
