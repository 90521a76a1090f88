/**
 * The cluster of a live run: a real control plane with its local ferryd in
 * this process (test/helpers/control-plane.ts, as the tests bring one up:
 * its own temp data dir, its own pin dir under /sys/fs/bpf, ports picked
 * by the kernel on 127.0.0.1, the test CA), so it never meets a ferry
 * started by `npm start` (7700/7701/8080). Torn down when the run ends,
 * fails, or is interrupted (SIGINT, SIGTERM): a run left behind would keep
 * instances and BPF pins.
 */
import { startTestControlPlane, type TestControlPlane } from '../../../test/helpers/control-plane.js';
import type { LiveOptions } from '../options.js';

export async function withCluster<T>(mode: LiveOptions['mode'], log: (m: string) => void, run: (t: TestControlPlane) => Promise<T>): Promise<T> {
  const t = await startTestControlPlane({ test: 'bench-autoscale-live', ...(mode === 'auto' ? {} : { mode }) });
  let closing: Promise<void> | undefined;
  const close = () => (closing ??= t.close());
  const onSignal = (sig: NodeJS.Signals) => {
    log(`${sig}: tearing the cluster down`);
    void close().finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await run(t);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await close();
  }
}
