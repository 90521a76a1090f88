/**
 * What the egress measures of each node it sends a stage's requests to:
 * requests sent, requests that came back (a reply, or the request moving on
 * from there) and how long each took from the moment it left here, and how
 * many were out on average (the time integral of the count, kept exactly
 * from the sends and returns). The balancer takes the tallies every tick (a
 * node is one target of the stage's policy). The count is set again from
 * the link's in-flight list at every take, so a request that never comes
 * back here (it ended on a third node) or was failed with its peer is not
 * counted out for ever.
 */

export interface NodeTally {
  sent: number;
  done: number;
  /** Sum of the round trips of the `done` requests. */
  latencySumMs: number;
  /** Requests out, on average since the previous take. */
  inFlight: number;
}

interface Open {
  sent: number;
  done: number;
  latencySumMs: number;
  /** Requests out now, and the integral of that count over time (ms). */
  count: number;
  area: number;
  /** When count last changed. */
  at: number;
}

/** One stage's tallies, by node, since the window began (the last take). */
interface StageTallies {
  from: number;
  nodes: Map<string, Open>;
}

const key = (chainId: number, stage: number) => `${chainId}/${stage}`;

export class EgressMeter {
  private readonly tallies = new Map<string, StageTallies>();

  constructor(private readonly now: () => number = Date.now) {}

  sent(chainId: number, stage: number, node: string): void {
    const t = this.open(chainId, stage, node);
    this.advance(t);
    t.sent++;
    t.count++;
  }

  done(chainId: number, stage: number, node: string, latencyMs: number): void {
    const t = this.open(chainId, stage, node);
    this.advance(t);
    t.done++;
    t.latencySumMs += Math.max(0, latencyMs);
    t.count = Math.max(0, t.count - 1);
  }

  /** The tallies per node since the previous take, which starts a new
   * window; outNow says how many the link has out to a node right now. */
  take(chainId: number, stage: number, outNow: (node: string) => number): Map<string, NodeTally> {
    const out = new Map<string, NodeTally>();
    const now = this.now();
    const st = this.stage(chainId, stage);
    for (const [node, t] of st.nodes) {
      this.advance(t);
      out.set(node, { sent: t.sent, done: t.done, latencySumMs: t.latencySumMs, inFlight: t.area / Math.max(1, now - st.from) });
      Object.assign(t, { sent: 0, done: 0, latencySumMs: 0, area: 0, count: outNow(node) });
    }
    st.from = now;
    return out;
  }

  forget(chainId: number): void {
    for (const k of [...this.tallies.keys()]) if (k.startsWith(`${chainId}/`)) this.tallies.delete(k);
  }

  private advance(t: Open): void {
    const now = this.now();
    t.area += t.count * Math.max(0, now - t.at);
    t.at = now;
  }

  private stage(chainId: number, stage: number): StageTallies {
    const k = key(chainId, stage);
    let st = this.tallies.get(k);
    if (!st) this.tallies.set(k, (st = { from: this.now(), nodes: new Map() }));
    return st;
  }

  private open(chainId: number, stage: number, node: string): Open {
    const nodes = this.stage(chainId, stage).nodes;
    let t = nodes.get(node);
    if (!t) nodes.set(node, (t = { sent: 0, done: 0, latencySumMs: 0, count: 0, area: 0, at: this.now() }));
    return t;
  }
}
