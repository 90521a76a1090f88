/**
 * What the HTTP gateway needs to serve a chain on this node; ferryd keeps
 * one entry per programmed chain (ProgramChain with a gateway config).
 */
import type { Injector } from './injector.js';

export interface ServedChain {
  name: string;
  /** Its tenant ("default" when the pool named none). */
  tenant: string;
  chainId: number;
  entryStage: number;
  maxBodyBytes: number;
  timeoutMs: number;
  injector: Injector;
}

export interface ChainDirectory {
  /** tenant: "default" when not given. */
  lookup(name: string, tenant?: string): ServedChain | undefined;
  /** Every chain served here, or one tenant's. */
  list(tenant?: string): ServedChain[];
}
