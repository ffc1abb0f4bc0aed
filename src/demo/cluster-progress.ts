/**
 * A progress bar for the demo's workload: redrawn in place on a terminal, a line per
 * quarter otherwise (logs and pipes should not fill with carriage returns).
 */

/** Redraws at most this often on a terminal: smooth to the eye, cheap for the event loop. */
const REDRAW_INTERVAL_MS = 100;
const BAR_WIDTH = 30;

export interface ProgressStream {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

export class ProgressBar {
  private done = 0;
  private phase = '';
  private lastDraw = 0;
  private lastQuarter = -1;
  private readonly startedAt = Date.now();

  constructor(
    private readonly stream: ProgressStream | null,
    private readonly total: number,
  ) {}

  setPhase(phase: string): void {
    this.phase = phase;
    this.draw(true);
  }

  tick(count = 1): void {
    this.done += count;
    this.draw(false);
  }

  get completed(): number {
    return this.done;
  }

  /** Draws the final state and ends the line. */
  finish(): void {
    this.draw(true);
    if (this.stream?.isTTY === true) this.stream.write('\n');
  }

  private draw(force: boolean): void {
    if (this.stream === null) return;
    const fraction = this.total === 0 ? 1 : Math.min(1, this.done / this.total);
    const elapsedS = (Date.now() - this.startedAt) / 1000;
    const rate = elapsedS > 0 ? this.done / elapsedS : 0;
    const line = `[${'#'.repeat(Math.round(fraction * BAR_WIDTH)).padEnd(BAR_WIDTH, '-')}] ${(fraction * 100).toFixed(0).padStart(3)}% ${this.done}/${this.total} ops ${rate.toFixed(0)} ops/s ${this.phase}`;
    if (this.stream.isTTY === true) {
      const now = Date.now();
      if (!force && now - this.lastDraw < REDRAW_INTERVAL_MS) return;
      this.lastDraw = now;
      this.stream.write(`\r${line}\u001b[K`);
      return;
    }
    const quarter = Math.floor(fraction * 4);
    if (quarter > this.lastQuarter) {
      this.lastQuarter = quarter;
      this.stream.write(`${line}\n`);
    }
  }
}
