/**
 * The route table and allow-list each chain has on this node, as last
 * programmed, so ProgramChain can replace them (routes of stages no longer
 * listed and edges no longer listed are removed from the router), and what
 * the router gets of it: only the targets that can take requests now (a
 * starting, crashed or draining instance is left out until it can), so a
 * request is never sent where nobody will read it.
 */
import type { RouteTarget } from '../dataplane/native.js';
import type { Router } from '../node/router/router.js';
import type { AllowEdge, StageRoute } from './proto.js';

export type RouteWriter = Pick<Router, 'setRoute' | 'deleteRoute' | 'allow'>;

interface Table {
  /** As programmed. */
  routes: Map<number, RouteTarget[]>;
  /** "from/to" */
  allow: Set<string>;
  /** What the router has now, per stage ("" for no route), to skip rewrites. */
  written: Map<number, string>;
}

/** May requests go to this target now? */
export type Routable = (instanceId: number) => boolean;

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
  ) {}

  /** Replace the chain's routes and allow-list. */
  program(chainId: number, routes: StageRoute[], allow: AllowEdge[]): void {
    const prev = this.tables.get(chainId) ?? { routes: new Map(), allow: new Set<string>(), written: new Map() };
    const next: Table = {
      routes: new Map(routes.map((r) => [r.stage, r.targets.map((t) => ({ ...t }))])),
      allow: new Set(allow.map((e) => edgeKey(e.fromStage, e.toStage))),
      written: prev.written,
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
      });
      throw err;
    }
  }

  /** Rewrite the chain's routes that changed because a target became
   * routable or stopped being so. Returns the stages rewritten. */
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
    const key = live.map((t) => `${t.instance}:${t.weight}`).join(',');
    if (table.written.get(stage) === key) return false;
    if (live.length === 0) this.router.deleteRoute(chainId, stage);
    else this.router.setRoute(chainId, stage, live);
    table.written.set(stage, key);
    return true;
  }
}
