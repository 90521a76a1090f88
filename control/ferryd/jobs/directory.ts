/**
 * The aggregation jobs this node's gateway serves, by chain and by
 * (tenant, name): what the HTTP and gRPC doors look jobs up in.
 */
import { DEFAULT_TENANT } from '../../chain/tenant.js';
import type { JobCoordinator } from './coordinator.js';

export class JobDirectory {
  private readonly byChain = new Map<number, JobCoordinator>();
  /** Uploads naming no job served here (counted under job ""). */
  unknownUploads = 0;

  lookup(name: string, tenant = DEFAULT_TENANT): JobCoordinator | undefined {
    for (const j of this.byChain.values()) if (j.spec.name === name && (j.spec.tenant || DEFAULT_TENANT) === tenant) return j;
    return undefined;
  }

  of(chainId: number): JobCoordinator | undefined {
    return this.byChain.get(chainId);
  }

  list(): JobCoordinator[] {
    return [...this.byChain.values()].sort((a, b) => a.spec.name.localeCompare(b.spec.name));
  }

  add(chainId: number, job: JobCoordinator): void {
    this.remove(chainId);
    this.byChain.set(chainId, job);
  }

  remove(chainId: number): boolean {
    const j = this.byChain.get(chainId);
    if (!j) return false;
    this.byChain.delete(chainId);
    j.close();
    return true;
  }

  closeAll(): void {
    for (const id of [...this.byChain.keys()]) this.remove(id);
  }
}
