/** report.md and the plain-text table: the summary laid out for people. */
import type { MachineInfo } from '../../hop/machine.js';
import type { ChainSuiteRaw } from '../suite.js';
import type { ChainSuiteSummary } from './summary-file.js';
import type { Plot } from './plots.js';

const n = (x: number | null | undefined, d = 2) => (x === null || x === undefined || !Number.isFinite(x) ? '-' : String(Math.round(x * 10 ** d) / 10 ** d));

function table(head: string[], rows: string[][]): string {
  return [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

/** One table per chain: the numbers summary.json has for it. */
export function chainTables(s: ChainSuiteSummary): string {
  return s.chains
    .map((chain) => {
      const rows = s.systems.map((sys) => {
        const c = s.results[sys as keyof typeof s.results]?.chains[chain];
        return [sys, `${n(c?.maxRps, 1)}${c?.maxAtConnections ? ` @${c.maxAtConnections}c` : ''}`, n(c?.fixedRate, 0), n(c?.p50Ms), n(c?.p99Ms), n(c?.p999Ms), n(c?.fixedFailed, 0), n(c?.reqPerCpuSecond1KiB, 0), n(c?.reqPerCpuSecond64KiB, 0)];
      });
      const slo = s.results[s.systems[0] as keyof typeof s.results]?.chains[chain]?.sloP99Ms;
      const b64 = s.systems.map((sys) => s.results[sys as keyof typeof s.results]?.chains[chain]?.bytes64KiB).find((b) => b !== null && b !== undefined);
      const note = b64 !== undefined && b64 !== 65536 ? `\n\n"64 KiB" on ${chain} is ${b64} bytes: the largest body its maxBodyBytes lets through.` : '';
      return `### ${chain} (SLO p99 ${n(slo)} ms)\n\n${table(['system', 'max rps (SLO met)', 'fixed rate /s', 'p50 ms', 'p99 ms', 'p99.9 ms', 'failed', 'req/CPU-s 1 KiB', 'req/CPU-s 64 KiB'], rows)}${note}`;
    })
    .join('\n\n');
}

export function markdownReport(s: ChainSuiteSummary, raw: ChainSuiteRaw, machine: Omit<MachineInfo, 'pinning'> & { memoryGiB: number }, plots: Plot[]): string {
  const out: string[] = [];
  out.push(`# Chain suite: ${s.systems.join(', ')}${s.quick ? ' (--quick: checks the pipeline, not the targets)' : ''}`);
  out.push(`Made by \`${s.command}\`, ${s.startedAt} to ${s.finishedAt}.`);
  out.push(
    `## Machine\n\n${machine.cpus} CPUs (${machine.cpuModel}), ${machine.memoryGiB} GiB, kernel ${machine.kernel}, Node ${machine.node}` +
      `${machine.hypervisor ? ', under a hypervisor' : ''}; load average at the end ${machine.loadAverage.join(' / ')} (other work on the machine shows up there and in the tails). ` +
      'The load generator runs in the suite\'s own process, on the same CPUs as the system under test; CPU per request counts only the system\'s processes.',
  );
  out.push(
    `## What ran\n\n- Systems, one at a time: ${s.systems.join(', ')}.\n- Chains: ${s.chains.join(', ')}${s.skippedChains.length > 0 ? `; skipped (not in this checkout): ${s.skippedChains.join(', ')}` : ''}.\n` +
      raw.plan.sources.map((x) => `- ${x}`).join('\n') +
      `\n- Every stage pinned at max(1, scale.min) instances, no autoscaling.\n- Max: closed loop (autocannon) at ${raw.plan.maxConnections.join(', ')} connections, ${raw.plan.maxLevelS} s each, stopping at the first level that misses the SLO or fails a request.` +
      `\n- Requests per CPU-second: closed loop, ${raw.plan.perCpuConnections} connections, ${raw.plan.perCpuS} s per size, CPU (utime+stime from /proc, polled every 500 ms) of every process of the system over completed requests.` +
      `\n- Fixed rate: paced open loop (each request sent at its due time, latency from it) for ${raw.plan.fixedS} s at: ${Object.entries(s.equalLoad.fixed).map(([c, f]) => `${c} ${f.rate}/s (${f.how})`).join('; ')}.` +
      (s.equalLoad.sweep ? `\n- Sweep: ${s.equalLoad.sweep.chain}, ${raw.plan.sweepBytes.join(', ')} B at ${s.equalLoad.sweep.rate}/s (${s.equalLoad.sweep.how}), ${raw.plan.sweepS} s each.` : '') +
      `\n- Idle: ${raw.idleChains.length} chains deployed (${raw.idleChains.join(', ')}), ${raw.plan.idleSettleS} s to settle, then ${raw.plan.idleS} s of CPU.`,
  );
  out.push(`## Results per chain\n\n${chainTables(s)}`);
  out.push(
    `## Idle\n\n${table(
      ['system', 'chains', '% of one core'],
      s.systems.map((sys) => {
        const r = s.results[sys as keyof typeof s.results];
        return [sys, n(r?.idleChains, 0), n(r?.idlePercentOfCore, 3)];
      }),
    )}`,
  );
  const sizes = raw.plan.sweepBytes;
  out.push(
    `## p99 vs payload (${s.equalLoad.sweep?.chain ?? '-'})\n\n${table(
      ['system', ...sizes.map((b) => `${b} B p99 ms`)],
      s.systems.map((sys) => [sys, ...sizes.map((b) => n(s.results[sys as keyof typeof s.results]?.sweep.find((p) => p.nominalBytes === b)?.p99Ms))]),
    )}` + (raw.runs[0]?.sweep.some((p) => p.note) ? `\n\n${[...new Set(raw.runs[0]!.sweep.filter((p) => p.note).map((p) => `${p.nominalBytes} B sent as ${p.bytes} B: ${p.note}`))].join('; ')}.` : ''),
  );
  out.push(
    `## Ratios (ferry / other; p99 and idle: other / ferry, so > 1 favours ferry)\n\n${
      s.ratios.length === 0
        ? 'No other system ran.'
        : table(
            ['ferry', 'vs', 'chain', 'max rps', 'req/CPU-s 1 KiB', 'req/CPU-s 64 KiB', 'p99 lower x'],
            s.ratios.flatMap((r) => Object.entries(r.chains).map(([c, x]) => [r.ferry, r.other, c, n(x.maxRps), n(x.reqPerCpuSecond1KiB), n(x.reqPerCpuSecond64KiB), n(x.p99LowerX)])),
          )
    }`,
  );
  out.push(
    `## Targets (issue #10)${s.quick ? '\n\n--quick numbers come from runs too short to judge: these rows show the evaluation works.' : ''}\n\n${table(
      ['system', 'target', 'met', 'numbers', 'note'],
      s.targets.map((t) => [t.system, t.target, t.met === null ? 'not judged' : t.met ? 'yes' : 'no', Object.entries(t.numbers).map(([k, v]) => `${k}=${n(v)}`).join(', '), t.note ?? '']),
    )}`,
  );
  out.push(`## Plots\n\n${plots.map((p) => `### ${p.title}\n\n![${p.title}](${p.file})`).join('\n\n')}`);
  const errors = s.systems.flatMap((sys) => (s.results[sys as keyof typeof s.results]?.errors ?? []).map((e) => `- ${sys}: ${e}`));
  if (errors.length > 0) out.push(`## Errors\n\n${errors.join('\n')}`);
  return out.join('\n\n') + '\n';
}
