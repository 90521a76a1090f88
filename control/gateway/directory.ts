/**
 * What the HTTP gateway needs to serve a chain on this node; ferryd keeps
 * one entry per programmed chain (ProgramChain with a gateway config).
 */
import type { Injector } from './injector.js';
import type { GatewayMeter } from './meter.js';

/** Why a chain cannot take requests here right now, and when to retry. */
export interface Unavailable {
  reason: string;
  retryAfterMs: number;
  /** Only because instances are still loading their function: worth a wait. */
  starting: boolean;
}

export interface ServedChain {
  name: string;
  /** Its tenant ("default" when the pool named none). */
  tenant: string;
  chainId: number;
  entryStage: number;
  maxBodyBytes: number;
  timeoutMs: number;
  /** How long a client may take to send a whole body. */
  bodyTimeoutMs: number;
  injector: Injector;
  /** Where the gateway counts what it answered (absent: not counted). */
  meter?: GatewayMeter;
  /** Undefined when every stage can take requests (absent: always can,
   * as for a directory that does not supervise instances). */
  unavailable?(): Unavailable | undefined;
  /** Resolves once it can (undefined), or with why it cannot for another
   * reason than starting, or after timeoutMs. */
  whenReady?(timeoutMs: number): Promise<Unavailable | undefined>;
}

export interface ChainDirectory {
  /** tenant: "default" when not given. */
  lookup(name: string, tenant?: string): ServedChain | undefined;
  /** Every chain served here, or one tenant's. */
  list(tenant?: string): ServedChain[];
  /** A chain this gateway served before a restart and expects back soon
   * (the gateway answers 503 restoring for it, not 404). */
  restoring?(name: string, tenant?: string): boolean;
}
