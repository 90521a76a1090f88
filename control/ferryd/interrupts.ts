/**
 * Who must hear that an instance exit interrupted requests. When an
 * instance dies, the buffers it held name the requests it was serving
 * (their tags); whoever injected them (the gateway's Injector) can fail
 * them at once instead of waiting for their timeout.
 */
import type { Logger } from '../log.js';

export interface InterruptSink {
  /** tags: low 32 bits of the interrupted request ids. */
  failInterrupted(tags: number[], reason: string): void;
}

export class InterruptSinks {
  private readonly byChain = new Map<number, Set<InterruptSink>>();

  constructor(private readonly log: Logger) {}

  /** Returns the function that removes the sink again. */
  add(chainId: number, sink: InterruptSink): () => void {
    let set = this.byChain.get(chainId);
    if (!set) this.byChain.set(chainId, (set = new Set()));
    set.add(sink);
    return () => {
      set.delete(sink);
      if (set.size === 0 && this.byChain.get(chainId) === set) this.byChain.delete(chainId);
    };
  }

  /** Tells every sink of the chain; one failing sink does not stop the others. */
  fail(chainId: number, tags: number[], reason: string): void {
    if (tags.length === 0) return;
    for (const sink of this.byChain.get(chainId) ?? []) {
      try {
        sink.failInterrupted(tags, reason);
      } catch (err) {
        this.log.warn('interrupt sink failed', { chain: chainId, error: (err as Error).message });
      }
    }
  }
}
