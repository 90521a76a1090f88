/**
 * The route table and allow-list each chain has on this node, as last
 * programmed, so ProgramChain can replace them (routes of stages no longer
 * listed and edges no longer listed are removed from the router), and what
 * the router gets of it: only the targets that can take requests now (a
 * starting, crashed or draining instance is left out until it can), so a
 * request is never sent where nobody will read it, with the weights the
 * stage's balance policy makes of the programmed ones (the shaper), and the
 * stage's consistent-hash ring when it has one. The programmed weights stay
 * the base: a new ProgramChain replaces them, never what the policy learnt.
 */
import type { RouteTarget } from '../dataplane/native.js';
import type { Ring } from '../node/router/pick.js';
import type { Router } from '../node/router/router.js';
import type { AllowEdge, StageRoute } from './proto.js';

export type RouteWriter = Pick<Router, 'setRoute' | 'deleteRoute' | 'allow' | 'setRing' | 'deleteRing'>;

interface Table {
  /** As programmed. */
  routes: Map<number, RouteTarget[]>;
  /** "from/to" */
  allow: Set<string>;
  /** What the router has now, per stage (no targets: no route), and its
   * key, to skip rewrites. */
  written: Map<number, { key: string; targets: RouteTarget[] }>;
  /** The ring the router has per stage (the shaper hands out the same
   * object until the ring changes). */
  rings: Map<number, Ring<number>>;
}

/** May requests go to this target now? */
export type Routable = (instanceId: number) => boolean;

/** What the router gets for a stage: its live targets with the weights to
 * write, and a ring for keyed requests (none: weights only). */
export interface ShapedRoute {
  targets: RouteTarget[];
  ring?: Ring<number>;
}

export type RouteShaper = (chainId: number, stage: number, live: RouteTarget[]) => ShapedRoute;

const edgeKey = (from: number, to: number) => `${from}/${to}`;

function parseEdge(key: string): [number, number] {
  const [from, to] = key.split('/').map(Number);
  return [from ?? 0, to ?? 0];
}

export class ChainRoutes {
  private readonly tables = new Map<number, Table>();

  constructor(
    private readonly router: RouteWriter,
    private readonly routable: Routable = () => true,
    private readonly shaper: RouteShaper = (_c, _s, live) => ({ targets: live }),
  ) {}

  /** Replace the chain's routes and allow-list. */
  program(chainId: number, routes: Pick<StageRoute, 'stage' | 'targets'>[], allow: AllowEdge[]): void {
    const prev = this.tables.get(chainId) ?? { routes: new Map(), allow: new Set<string>(), written: new Map(), rings: new Map() };
    const next: Table = {
      routes: new Map(routes.map((r) => [r.stage, r.targets.map((t) => ({ ...t }))])),
      allow: new Set(allow.map((e) => edgeKey(e.fromStage, e.toStage))),
      written: prev.written,
      rings: prev.rings,
    };
    try {
      this.apply(chainId, prev, next);
      this.tables.set(chainId, next);
    } catch (err) {
      // Partly applied: remember everything either table had, so the next
      // ProgramChain (or DeleteChain) removes whatever is left over.
      this.tables.set(chainId, {
        routes: new Map([...prev.routes, ...next.routes]),
        allow: new Set([...prev.allow, ...next.allow]),
        written: next.written,
        rings: next.rings,
      });
      throw err;
    }
  }

  /** Rewrite the chain's routes that changed because a target became
   * routable or stopped being so, or the shaper changed its weights.
   * Returns the stages rewritten. */
  refresh(chainId: number): number[] {
    const table = this.tables.get(chainId);
    if (!table) return [];
    const changed: number[] = [];
    for (const [stage, targets] of table.routes) if (this.writeRoute(chainId, table, stage, targets)) changed.push(stage);
    return changed;
  }

  /** Remove all of the chain's routes and edges from the router. */
  clear(chainId: number): void {
    const table = this.tables.get(chainId);
    if (!table) return;
    this.tables.delete(chainId);
    for (const key of table.allow) this.router.allow(chainId, ...parseEdge(key), false);
    for (const stage of table.routes.keys()) this.router.deleteRoute(chainId, stage);
    for (const stage of table.rings.keys()) this.router.deleteRing(chainId, stage);
  }

  /** The chains with routes here. */
  chains(): number[] {
    return [...this.tables.keys()];
  }

  has(chainId: number): boolean {
    return this.tables.has(chainId);
  }

  /** The targets of a stage as last programmed (copies). */
  route(chainId: number, stage: number): RouteTarget[] | undefined {
    return this.tables.get(chainId)?.routes.get(stage)?.map((t) => ({ ...t }));
  }

  /** The stages the chain has routes for here. */
  stages(chainId: number): number[] {
    return [...(this.tables.get(chainId)?.routes.keys() ?? [])];
  }

  /** What was last written to the router for a stage: its live targets
   * with the weights the balancer made of the programmed ones. */
  written(chainId: number, stage: number): RouteTarget[] {
    return (this.tables.get(chainId)?.written.get(stage)?.targets ?? []).map((t) => ({ ...t }));
  }

  /** The targets of a stage the router has now (routable ones). */
  live(chainId: number, stage: number): RouteTarget[] {
    return (this.tables.get(chainId)?.routes.get(stage) ?? []).filter((t) => this.isLive(t));
  }

  /** New routes and edges first, removals after, so traffic that is
   * allowed both before and after never sees a gap. */
  private apply(chainId: number, prev: Table, next: Table): void {
    for (const [stage, targets] of next.routes) this.writeRoute(chainId, next, stage, targets);
    for (const key of next.allow) if (!prev.allow.has(key)) this.router.allow(chainId, ...parseEdge(key), true);
    for (const key of prev.allow) if (!next.allow.has(key)) this.router.allow(chainId, ...parseEdge(key), false);
    for (const stage of prev.routes.keys())
      if (!next.routes.has(stage)) {
        this.router.deleteRoute(chainId, stage);
        next.written.delete(stage);
        this.writeRing(chainId, next, stage, undefined);
      }
  }

  /** Remote targets (another node's instance, reached through the egress)
   * are the peer's to judge; local ones must be routable. */
  private isLive(t: RouteTarget & { node?: string }): boolean {
    return (t.node !== undefined && t.node !== '') || this.routable(t.instance);
  }

  /** An empty route is no route: requests to the stage fail as noRoute.
   * Returns whether the router was written. */
  private writeRoute(chainId: number, table: Table, stage: number, targets: RouteTarget[]): boolean {
    const live = targets.filter((t) => this.isLive(t));
    const shaped = live.length > 0 ? this.shaper(chainId, stage, live) : { targets: live };
    // Ring first: a keyed request never finds a ring naming a target the
    // route has dropped for longer than this call.
    const ringChanged = this.writeRing(chainId, table, stage, shaped.ring);
    const key = shaped.targets.map((t) => `${t.instance}:${t.weight}`).join(',');
    if (table.written.get(stage)?.key === key) return ringChanged;
    if (shaped.targets.length === 0) this.router.deleteRoute(chainId, stage);
    else this.router.setRoute(chainId, stage, shaped.targets);
    table.written.set(stage, { key, targets: shaped.targets.map((t) => ({ instance: t.instance, weight: t.weight })) });
    return true;
  }

  private writeRing(chainId: number, table: Table, stage: number, ring: Ring<number> | undefined): boolean {
    const have = table.rings.get(stage);
    if (have === ring || (ring && ring.points.length === 0 && !have)) return false;
    if (ring && ring.points.length > 0) {
      this.router.setRing(chainId, stage, ring);
      table.rings.set(stage, ring);
    } else {
      this.router.deleteRing(chainId, stage);
      table.rings.delete(stage);
    }
    return true;
  }
}
