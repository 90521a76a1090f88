/** The example chains' sample requests: what tests, `npm start` and the
 * benchmarks send. Outside test-context.ts so tools need not load vitest. */
import { readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** The chain's sample requests (requests/*.json), by file name without .json. */
export function sampleRequests(chainFile: string): Record<string, string> {
  const dir = join(dirname(chainFile), 'requests');
  const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
  return Object.fromEntries(files.map((f) => [basename(f, '.json'), readFileSync(join(dir, f), 'utf8')]));
}
