import { describe, expect, it } from 'vitest';
import { buildScheduler, DEFAULT_SCHEDULER_CONFIG, parseWeights, SchedulerConfigError, withWeights } from './config.js';
import { builtinPlugins, PluginRegistry } from './registry.js';
import { spread } from './plugins/spread.js';

describe('plugin registry', () => {
  it('makes every built-in plugin by name, of its kind', () => {
    const r = builtinPlugins();
    expect(r.names('filter')).toEqual(['AggregatorNodes', 'ArchFit', 'PeerReach', 'ResourceFit']);
    expect(r.names('score')).toEqual(['AggregatorPacking', 'ChainLocality', 'DataLocality', 'DominantResourceFairness', 'Spread']);
    for (const n of r.names('score')) expect(r.score(n).name).toBe(n);
    for (const n of r.names('filter')) expect(r.filter(n).name).toBe(n);
  });

  it('refuses a second plugin under a taken name, and a plugin of the wrong kind', () => {
    const r = builtinPlugins();
    expect(() => r.register('Spread', { kind: 'score', create: () => spread })).toThrow('a placement plugin named Spread is registered already');
    expect(() => r.filter('Spread')).toThrow('Spread is not a registered filter plugin (filters: AggregatorNodes, ArchFit, PeerReach, ResourceFit)');
  });

  it('refuses a factory that makes a plugin under another name', () => {
    const r = new PluginRegistry().register('Spreads', { kind: 'score', create: () => spread });
    expect(() => r.score('Spreads')).toThrow('placement plugin registered as Spreads calls itself Spread');
  });
});

describe('scheduler configuration', () => {
  it('has a cluster default that builds, with every score plugin weighted', () => {
    const s = buildScheduler();
    expect(s.filters.map((f) => f.name)).toEqual(DEFAULT_SCHEDULER_CONFIG.filters);
    expect(Object.fromEntries(s.scores.map((w) => [w.plugin.name, w.weight]))).toEqual({ DataLocality: 4, ChainLocality: 3, Spread: 1, DominantResourceFairness: 2, AggregatorPacking: 20 });
  });

  it('takes weights as NAME=WEIGHT,... over the default', () => {
    const s = buildScheduler(withWeights(parseWeights(' Spread=5, ChainLocality = 0')));
    expect(Object.fromEntries(s.scores.map((w) => [w.plugin.name, w.weight]))).toMatchObject({ Spread: 5, ChainLocality: 0, DataLocality: 4 });
  });

  it('rejects text that is not NAME=WEIGHT, and a name given twice', () => {
    expect(() => parseWeights('Spread')).toThrow('placement weights: "Spread" is not NAME=WEIGHT (e.g. ChainLocality=3)');
    expect(() => parseWeights('Spread=1,Spread=2')).toThrow('Spread is given twice');
  });

  it('rejects unknown plugins, filters given a weight and weights out of range, naming every problem', () => {
    let err: unknown;
    try {
      buildScheduler(withWeights(parseWeights('Sprad=1,ResourceFit=2,Spread=-1,ChainLocality=2.5,DataLocality=101,DominantResourceFairness=x')));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SchedulerConfigError);
    expect((err as SchedulerConfigError).problems).toEqual([
      'DataLocality=101: a weight is a whole number 0..100 (0 turns it off)',
      'ChainLocality=2.5: a weight is a whole number 0..100 (0 turns it off)',
      'DominantResourceFairness=not a number: a weight is a whole number 0..100 (0 turns it off)',
      'Spread=-1: a weight is a whole number 0..100 (0 turns it off)',
      'Sprad is not a placement plugin (score plugins: AggregatorPacking, ChainLocality, DataLocality, DominantResourceFairness, Spread)',
      'ResourceFit is a filter: filters have no weight, they only say which nodes fit',
    ]);
  });

  it('rejects turning every score off, and an unknown filter', () => {
    expect(() => buildScheduler(withWeights(parseWeights('Spread=0,ChainLocality=0,DataLocality=0,DominantResourceFairness=0,AggregatorPacking=0')))).toThrow(
      'every score plugin has weight 0',
    );
    expect(() => buildScheduler({ filters: ['ResourceFit', 'Nope'], weights: { Spread: 1 } })).toThrow('Nope is not a filter plugin (filters: AggregatorNodes, ArchFit, PeerReach, ResourceFit)');
  });
});
