/**
 * What the HTTP gateway needs to serve a chain on this node; ferryd keeps
 * one entry per programmed chain (ProgramChain with a gateway config).
 */
import type { Injector } from './injector.js';

export interface ServedChain {
  name: string;
  chainId: number;
  entryStage: number;
  maxBodyBytes: number;
  timeoutMs: number;
  injector: Injector;
}

export interface ChainDirectory {
  lookup(name: string): ServedChain | undefined;
  list(): ServedChain[];
  /** A chain this gateway served before a restart and expects back soon
   * (the gateway answers 503 restoring for it, not 404). */
  restoring?(name: string): boolean;
}
