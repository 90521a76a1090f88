/** Writes a chain suite run to bench/results/<UTC timestamp>/ (or --out). */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { memoryInfo } from '../../../control/ferryd/procfs.js';
import { machineInfo } from '../../hop/machine.js';
import type { ChainSuiteRaw } from '../suite.js';
import { markdownReport } from './markdown.js';
import { suitePlots } from './plots.js';
import { buildSummary, type ChainSuiteSummary } from './summary-file.js';

/** 2026-12-03T09-45-12Z: sorts by time and is a valid file name. */
export const timestampDir = (d = new Date()) => d.toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');

export function writeChainSuite(dir: string, raw: ChainSuiteRaw, meta: { startedAt: string; finishedAt: string; command: string }): ChainSuiteSummary {
  mkdirSync(dir, { recursive: true });
  // bench:hop's machine facts; its CPU pinning does not apply here.
  const { pinning: _notPinned, ...hop } = machineInfo('none');
  const machine = { ...hop, memoryGiB: Math.round((memoryInfo().totalBytes / 2 ** 30) * 10) / 10 };
  const summary = buildSummary(raw, meta);
  const plots = suitePlots(raw);
  writeFileSync(join(dir, 'raw.json'), JSON.stringify({ ...meta, machine, ...raw }, null, 2) + '\n');
  writeFileSync(join(dir, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
  for (const p of plots) writeFileSync(join(dir, p.file), p.svg);
  writeFileSync(join(dir, 'report.md'), markdownReport(summary, raw, machine, plots));
  return summary;
}
