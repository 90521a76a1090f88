/**
 * Line plots as standalone SVG text, with no dependencies: one or more
 * series of (x, y) points, linear or log10 axes with round-number ticks,
 * axis titles and a legend. Enough for a benchmark report that people
 * open in a browser or see embedded in markdown.
 */

export interface Series {
  name: string;
  points: readonly (readonly [number, number])[];
}

export interface PlotSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly Series[];
  xLog?: boolean;
  yLog?: boolean;
  /** Labels for x ticks (e.g. byte sizes); the number itself by default. */
  xTickLabel?: (x: number) => string;
  width?: number;
  height?: number;
}

/** Distinguishable on white, and in grey scale by dash pattern. */
const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];
const DASHES = ['', '6 3', '2 2', '8 3 2 3', '1 3', '10 4'];

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

/** Short number text: 1200 -> 1.2k, 0.25 -> 0.25. */
export function formatNumber(x: number): string {
  const a = Math.abs(x);
  if (a >= 1e6) return `${+(x / 1e6).toPrecision(3)}M`;
  if (a >= 1e3) return `${+(x / 1e3).toPrecision(3)}k`;
  return String(+x.toPrecision(3));
}

/** About `count` round ticks (1, 2, 5 x 10^k steps) covering lo..hi. */
export function linearTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) out.push(+t.toPrecision(12));
  return out;
}

/** Powers of ten (or of two when the range spans fewer than two decades) within lo..hi. */
export function logTicks(lo: number, hi: number): number[] {
  const out: number[] = [];
  const base = hi / lo < 100 ? 2 : 10;
  for (let t = base ** Math.floor(Math.log(lo) / Math.log(base)); t <= hi * (1 + 1e-9); t *= base) if (t >= lo * (1 - 1e-9)) out.push(t);
  return out.length > 0 ? out : [lo];
}

interface Axis {
  lo: number;
  hi: number;
  log: boolean;
}

function axisOf(values: number[], log: boolean): Axis {
  const v = values.filter((x) => Number.isFinite(x) && (!log || x > 0));
  if (v.length === 0) return { lo: log ? 1 : 0, hi: log ? 10 : 1, log };
  let lo = Math.min(...v);
  let hi = Math.max(...v);
  if (!log) lo = Math.min(0, lo);
  if (hi === lo) hi = log ? lo * 10 : lo + 1;
  return { lo, hi, log };
}

function scale(a: Axis, from: number, to: number): (x: number) => number {
  const f = a.log ? Math.log10 : (x: number) => x;
  const l = f(a.lo);
  const h = f(a.hi);
  return (x) => from + ((f(x) - l) / (h - l)) * (to - from);
}

export function linePlot(spec: PlotSpec): string {
  const W = spec.width ?? 720;
  const H = spec.height ?? 420;
  const m = { left: 70, right: 170, top: 40, bottom: 55 };
  const all = spec.series.flatMap((s) => s.points);
  const xa = axisOf(all.map((p) => p[0]), spec.xLog ?? false);
  const ya = axisOf(all.map((p) => p[1]), spec.yLog ?? false);
  const X = scale(xa, m.left, W - m.right);
  const Y = scale(ya, H - m.bottom, m.top);
  const xLabel = spec.xTickLabel ?? formatNumber;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect x="0" y="0" width="${W}" height="${H}" fill="#ffffff"/>`);
  parts.push(`<text x="${W / 2}" y="22" text-anchor="middle" font-size="15">${escapeXml(spec.title)}</text>`);
  for (const t of xa.log ? logTicks(xa.lo, xa.hi) : linearTicks(xa.lo, xa.hi)) {
    const x = X(t).toFixed(1);
    parts.push(`<line x1="${x}" y1="${m.top}" x2="${x}" y2="${H - m.bottom}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${x}" y="${H - m.bottom + 16}" text-anchor="middle">${escapeXml(xLabel(t))}</text>`);
  }
  for (const t of ya.log ? logTicks(ya.lo, ya.hi) : linearTicks(ya.lo, ya.hi)) {
    const y = Y(t).toFixed(1);
    parts.push(`<line x1="${m.left}" y1="${y}" x2="${W - m.right}" y2="${y}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${m.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${escapeXml(formatNumber(t))}</text>`);
  }
  parts.push(`<rect x="${m.left}" y="${m.top}" width="${W - m.left - m.right}" height="${H - m.top - m.bottom}" fill="none" stroke="#333333"/>`);
  parts.push(`<text x="${(m.left + W - m.right) / 2}" y="${H - 14}" text-anchor="middle">${escapeXml(spec.xLabel)}</text>`);
  parts.push(`<text transform="translate(18 ${(m.top + H - m.bottom) / 2}) rotate(-90)" text-anchor="middle">${escapeXml(spec.yLabel)}</text>`);
  spec.series.forEach((s, i) => {
    const colour = COLOURS[i % COLOURS.length]!;
    const dash = DASHES[i % DASHES.length]!;
    const pts = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!xa.log || x > 0) && (!ya.log || y > 0));
    if (pts.length > 0) {
      const d = pts.map(([x, y]) => `${X(x).toFixed(1)},${Y(y).toFixed(1)}`).join(' ');
      parts.push(`<polyline fill="none" stroke="${colour}" stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ''} points="${d}"/>`);
      for (const [x, y] of pts) parts.push(`<circle cx="${X(x).toFixed(1)}" cy="${Y(y).toFixed(1)}" r="2.5" fill="${colour}"/>`);
    }
    const ly = m.top + 10 + i * 20;
    parts.push(`<line x1="${W - m.right + 12}" y1="${ly}" x2="${W - m.right + 40}" y2="${ly}" stroke="${colour}" stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ''}/>`);
    parts.push(`<text x="${W - m.right + 46}" y="${ly}" dominant-baseline="middle">${escapeXml(s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
