/** The chains suite as `npm run bench` runs it: measure, write the results directory, lay out the table. */
import { join } from 'node:path';
import { repoRoot } from '../../control/paths.js';
import { chainTables } from './report/markdown.js';
import { timestampDir, writeChainSuite } from './report/write.js';
import type { SuiteOptions, SuiteOutcome } from './suites.js';
import { runChainSuite } from './suite.js';

export async function chainsSuite(o: SuiteOptions): Promise<SuiteOutcome> {
  const started = new Date();
  const dir = o.out ?? join(repoRoot, 'bench/results', timestampDir(started));
  const raw = await runChainSuite({ quick: o.quick, portBase: o.portBase, log: o.log, ...(o.scale !== undefined ? { scale: o.scale } : {}), ...(o.systems ? { systems: o.systems } : {}), ...(o.chains ? { chains: o.chains } : {}) });
  const command = `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim();
  const summary = writeChainSuite(dir, raw, { startedAt: started.toISOString(), finishedAt: new Date().toISOString(), command });
  o.log(`wrote ${dir} (summary.json, raw.json, report.md, ${summary.chains.length * 2 + 1} plots)`);
  const targets = summary.targets.map((t) => `${t.system}: ${t.met === null ? 'not judged' : t.met ? 'MET' : 'not met'}  ${t.target}${t.note ? ` (${t.note})` : ''}`).join('\n');
  return { result: summary, text: `${chainTables(summary)}\n\nTargets:\n${targets}\n\nResults: ${dir}\n` };
}
