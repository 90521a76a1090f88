/** "Did you mean" for misspelt field and stage names. */

/** The closest candidate within a small edit distance, if any. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  // Allow about one typo per three characters, at least one: "nxt" -> "next",
  // but not "a" -> "name".
  const budget = Math.max(1, Math.floor(word.length / 3));
  let best: string | undefined;
  let bestDist = budget + 1;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDist) {
      best = c;
      bestDist = d;
    }
  }
  return best;
}

/** Levenshtein distance with adjacent transpositions counted as one edit. */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[] = new Array<number>(rows * cols).fill(0);
  const at = (i: number, j: number): number => d[i * cols + j] ?? 0;
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, at(i - 2, j - 2) + 1);
      d[i * cols + j] = v;
    }
  }
  return at(a.length, b.length);
}

/** ` (did you mean "next"? expected one of: a, b)` style tail for messages. */
export function suggestionTail(word: string, candidates: readonly string[], what = 'expected one of'): string {
  const guess = closest(word, candidates);
  const list = `${what}: ${candidates.join(', ')}`;
  return guess ? ` (did you mean "${guess}"? ${list})` : ` (${list})`;
}
