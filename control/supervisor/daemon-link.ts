/**
 * What the ferry daemon (control/controlplane/main.ts) tells the process
 * that supervises it, over the Node IPC channel the supervisor opens: that
 * it serves, and where it bound (so a restart binds the same ports, even
 * when port 0 was asked the first time). A daemon without that channel
 * (ferry up --foreground of old, systemd) writes $FERRY_HOME/state.json
 * itself instead.
 */
export interface DaemonReady {
  kind: 'ready';
  /** host:port as bound; '' where the daemon runs no such listener. */
  admin: string;
  ferryd: string;
  gateway: string;
  peer: string;
  /** Prometheus /metrics of the control plane and of the local ferryd. */
  metrics: string;
  ferrydMetrics: string;
  /** Data plane mode of the local node: ebpf | fallback | ''. */
  mode: string;
}

export function isDaemonReady(m: unknown): m is DaemonReady {
  const r = m as Partial<DaemonReady> | null;
  return typeof r === 'object' && r !== null && r.kind === 'ready' && typeof r.admin === 'string';
}

/** Under a supervisor: an IPC channel to it exists. */
export function supervised(): boolean {
  return typeof process.send === 'function' && process.connected;
}

export function reportReady(r: DaemonReady): void {
  process.send?.(r);
}

/** The daemon's own flags for where it listens, as `ferry up` passes them. */
export const LISTEN_FLAGS = {
  admin: '--admin',
  ferryd: '--ferryd',
  gateway: '--gateway',
  peer: '--peer',
  metrics: '--metrics',
  ferrydMetrics: '--ferryd-metrics',
} as const;

/** args with every listen flag the daemon reported set to where it bound,
 * so the next start comes back on the same addresses. */
export function pinListenFlags(args: readonly string[], ready: DaemonReady): string[] {
  const out: string[] = [];
  const flags = new Set<string>(Object.values(LISTEN_FLAGS));
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (flags.has(a)) i++;
    else if ([...flags].some((f) => a.startsWith(`${f}=`))) continue;
    else out.push(a);
  }
  for (const [key, flag] of Object.entries(LISTEN_FLAGS)) {
    const bound = ready[key as keyof typeof LISTEN_FLAGS];
    if (bound) out.push(flag, bound);
  }
  return out;
}
