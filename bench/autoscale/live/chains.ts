/**
 * The two chains of a live run: the same work (the request body says how
 * much) in a `work` stage at scale.min 0, a Node one and a native one, so
 * the runs differ in the runtime's cold start and overheads only.
 *
 * Each chain enters through `front`, a native echo (bench/hop) kept at one
 * instance, because a chain whose every stage is at zero is not served at
 * all on a node without a peer listener (this in-process cluster, and a
 * single-node `ferry up` without --peer): gatewayNodes()
 * (control/controlplane/chains/gateways.ts) places gateways on the nodes
 * that run instances, plus peer-linked ones, so with no instance there is
 * no gateway and the request is a 404 unknownChain instead of being held.
 * Found by this bench (README.md); the work stage alone at zero is what
 * scale-from-zero.test.ts covers and what is measured here.
 * Written to a directory sandboxed instances can read (not /tmp, which
 * they see as their tenant's own); handlers are the repo's files.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../../control/paths.js';
import type { LiveOptions } from '../options.js';

export type Runtime = 'node' | 'native';
export const RUNTIMES: readonly Runtime[] = ['node', 'native'];

const ECHO = join(repoRoot, 'bench/hop/functions/echo.so');

const HANDLER: Record<Runtime, string> = {
  // Synchronous: one request at a time per instance (see the file).
  node: join(repoRoot, 'bench/autoscale/live/functions/work.ts'),
  // bench:lb's work function; the native runner calls it one request at a time.
  native: join(repoRoot, 'bench/lb/functions/work.so'),
};

/** Each work instance's CPU quota: room for its share of the step's CPU,
 * and scale.max of them (and front) still fit a 2-CPU node (placement
 * counts declared CPU). */
const CPU = '400m';

export const chainName = (runtime: Runtime) => `live-${runtime}`;

export function chainYaml(runtime: Runtime, policy: string, o: LiveOptions): string {
  return `apiVersion: ferry.dev/v1
kind: Chain
metadata: { name: ${chainName(runtime)} }
spec:
  entry: front
  slo: { p99Ms: ${o.sloMs} }
  scale: { policy: ${policy} }
  limits: { maxBodyBytes: 4096, timeoutMs: 10000 }
  functions:
    - name: front
      runtime: native
      handler: ${ECHO}
      resources: { cpu: 100m, memoryMb: 16 }
      scale: { min: 1, max: 1 }
      next: [work]
    - name: work
      runtime: ${runtime}
      handler: ${HANDLER[runtime]}
      resources: { cpu: ${CPU}, memoryMb: 128 }
      scale: { min: 0, max: ${o.maxInstances} }
      next: []
`;
}

/** Writes the chain for one run; returns what ApplyChain takes. */
export function writeChain(dir: string, runtime: Runtime, policy: string, o: LiveOptions): { yaml: string; file: string } {
  const file = join(dir, `${chainName(runtime)}-${policy}.yaml`);
  const yaml = chainYaml(runtime, policy, o);
  writeFileSync(file, yaml);
  return { yaml, file };
}

/** The body of a load request: the work both handlers read. */
export const workBody = (o: Pick<LiveOptions, 'cpuUs' | 'waitUs'>) => JSON.stringify({ cpuUs: o.cpuUs, waitUs: o.waitUs });
/** A cold start's request does no work: what it times is the start. */
export const NO_WORK = JSON.stringify({ cpuUs: 0, waitUs: 0 });
