/**
 * Changing a running chain without failing a request: new instances are
 * started and awaited ready before any route names them; routes are then
 * rewritten on every node at once (each stage's targets replaced whole, so
 * a stage is never without one); only then are the instances that go
 * drained (out of the routes, in-flight requests finished) and stopped, and
 * nodes the chain no longer uses are left. A step that fails before the
 * routes change stops what it started and leaves the chain as it was.
 */
import type { Logger } from '../../log.js';
import type { NodeRegistry } from '../nodes/registry.js';
import type { Deployer } from './deploy.js';
import { gatewaysFor } from './gateways.js';
import type { IdAllocator } from './ids.js';
import { chainNodes, type ChainRecord, type PlacedInstance } from './record.js';

export interface Step {
  /** Started, awaited ready, then routed. */
  add?: readonly PlacedInstance[];
  /** Instance ids taken out of the routes, then drained and stopped. */
  remove?: readonly number[];
}

export class Rollout {
  constructor(
    private readonly deployer: Deployer,
    private readonly nodes: NodeRegistry,
    private readonly log: Logger,
  ) {}

  /** One step: prepare then commit. Returns the chain as it runs after it. */
  async change(r: ChainRecord, step: Step, ids: IdAllocator): Promise<ChainRecord> {
    await this.prepare(r, step.add ?? []);
    return this.commit(r, step, ids);
  }

  /** Start instances and wait until they are ready, unrouted. On failure
   * they are stopped again and the error is the instance's own. */
  async prepare(r: ChainRecord, add: readonly PlacedInstance[]): Promise<void> {
    if (add.length === 0) return;
    try {
      await this.deployer.start(r, add);
      await this.deployer.untilReady(r, add);
    } catch (err) {
      await this.abandon(r, add);
      throw err;
    }
  }

  /** Stop instances that prepare() started and nothing routes to, and
   * leave the nodes only they brought the chain to. */
  async abandon(r: ChainRecord, started: readonly PlacedInstance[]): Promise<void> {
    try {
      await this.deployer.stop(r, started);
      for (const node of new Set(started.map((i) => i.node))) if (!chainNodes(r).includes(node)) await this.deployer.leave(r, node);
    } catch (err) {
      this.log.warn('could not stop instances of a change that failed', { chain: r.name, instances: started.map((i) => i.id), error: (err as Error).message });
    }
  }

  /** Route prepared instances, take others out, drain and stop them, leave
   * nodes no longer used. */
  async commit(r: ChainRecord, step: Step, ids: IdAllocator): Promise<ChainRecord> {
    const leaving = new Set(step.remove ?? []);
    const instances = [...r.instances.filter((i) => !leaving.has(i.id)), ...(step.add ?? [])];
    const next: ChainRecord = { ...r, instances, gateways: gatewaysFor(this.nodes, instances, r.gateways, ids) };
    try {
      await this.deployer.program(next);
    } catch (err) {
      // Put the routes back as they were; the new instances never took a request.
      await this.deployer.program(r).catch(() => undefined);
      await this.abandon(r, step.add ?? []);
      throw err;
    }
    await this.deployer.stop(r, r.instances.filter((i) => leaving.has(i.id)));
    for (const node of chainNodes(r)) if (!chainNodes(next).includes(node)) await this.deployer.leave(r, node);
    return next;
  }
}
