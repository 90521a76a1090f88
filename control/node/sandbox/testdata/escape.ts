/**
 * A hostile `runtime: node` function (test fixture): each request names one
 * way out of the sandbox, the function tries it for real and replies with
 * what happened, so the test can assert that every way fails. escape.c is
 * the same for `runtime: native`.
 *
 * Input: words separated by spaces or newlines, "PROBE ARG...":
 *   open SECRET PATH...  open each path, read up to 64 MiB, look for SECRET
 *   list DIR             list a directory
 *   env                  names of this process's environment variables
 *   status               Uid, Gid, Groups, Cap*, NoNewPrivs of /proc/self/status
 *   procs                pids this process can see in /proc
 *   kill PID             SIGKILL to PID
 *   fork N               start up to N child processes (sleep), count them
 *   alloc MB             allocate and touch MB MiB, keep it
 *   exec PATH            run PATH (a setuid-root `id`), reply its output
 * Output: JSON {"probe", "escaped": did it work, ...details}.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';
import type { FerryContext } from '../../../runtime/sdk.js';

const MiB = 1 << 20;
const kept: Buffer[] = [];

function code(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? String(err);
}

function openAndSearch(secret: string, path: string): object {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    return { path, opened: false, error: code(err) };
  }
  // 1 MiB at a time, each chunk after the tail of the last (a secret may
  // straddle two).
  const keep = Buffer.byteLength(secret);
  const buf = Buffer.alloc(MiB + keep);
  let read = 0;
  let tail = 0;
  let found = false;
  try {
    for (let r; read < 64 * MiB && (r = readSync(fd, buf, tail, MiB, read)) > 0; ) {
      read += r;
      if (secret && buf.subarray(0, tail + r).includes(secret)) found = true;
      buf.copy(buf, 0, tail + r - Math.min(keep, tail + r), tail + r);
      tail = Math.min(keep, tail + r);
    }
  } catch (err) {
    return { path, opened: true, read, found, error: code(err) };
  } finally {
    closeSync(fd);
  }
  return { path, opened: true, read, found };
}

async function forkMany(n: number): Promise<object> {
  const children: ChildProcess[] = [];
  let error = '';
  for (let i = 0; i < n; i++) {
    const c = spawn('sleep', ['60'], { stdio: 'ignore' });
    c.on('error', (err) => (error ||= code(err)));
    if (c.pid === undefined) {
      await new Promise((r) => setImmediate(r));
      break;
    }
    children.push(c);
  }
  for (const c of children) c.kill('SIGKILL');
  return { escaped: children.length >= n, started: children.length, error };
}

const probes: Record<string, (args: string[]) => object | Promise<object>> = {
  open: ([secret = '', ...paths]) => {
    const results = paths.map((p) => openAndSearch(secret, p)) as { opened: boolean }[];
    return { escaped: results.some((r) => r.opened), results };
  },
  list: ([dir = '/']) => {
    try {
      const entries = readdirSync(dir);
      return { escaped: entries.length > 0, entries };
    } catch (err) {
      return { escaped: false, error: code(err) };
    }
  },
  env: () => ({ escaped: false, names: Object.keys(process.env).sort() }),
  status: () => ({
    escaped: false,
    status: Object.fromEntries(
      readFileSync('/proc/self/status', 'utf8')
        .split('\n')
        .map((l) => l.split(':\t'))
        .filter(([k]) => /^(Uid|Gid|Groups|Cap\w+|NoNewPrivs)$/.test(k ?? '')),
    ),
  }),
  procs: () => ({ escaped: false, pids: readdirSync('/proc').filter((e) => /^\d+$/.test(e)).map(Number) }),
  kill: ([pid]) => {
    try {
      process.kill(Number(pid), 'SIGKILL');
      return { escaped: true };
    } catch (err) {
      return { escaped: false, error: code(err) };
    }
  },
  fork: ([n]) => forkMany(Number(n)),
  alloc: ([mb]) => {
    for (let i = 0; i < Number(mb); i++) kept.push(Buffer.alloc(MiB, 1));
    return { escaped: true, allocatedMb: Number(mb) };
  },
  exec: ([path = '']) => {
    try {
      const out = execFileSync(path, ['-u'], { encoding: 'utf8' }).trim();
      return { escaped: out === '0', output: out };
    } catch (err) {
      return { escaped: false, error: code(err) };
    }
  },
};

export default async function escape(ctx: FerryContext): Promise<object> {
  const [probe = '', ...args] = ctx.text().split(/\s+/).filter(Boolean);
  const run = probes[probe];
  if (!run) throw new Error(`unknown probe "${probe}" (one of ${Object.keys(probes).join(', ')})`);
  return { probe, ...(await run(args)) };
}
