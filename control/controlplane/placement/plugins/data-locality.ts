import type { ScorePlugin } from '../framework.js';

/** Prefer nodes labelled with the data a function declares (spec `data`),
 * e.g. a node labelled bucket=frames for `data: { bucket: frames }`. */
export const dataLocality: ScorePlugin = {
  name: 'DataLocality',
  weight: 2,
  score: (ctx, node) => {
    const wanted = Object.entries(ctx.stage.data);
    if (wanted.length === 0) return 50;
    return (100 * wanted.filter(([k, v]) => node.labels[k] === v).length) / wanted.length;
  },
};
