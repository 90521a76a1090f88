/**
 * scikit-learn's digits (digits/README.md): 1,797 8x8 images, pixels 0..16,
 * 10 classes, read from the committed digits.csv.gz with node:zlib, so no
 * network and no Python at run time.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { repoRoot } from '../../paths.js';
import type { Dataset } from './dataset.js';

export const DIGITS_PATH = join(repoRoot, 'control/fl/data/digits/digits.csv.gz');
export const DIGITS_FEATURES = 64;
export const DIGITS_CLASSES = 10;
/** Pixels are 0..16: dividing by 16 puts every feature in [0, 1], the scale
 * the models' learning rates are chosen for. */
export const DIGITS_PIXEL_MAX = 16;

export interface LoadOptions {
  /** Multiply every pixel by this; default 1/16 (features in [0, 1]). */
  scale?: number;
  path?: string;
}

export function loadDigits(opts: LoadOptions = {}): Dataset {
  const path = opts.path ?? DIGITS_PATH;
  const scale = opts.scale ?? 1 / DIGITS_PIXEL_MAX;
  let text: string;
  try {
    text = gunzipSync(readFileSync(path)).toString('latin1');
  } catch (err) {
    throw new Error(`cannot read the digits dataset at ${path} (${(err as Error).message}); it is committed in the repository: restore it with git checkout -- control/fl/data/digits`);
  }
  return parseDigitsCsv(text, scale, path);
}

/** Parse rows of 64 pixel values then a label 0..9; a malformed row is an
 * error naming its line, not a silently skewed dataset. */
export function parseDigitsCsv(text: string, scale: number, source = 'digits csv'): Dataset {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const count = lines.length;
  const x = new Float32Array(count * DIGITS_FEATURES);
  const y = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const cells = lines[i]!.split(',');
    if (cells.length !== DIGITS_FEATURES + 1) {
      throw new Error(`${source}:${i + 1}: expected ${DIGITS_FEATURES + 1} comma-separated values, found ${cells.length}`);
    }
    for (let f = 0; f < DIGITS_FEATURES; f++) {
      const v = Number(cells[f]);
      if (!(v >= 0 && v <= DIGITS_PIXEL_MAX)) throw new Error(`${source}:${i + 1}: pixel ${f} is "${cells[f]}", not a number in 0..${DIGITS_PIXEL_MAX}`);
      x[i * DIGITS_FEATURES + f] = v * scale;
    }
    const label = Number(cells[DIGITS_FEATURES]);
    if (!Number.isInteger(label) || label < 0 || label >= DIGITS_CLASSES) {
      throw new Error(`${source}:${i + 1}: label is "${cells[DIGITS_FEATURES]}", not an integer in 0..${DIGITS_CLASSES - 1}`);
    }
    y[i] = label;
  }
  return { x, y, count, features: DIGITS_FEATURES, classes: DIGITS_CLASSES };
}
