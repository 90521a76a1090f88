/** ferryd as its own process (control/ferryd/main.ts under tsx), with its
 * JSON log lines collected as they come. */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { paths, repoRoot } from '../../paths.js';

const MAIN = join(repoRoot, 'control/ferryd/main.ts');

export interface FerrydProcess {
  child: ChildProcess;
  lines: Record<string, unknown>[];
  exited: Promise<number | null>;
}

export function runFerryd(args: string[]): FerrydProcess {
  const child = spawn(process.execPath, ['--import', pathToFileURL(paths.tsxLoader).href, MAIN, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Record<string, unknown>[] = [];
  let rest = '';
  child.stderr!.on('data', (d: Buffer) => {
    const parts = (rest + d.toString()).split('\n');
    rest = parts.pop()!;
    for (const p of parts) {
      try {
        lines.push(JSON.parse(p) as Record<string, unknown>);
      } catch {
        lines.push({ msg: p });
      }
    }
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, lines, exited };
}
