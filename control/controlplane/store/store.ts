/**
 * Extension point: where the control plane keeps its state. The embedded
 * file store serves one control plane on one machine; an etcd store serves
 * several replicas. Keys are '/'-separated paths, values JSON.
 */
export interface Store {
  get<T>(key: string): Promise<T | undefined>;
  put<T>(key: string, value: T): Promise<void>;
  delete(key: string): Promise<boolean>;
  /** Entries whose key starts with prefix, sorted by key. */
  list<T>(prefix: string): Promise<{ key: string; value: T }[]>;
  /** What get and list return, without the copy: the stored value itself,
   * deeply frozen, shared by every reader until the next put of its key.
   * For reads that only look (the admin API's reads, metrics, the
   * autoscale loop): the copy get makes so a caller may change what it
   * got cost a third of a GetChain's CPU. */
  peek<T>(key: string): Promise<Readonly<T> | undefined>;
  peekList<T>(prefix: string): Promise<{ key: string; value: Readonly<T> }[]>;
  /** Atomically add delta to a counter and return the new value. */
  increment(key: string, delta?: number): Promise<number>;
  close(): Promise<void>;
}
