/**
 * Fixture corpora of spec files (chains, aggregation jobs): a bad fixture
 * states the errors it must produce in its leading `# expect: LINE:COL
 * PATH: TEXT` comments (PATH `-` for errors about the document as a whole).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Expectation {
  line: number;
  column: number;
  path: string;
  text: string;
}

export function expectations(file: string): Expectation[] {
  const out: Expectation[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^# expect: (\d+):(\d+) (\S+): (.+)$/.exec(line);
    if (!m) break;
    out.push({ line: Number(m[1]), column: Number(m[2]), path: m[3] === '-' ? '' : (m[3] as string), text: m[4] as string });
  }
  return out;
}

/** The .yaml files of a fixture folder, sorted. */
export const yamlIn = (dir: string): string[] =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => join(dir, f));
