/** The human forms of bench:autoscale's results. */
import type { SimResult } from './sim/simulate.js';
import { oneLine, type RunResult, type Target } from './live/report.js';

export function table(rows: readonly SimResult[], sloMs: number, assumed: boolean): string {
  const head = ['trace', 'policy', 'violation s', '(service-bound)', 'p99 ms', 'p50 ms', 'instance-s', 'cold starts', 'held', 'throttled', 'timeouts'];
  const body = rows.map((r) => [r.trace, r.policy, r.sloViolationSeconds, r.serviceBoundSeconds, r.p99Ms, r.p50Ms, r.instanceSeconds, r.coldStarts, r.heldRequests, r.throttledRequests, r.timeouts].map(String));
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  const note = `SLO p99 ${sloMs} ms${assumed ? ' (assumed: the chain states none)' : ''}; a violation second is a second whose requests' p99 exceeds it\n`;
  return [note, line(head), ...body.map(line), ''].join('\n');
}

/** The human form of a live run: a line per policy and runtime, then the targets. */
export function liveTable(out: { runs: RunResult[]; targets: Target[] }): string {
  return [...out.runs.map(oneLine), '', ...out.targets.map((t) => `${t.met ? 'met    ' : 'NOT met'}  ${t.name}: ${t.value} (${t.limit})`), ''].join('\n');
}
