/**
 * Where a chain's gateway endpoints are: on every node that runs part of
 * the chain, and on every node serving HTTP that can hand requests over to
 * them, so a request may enter the chain at any node. A node that keeps its
 * gateway keeps its endpoint id: requests in flight are answered through it.
 */
import { hasPeerListener, type NodeRegistry } from '../nodes/registry.js';
import type { IdAllocator } from './ids.js';
import type { ChainRecord, PlacedInstance } from './record.js';

export function gatewayNodes(nodes: NodeRegistry, instances: readonly PlacedInstance[]): string[] {
  const running = new Set(instances.map((i) => i.node));
  const linkable = nodes.list().filter((n) => n.ready && hasPeerListener(n));
  if ([...running].every((name) => linkable.some((n) => n.name === name))) {
    for (const n of linkable) if (n.info.gatewayAddress !== '') running.add(n.name);
  }
  return [...running].sort();
}

/** The gateways for these instances, reusing the ids of `previous`. */
export function gatewaysFor(nodes: NodeRegistry, instances: readonly PlacedInstance[], previous: ChainRecord['gateways'], ids: IdAllocator): ChainRecord['gateways'] {
  let at = gatewayNodes(nodes, instances);
  if (at.length === 0) at = doorWhileAtZero(nodes, previous);
  return at.map((node) => previous.find((g) => g.node === node) ?? { node, id: ids.take() });
}

/** A chain with no instance anywhere (every stage scaled to zero) and no
 * node that could hand requests over still needs one gateway: that is
 * where its requests are held and ask for an instance. It stays where the
 * chain had one, else goes to a ready node serving HTTP. */
function doorWhileAtZero(nodes: NodeRegistry, previous: ChainRecord['gateways']): string[] {
  const serving = nodes.list().filter((n) => n.ready && n.info.gatewayAddress !== '');
  const kept = previous.map((g) => g.node).filter((name) => serving.some((n) => n.name === name));
  if (kept.length > 0) return kept.sort();
  return serving.slice(0, 1).map((n) => n.name);
}
