import type { ScorePlugin } from '../framework.js';

/** Prefer nodes labelled with the data a function declares (spec `data`),
 * e.g. a node labelled bucket=frames for `data: { bucket: frames }`.
 * It outweighs chain locality: moving a request to its data costs one
 * network hop of the request, moving the data to the function costs the
 * data, which is usually the larger. */
export const dataLocality: ScorePlugin = {
  name: 'DataLocality',
  weight: 4,
  score: (ctx, node) => {
    const wanted = Object.entries(ctx.stage.data);
    if (wanted.length === 0) return 50;
    return (100 * wanted.filter(([k, v]) => node.labels[k] === v).length) / wanted.length;
  },
};
