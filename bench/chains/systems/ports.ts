/**
 * The ports of a baseline: from its range (SystemOptions.portBase, up to
 * 200), those free when it starts, handed out in order.
 */
import { createServer } from 'node:net';

/** The most ports a system may take from portBase (system.ts). */
export const PORT_RANGE = 200;

/** Hands out the system's ports in order, skipping those found taken. */
export class Ports {
  private i = 0;
  constructor(
    private readonly base: number,
    private readonly free: readonly number[],
  ) {}
  take(): number {
    const port = this.free[this.i++];
    if (port === undefined)
      throw new Error(`only ${this.free.length} of the ${PORT_RANGE} ports from ${this.base} are free: serve fewer chains or instances at once, or give the system another range`);
    return port;
  }
}

/** Whether port can be listened on now on 127.0.0.1. */
export function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** The free ports of the range. Ports in the kernel's ephemeral range
 * (ip_local_port_range, 32768-60999 by default) may be some connection's
 * local port at any moment, so they are checked, not assumed. */
export async function freePorts(base: number): Promise<number[]> {
  const range = Array.from({ length: PORT_RANGE }, (_, i) => base + i);
  const ok = await Promise.all(range.map(canListen));
  return range.filter((_, i) => ok[i]);
}

