/**
 * The demo's progress line on stderr: which round, how many of its updates
 * are in, the last accuracy. Rewritten in place on a terminal; on a pipe or
 * a CI log nothing (no carriage returns in a log): the per-round lines on
 * stdout are the progress there.
 */
export class RoundProgress {
  private updates = new Map<number, number>();
  private lastAccuracy: number | undefined;
  private readonly tty: boolean;
  private lastDrawMs = 0;

  constructor(
    private readonly rounds: number,
    private readonly clients: number,
    private readonly out: NodeJS.WriteStream = process.stderr,
  ) {
    this.tty = Boolean(out.isTTY);
  }

  /** A client's update of round r was answered. */
  update(round: number): void {
    this.updates.set(round, (this.updates.get(round) ?? 0) + 1);
    // a terminal line at most every 50 ms: 20 clients answer in a burst
    if (this.tty && performance.now() - this.lastDrawMs > 50) this.draw(round);
  }

  /** Model r was sealed and scored. */
  model(round: number, accuracy: number): void {
    this.lastAccuracy = accuracy;
    this.updates.delete(round - 1);
    if (this.tty) this.draw(round);
  }

  /** Clear the line before something else is printed. */
  clear(): void {
    if (this.tty) this.out.write('\r\x1b[2K');
  }

  private draw(round: number): void {
    this.lastDrawMs = performance.now();
    const open = Math.min(round, this.rounds - 1);
    const done = Math.min(round, this.rounds);
    const width = 30;
    const filled = Math.round((done / this.rounds) * width);
    const bar = '#'.repeat(filled) + '.'.repeat(width - filled);
    const acc = this.lastAccuracy === undefined ? '' : `  accuracy ${this.lastAccuracy.toFixed(3)}`;
    const ups = done < this.rounds ? `  round ${open}: ${this.updates.get(open) ?? 0}/${this.clients} updates` : '';
    this.out.write(`\r\x1b[2K[${bar}] ${done}/${this.rounds} rounds${ups}${acc}`);
  }
}
