import type { ScorePlugin } from '../framework.js';

/** Prefer nodes labelled with the data a function declares (spec `data`),
 * e.g. a node labelled bucket=frames for `data: { bucket: frames }`. Its
 * default weight is above chain locality's (config.ts): moving a request to
 * its data costs one network hop of the request, moving the data to the
 * function costs the data, which is usually the larger. Raw score: the
 * share of the wanted labels the node has, 0..100; nothing to say for a
 * stage that wants none. */
export const dataLocality: ScorePlugin = {
  name: 'DataLocality',
  prepare: (ctx) => {
    const wanted = Object.entries(ctx.stage.data);
    if (wanted.length === 0) return undefined;
    return (node) => (100 * wanted.filter(([k, v]) => node.labels[k] === v).length) / wanted.length;
  },
};
