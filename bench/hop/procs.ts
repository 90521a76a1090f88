/** Command lines of the benchmark's processes and the plumbing to run them. */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { paths, repoRoot } from '../../control/paths.js';
import type { Pinning, Runtime } from './options.js';

/** Running from sources (tsx, vitest) or from dist/: Node helpers follow. */
const fromSource = import.meta.url.endsWith('.ts');
const ext = fromSource ? '.ts' : '.js';

/** A Node script beside this module (bench/hop/node/...). */
export function nodeScript(name: string): string[] {
  const file = fileURLToPath(new URL(`./node/${name}${ext}`, import.meta.url));
  return fromSource
    ? [process.execPath, '--import', pathToFileURL(paths.tsxLoader).href, file]
    : [process.execPath, file];
}

export const nativeBin = (name: string) => join(repoRoot, 'bench/out', name);

export function requireNativeDrivers(): void {
  for (const b of ['hop-pinger', 'hop-echod'])
    if (!existsSync(nativeBin(b))) throw new Error(`${nativeBin(b)} not built: run \`npm run build\` (make -C bench)`);
}

/** The pinger and the echo side of one pair, as argv prefixes. */
export function pingerCommand(runtime: Runtime): string[] {
  return runtime === 'native' ? [nativeBin('hop-pinger')] : nodeScript('pinger');
}

export function echoServerCommand(runtime: Runtime): string[] {
  return runtime === 'native' ? [nativeBin('hop-echod')] : nodeScript('echo-server');
}

export interface Placement {
  pinger?: number;
  echo?: number;
}

/** CPUs of a pair; see Pinning in options.ts for why 'same' is the default.
 * The last CPU, so the pair stays off CPU 0 where most interrupts land. */
export function placement(pin: Pinning): Placement {
  const last = Math.max(0, cpus().length - 1);
  if (pin === 'same') return { pinger: last, echo: last };
  if (pin === 'split') return { pinger: 0, echo: last };
  return {};
}

/** taskset before exec: every thread the process starts inherits the mask. */
export function pinned(cpu: number | undefined, argv: string[]): string[] {
  return cpu === undefined ? argv : ['taskset', '-c', String(cpu), ...argv];
}

/** Lines a child writes on stdout, as they come. */
export function onLines(child: ChildProcess, each: (line: string) => void): void {
  let rest = '';
  child.stdout?.on('data', (d: Buffer) => {
    const parts = (rest + d.toString()).split('\n');
    rest = parts.pop() ?? '';
    for (const p of parts) if (p.trim()) each(p);
  });
}

/** Exit of a child, with its stderr tail for error messages. */
export function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve({ code: child.exitCode, signal: child.signalCode });
    else child.once('exit', (code, signal) => resolve({ code, signal }));
  });
}

export function stderrTail(child: ChildProcess): () => string {
  let text = '';
  child.stderr?.on('data', (d: Buffer) => {
    text = (text + d.toString()).slice(-4096);
  });
  return () => text.trim();
}

/** Start an echo server and wait for the port it prints. */
export async function startServer(argv: string[], timeoutMs = 15_000): Promise<{ child: ChildProcess; port: number }> {
  const child = run(argv);
  const err = stderrTail(child);
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${argv.join(' ')}: no port after ${timeoutMs} ms`)), timeoutMs);
    onLines(child, (line) => {
      clearTimeout(timer);
      resolve(Number(line));
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${argv.join(' ')} exited with ${code}: ${err()}`));
    });
  });
  return { child, port };
}

/** Children started here (servers, pingers), so an interrupted run can
 * stop them; the data plane stops its own instances. */
const live = new Set<ChildProcess>();

export function run(argv: string[]): ChildProcess {
  const [cmd, ...args] = argv;
  const child = spawn(cmd!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

export function killAll(): void {
  for (const child of live) child.kill('SIGKILL');
}
