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
  /** Atomically add delta to a counter and return the new value. */
  increment(key: string, delta?: number): Promise<number>;
  close(): Promise<void>;
}
