/**
 * Placement plugins by name (the Kubernetes scheduler's plugin registry:
 * name -> factory), so configuration can name them and a new plugin is one
 * register() call, not an edit of the pipeline.
 */
import type { FilterPlugin, ScorePlugin } from './framework.js';
import { aggregatorNodes, aggregatorPacking } from './plugins/aggregator-placement.js';
import { archFit } from './plugins/arch-fit.js';
import { chainLocality } from './plugins/chain-locality.js';
import { dataLocality } from './plugins/data-locality.js';
import { dominantResourceFairness } from './plugins/dominant-resource-fairness.js';
import { peerReach } from './plugins/peer-reach.js';
import { resourceFit } from './plugins/resource-fit.js';
import { spread } from './plugins/spread.js';

export type PluginKind = 'filter' | 'score';

export type PluginFactory = { kind: 'filter'; create: () => FilterPlugin } | { kind: 'score'; create: () => ScorePlugin };

export class PluginRegistry {
  private readonly factories = new Map<string, PluginFactory>();

  register(name: string, factory: PluginFactory): this {
    if (this.factories.has(name)) throw new Error(`a placement plugin named ${name} is registered already`);
    this.factories.set(name, factory);
    return this;
  }

  kindOf(name: string): PluginKind | undefined {
    return this.factories.get(name)?.kind;
  }

  /** Registered names of one kind, sorted. */
  names(kind: PluginKind): string[] {
    return [...this.factories].filter(([, f]) => f.kind === kind).map(([n]) => n).sort();
  }

  filter(name: string): FilterPlugin {
    const f = this.factories.get(name);
    if (f?.kind !== 'filter') throw new Error(`${name} is not a registered filter plugin (filters: ${this.names('filter').join(', ')})`);
    return named(name, f.create());
  }

  score(name: string): ScorePlugin {
    const f = this.factories.get(name);
    if (f?.kind !== 'score') throw new Error(`${name} is not a registered score plugin (score plugins: ${this.names('score').join(', ')})`);
    return named(name, f.create());
  }
}

/** A factory must make the plugin it is registered as: messages and
 * configuration use the one name. */
function named<P extends { name: string }>(name: string, p: P): P {
  if (p.name !== name) throw new Error(`placement plugin registered as ${name} calls itself ${p.name}`);
  return p;
}

/** Every plugin ferry ships. */
export function builtinPlugins(): PluginRegistry {
  return new PluginRegistry()
    .register(archFit.name, { kind: 'filter', create: () => archFit })
    .register(resourceFit.name, { kind: 'filter', create: () => resourceFit })
    .register(peerReach.name, { kind: 'filter', create: () => peerReach })
    .register(aggregatorNodes.name, { kind: 'filter', create: () => aggregatorNodes })
    .register(aggregatorPacking.name, { kind: 'score', create: () => aggregatorPacking })
    .register(chainLocality.name, { kind: 'score', create: () => chainLocality })
    .register(dataLocality.name, { kind: 'score', create: () => dataLocality })
    .register(spread.name, { kind: 'score', create: () => spread })
    .register(dominantResourceFairness.name, { kind: 'score', create: () => dominantResourceFairness });
}
