/** What the numbers were measured on, including what explains them. */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import type { Pinning } from './options.js';
import { placement } from './procs.js';

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

export interface MachineInfo {
  cpus: number;
  cpuModel: string;
  kernel: string;
  node: string;
  /** Under a hypervisor a cross-CPU wake-up is an IPI plus a VM exit, and
   * with guest halt-polling off an idle vCPU must be woken by the host. */
  hypervisor: boolean;
  cpuidleDriver?: string;
  guestHaltPollNs?: number;
  pinning: { mode: Pinning; pingerCpu: number | null; echoCpu: number | null; how: string };
  /** 1/5/15-minute load averages when the report was made: other work on
   * the machine during the run shows up here (and in the p99s). */
  loadAverage: number[];
}

export function machineInfo(pin: Pinning): MachineInfo {
  const cpus = os.cpus();
  const p = placement(pin);
  const haltPoll = read('/sys/module/haltpoll/parameters/guest_halt_poll_ns');
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? 'unknown',
    kernel: os.release(),
    node: process.version,
    hypervisor: /\bhypervisor\b/.test(read('/proc/cpuinfo') ?? ''),
    ...(read('/sys/devices/system/cpu/cpuidle/current_driver') ? { cpuidleDriver: read('/sys/devices/system/cpu/cpuidle/current_driver') } : {}),
    ...(haltPoll !== undefined ? { guestHaltPollNs: Number(haltPoll) } : {}),
    pinning: {
      mode: pin,
      pingerCpu: p.pinger ?? null,
      echoCpu: p.echo ?? null,
      how: pin === 'none' ? 'not pinned' : 'taskset -c before exec, for both processes of every pair',
    },
    loadAverage: os.loadavg().map((x) => Math.round(x * 100) / 100),
  };
}
