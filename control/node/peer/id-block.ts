/**
 * The block of instance ids the control plane reserved for this node's own
 * endpoints (SetPeers infra_id_base/count). They share the sockhash with
 * every instance in the cluster, so ferryd may use no id outside it.
 */
export class IdBlock {
  private readonly free: number[] = [];
  private readonly used = new Set<number>();

  constructor(
    readonly base: number,
    readonly count: number,
    maxId: number,
  ) {
    if (!Number.isInteger(base) || !Number.isInteger(count) || base < 1 || count < 0 || base + count - 1 > maxId)
      throw new RangeError(`infra id block ${base}..${base + count - 1} is outside 1..${maxId}`);
    // Lowest first, so ids are predictable in logs and tests.
    for (let id = base + count - 1; id >= base; id--) this.free.push(id);
  }

  take(what: string): number {
    const id = this.free.pop();
    if (id === undefined)
      throw new Error(`no infra instance id left for ${what}: all ${this.count} of ${this.base}..${this.base + this.count - 1} are in use (SetPeers infra_id_count)`);
    this.used.add(id);
    return id;
  }

  give(id: number): void {
    if (this.used.delete(id)) this.free.push(id);
  }

  get inUse(): number {
    return this.used.size;
  }

  same(base: number, count: number): boolean {
    return base === this.base && count === this.count;
  }
}
