/**
 * The pool bytes each tenant may have in service on this node, over all its
 * chains' pools: a chain cannot grow past its own quota, and a tenant's
 * chains together cannot grow past the tenant's.
 */
export class TenantBudget {
  private readonly used = new Map<string, number>();

  constructor(private readonly limitBytes: number) {}

  get limit(): number {
    return this.limitBytes;
  }

  inUse(tenant: string): number {
    return this.used.get(tenant) ?? 0;
  }

  /** Bytes the tenant may still take. */
  room(tenant: string): number {
    return Math.max(0, this.limitBytes - this.inUse(tenant));
  }

  /** Take bytes if they fit; false (and nothing taken) when they do not. */
  take(tenant: string, bytes: number): boolean {
    if (bytes > this.room(tenant)) return false;
    this.used.set(tenant, this.inUse(tenant) + bytes);
    return true;
  }

  give(tenant: string, bytes: number): void {
    const left = this.inUse(tenant) - bytes;
    if (left > 0) this.used.set(tenant, left);
    else this.used.delete(tenant);
  }
}
