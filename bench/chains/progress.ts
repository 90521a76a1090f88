/**
 * Progress lines on stderr for a long suite: where it is (system, phase,
 * chain, level), the time so far and an ETA from the planned seconds of
 * work done against those still to come.
 */
export class Progress {
  private readonly started = performance.now();
  private doneS = 0;

  constructor(
    private readonly plannedS: number,
    private readonly write: (line: string) => void,
  ) {}

  /** Report `what`, about to take about `plannedS` seconds of the plan. */
  step(what: string, plannedS: number): void {
    const elapsedS = (performance.now() - this.started) / 1000;
    // Measured pace (elapsed per planned second) once there is some, else the plan itself.
    const pace = this.doneS > 0 ? elapsedS / this.doneS : 1;
    const etaS = Math.max(0, (this.plannedS - this.doneS) * pace);
    this.write(`${what} · elapsed ${clock(elapsedS)} · ETA ${clock(etaS)}`);
    this.doneS += plannedS;
  }

  log(message: string): void {
    this.write(message);
  }
}

export function clock(seconds: number): string {
  const s = Math.round(seconds);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}
