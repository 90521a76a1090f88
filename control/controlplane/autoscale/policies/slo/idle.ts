/**
 * Idle gaps of one stage: how long it has been without requests, and how
 * long a gap it is worth holding instances through. A gap that ends while
 * instances are held costs their instance-seconds; one that ends after
 * they are gone costs a cold start, which breaks the SLO when it takes
 * longer than the SLO allows. So instances are held for holdMs, or a
 * little longer than the longest gap this stage has had that ended within
 * maxHoldMs (the "short" gaps it keeps having); longer gaps are taken as
 * off periods, where being at zero pays.
 */
const REMEMBERED_GAPS = 20;
/** Hold this much longer than the longest short gap seen. */
const MARGIN = 1.25;

export class IdleGaps {
  private idleSince: number | undefined;
  private readonly gaps: number[] = [];

  constructor(
    private readonly holdMs: number,
    private readonly maxHoldMs: number,
  ) {}

  /** Records whether the stage had work at this sample. */
  update(nowMs: number, busy: boolean): void {
    if (busy) {
      if (this.idleSince !== undefined) {
        this.gaps.push(nowMs - this.idleSince);
        if (this.gaps.length > REMEMBERED_GAPS) this.gaps.shift();
      }
      this.idleSince = undefined;
    } else if (this.idleSince === undefined) {
      this.idleSince = nowMs;
    }
  }

  /** How long the stage has been idle (0 when busy). */
  idleForMs(nowMs: number): number {
    return this.idleSince === undefined ? 0 : nowMs - this.idleSince;
  }

  /** How long to hold instances through a gap. */
  holdForMs(): number {
    const short = this.gaps.filter((g) => g <= this.maxHoldMs);
    return Math.min(this.maxHoldMs, Math.max(this.holdMs, ...short.map((g) => g * MARGIN)));
  }
}
