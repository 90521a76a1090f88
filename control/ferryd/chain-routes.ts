/**
 * The route table and allow-list each chain has on this node, as last
 * programmed, so ProgramChain can replace them (routes of stages no longer
 * listed and edges no longer listed are removed from the router) and a
 * drain can take one instance out of its stage's route.
 */
import type { RouteTarget } from '../dataplane/native.js';
import type { Router } from '../node/router/router.js';
import type { AllowEdge, StageRoute } from './proto.js';

export type RouteWriter = Pick<Router, 'setRoute' | 'deleteRoute' | 'allow'>;

interface Table {
  routes: Map<number, RouteTarget[]>;
  /** "from/to" */
  allow: Set<string>;
}

const edgeKey = (from: number, to: number) => `${from}/${to}`;

function parseEdge(key: string): [number, number] {
  const [from, to] = key.split('/').map(Number);
  return [from ?? 0, to ?? 0];
}

export class ChainRoutes {
  private readonly tables = new Map<number, Table>();

  constructor(private readonly router: RouteWriter) {}

  /** Replace the chain's routes and allow-list. Instances for which `skip`
   * says true (draining ones) are left out of the routes. */
  program(chainId: number, routes: StageRoute[], allow: AllowEdge[], skip: (instanceId: number) => boolean): void {
    const next: Table = {
      routes: new Map(routes.map((r) => [r.stage, r.targets.filter((t) => !skip(t.instance))])),
      allow: new Set(allow.map((e) => edgeKey(e.fromStage, e.toStage))),
    };
    const prev = this.tables.get(chainId) ?? { routes: new Map(), allow: new Set<string>() };
    try {
      this.apply(chainId, prev, next);
      this.tables.set(chainId, next);
    } catch (err) {
      // Partly applied: remember everything either table had, so the next
      // ProgramChain (or DeleteChain) removes whatever is left over.
      this.tables.set(chainId, {
        routes: new Map([...prev.routes, ...next.routes]),
        allow: new Set([...prev.allow, ...next.allow]),
      });
      throw err;
    }
  }

  /** Take an instance out of every route of its chain that names it.
   * Returns the stages that changed. */
  withoutInstance(chainId: number, instanceId: number): number[] {
    const table = this.tables.get(chainId);
    if (!table) return [];
    const changed: number[] = [];
    for (const [stage, targets] of table.routes) {
      if (!targets.some((t) => t.instance === instanceId)) continue;
      const rest = targets.filter((t) => t.instance !== instanceId);
      table.routes.set(stage, rest);
      this.writeRoute(chainId, stage, rest);
      changed.push(stage);
    }
    return changed;
  }

  /** Remove all of the chain's routes and edges from the router. */
  clear(chainId: number): void {
    const table = this.tables.get(chainId);
    if (!table) return;
    this.tables.delete(chainId);
    for (const key of table.allow) this.router.allow(chainId, ...parseEdge(key), false);
    for (const stage of table.routes.keys()) this.router.deleteRoute(chainId, stage);
  }

  has(chainId: number): boolean {
    return this.tables.has(chainId);
  }

  /** The targets of a stage as last programmed (copies). */
  route(chainId: number, stage: number): RouteTarget[] | undefined {
    return this.tables.get(chainId)?.routes.get(stage)?.map((t) => ({ ...t }));
  }

  /** New routes and edges first, removals after, so traffic that is
   * allowed both before and after never sees a gap. */
  private apply(chainId: number, prev: Table, next: Table): void {
    for (const [stage, targets] of next.routes) this.writeRoute(chainId, stage, targets);
    for (const key of next.allow) if (!prev.allow.has(key)) this.router.allow(chainId, ...parseEdge(key), true);
    for (const key of prev.allow) if (!next.allow.has(key)) this.router.allow(chainId, ...parseEdge(key), false);
    for (const stage of prev.routes.keys()) if (!next.routes.has(stage)) this.router.deleteRoute(chainId, stage);
  }

  /** An empty route is no route: requests to the stage fail as noRoute. */
  private writeRoute(chainId: number, stage: number, targets: RouteTarget[]): void {
    if (targets.length === 0) this.router.deleteRoute(chainId, stage);
    else this.router.setRoute(chainId, stage, targets);
  }
}
