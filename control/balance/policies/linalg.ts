/** The little linear algebra LinUCB needs: d is 3, so Gauss-Jordan with
 * partial pivoting on plain arrays is plenty (A is symmetric positive
 * definite: the identity plus outer products). */

/** A^-1 (A square, invertible). */
export function inverse(A: readonly (readonly number[])[]): number[][] {
  const n = A.length;
  const m = A.map((row, i) => [...row, ...Array.from({ length: n }, (_, j) => (i === j ? 1 : 0))]);
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(m[r]![col]!) > Math.abs(m[pivot]![col]!)) pivot = r;
    [m[col], m[pivot]] = [m[pivot]!, m[col]!];
    const pv = m[col]![col]!;
    if (Math.abs(pv) < 1e-12) throw new RangeError('singular matrix');
    for (let c = 0; c < 2 * n; c++) m[col]![c]! /= pv;
    for (let r = 0; r < n; r++) {
      if (r === col) continue;
      const f = m[r]![col]!;
      if (f !== 0) for (let c = 0; c < 2 * n; c++) m[r]![c]! -= f * m[col]![c]!;
    }
  }
  return m.map((row) => row.slice(n));
}

/** x solving A x = b. */
export function solve(A: readonly (readonly number[])[], b: readonly number[]): number[] {
  const inv = inverse(A);
  return inv.map((row) => row.reduce((s, v, j) => s + v * b[j]!, 0));
}

/** x' M x. */
export function quadratic(M: readonly (readonly number[])[], x: readonly number[]): number {
  return M.reduce((s, row, i) => s + x[i]! * row.reduce((t, v, j) => t + v * x[j]!, 0), 0);
}
