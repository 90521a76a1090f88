/**
 * How many request bodies each client has still arriving. A body takes a
 * pool buffer as soon as its headers are in (it streams straight into
 * shared memory), so one client that opens many connections and trickles
 * bodies slowly could otherwise hold the chain's pool hostage; past its
 * share a client is told to slow down (429) and the others are served.
 */
export const DEFAULT_BODIES_PER_CLIENT = 16;

export class ClientBodies {
  private readonly arriving = new Map<string, number>();

  constructor(private readonly perClient = DEFAULT_BODIES_PER_CLIENT) {}

  get limit(): number {
    return this.perClient;
  }

  /** A release function when the client may start one more body, or
   * undefined when it already has its share arriving. */
  admit(client: string): (() => void) | undefined {
    const n = this.arriving.get(client) ?? 0;
    if (n >= this.perClient) return undefined;
    this.arriving.set(client, n + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.arriving.get(client) ?? 1) - 1;
      if (left > 0) this.arriving.set(client, left);
      else this.arriving.delete(client);
    };
  }

  /** Bodies the client has arriving now. */
  count(client: string): number {
    return this.arriving.get(client) ?? 0;
  }
}
