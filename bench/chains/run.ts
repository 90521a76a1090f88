/**
 * npm run bench -- --suite chains|admin|multinode [--json] [--quick]
 *   [--systems ferry-ebpf,http,...] [--chains motion,...] [--out DIR] [--port-base N]
 *
 * Runs one load suite (issue #10; suites.ts says which module runs which).
 * --suite chains brings each system up in turn, measures it on the suite's
 * chains and writes bench/results/<UTC timestamp>/ (raw.json, summary.json,
 * report.md, SVG plots; bench/README.md says how to read them). Progress
 * goes to stderr; stdout gets a table, or with --json one JSON object.
 */
import { parseArgs } from 'node:util';
import { SUITES, suiteNames } from './suites.js';

const USAGE = 'usage: npm run bench -- --suite chains|admin|multinode [--json] [--quick] [--systems a,b] [--chains a,b] [--out DIR] [--port-base N] [--scale F]';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      suite: { type: 'string', default: 'chains' },
      json: { type: 'boolean', default: false },
      quick: { type: 'boolean', default: false },
      systems: { type: 'string' },
      chains: { type: 'string' },
      out: { type: 'string' },
      // ferry's own defaults (7700, 8080, 9700...) may belong to a running ferry.
      'port-base': { type: 'string', default: '48000' },
      // A full run's load durations times F (0 < F <= 1); idle stays 60 s.
      scale: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const run = SUITES[values.suite];
  if (!run) throw new Error(`--suite: unknown suite "${values.suite}" (one of: ${suiteNames().join(', ')})\n${USAGE}`);
  const portBase = Number(values['port-base']);
  if (!Number.isInteger(portBase) || portBase < 1024 || portBase > 64000) throw new Error('--port-base takes a port between 1024 and 64000 (each system uses 200 from its own base)');
  const list = (s: string | undefined) => s?.split(',').map((x) => x.trim()).filter((x) => x !== '');
  const started = performance.now();
  const log = (m: string) => process.stderr.write(`[bench ${values.suite} ${((performance.now() - started) / 1000).toFixed(0)}s] ${m}\n`);
  const systems = list(values.systems);
  const chains = list(values.chains);
  const outcome = await run({
    quick: values.quick,
    json: values.json,
    log,
    portBase,
    ...(values.out ? { out: values.out } : {}),
    ...(systems ? { systems } : {}),
    ...(chains ? { chains } : {}),
    ...(values.scale !== undefined ? { scale: Number(values.scale) } : {}),
  });
  process.stdout.write(values.json ? `${JSON.stringify(outcome.result)}\n` : outcome.text);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
