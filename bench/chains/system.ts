/**
 * A system under test for the chain suites (issue #10): ferry (eBPF or
 * fallback) or one of the baselines (http, knative, grpc), brought up on
 * this machine serving the same chain YAML with the same handler modules.
 *
 * Every system answers HTTP/1.1 at `url(chain)` (POST, the chain's request
 * body, the last stage's output back), so the same load generators drive
 * them all; `pids()` names every process the system runs (daemons,
 * proxies, function processes), which the runner samples from /proc.
 */

export type SystemName = 'ferry-ebpf' | 'ferry-fallback' | 'http' | 'knative' | 'grpc';

/** A chain to serve: its chain.yaml (handlers resolve relative to it). */
export interface ChainUnderTest {
  /** metadata.name in the YAML. */
  name: string;
  /** Absolute path of chain.yaml. */
  file: string;
}

export interface SystemOptions {
  /** First of the TCP ports the system may use on 127.0.0.1 (it may use
   * up to 200 from here); suites give each system its own range. */
  portBase: number;
  /** A directory of its own for state, sockets, logs. */
  workDir: string;
  /** Progress lines (stderr). */
  log: (message: string) => void;
}

export interface SystemUnderTest {
  readonly name: SystemName;
  /** Bring it up serving chains; resolves once every chain answered one
   * request of its own sample set with 200. */
  up(chains: readonly ChainUnderTest[], opts: SystemOptions): Promise<RunningSystem>;
}

export interface RunningSystem {
  readonly name: SystemName;
  /** Where to POST a chain's requests. */
  url(chain: string): string;
  /** Every process of the system now (pids change when instances restart). */
  pids(): number[];
  /** Stop every process and free every port, pin and file it took. */
  down(): Promise<void>;
}
