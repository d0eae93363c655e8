/**
 * A progress bar for long jobs: count/total, rate, ETA and free-form fields (loss, ...). On a TTY it redraws one
 * line; otherwise (CI, log files) it prints a plain line at most every `logEveryMs` so logs stay readable.
 *
 * Why hand-written rather than cli-progress: most of our long jobs run with stderr not a terminal (Kubernetes
 * pods and Slurm arrays from deploy/, CI, `nohup … 2> log`), where the output that matters is one complete line
 * per update, every 10 s by default; cli-progress is built around redrawing a terminal line, and its non-TTY
 * output is an opt-in schedule on top of that. A resumed run must also count its rate and ETA from where it
 * restarted (`start`), a diffusion step of several seconds reads better as "s/step" than as 0.2 step/s, and the
 * bar carries the training loss. Each of those would be a custom format or payload on cli-progress, leaving
 * little of it in use, so these ~100 lines with no dependency stay.
 */

export interface ProgressOptions {
  /** Word for the counted unit, e.g. 'step' or 'img'. */
  unit?: string;
  /** Stream to draw on (stderr by default). */
  stream?: NodeJS.WriteStream;
  /** Minimum interval between non-TTY lines. */
  logEveryMs?: number;
  /** Count already done when the bar starts (a resumed run): excluded from the rate. */
  start?: number;
  /** Silences all output (tests). */
  quiet?: boolean;
}

/** Formats seconds as h:mm:ss or m:ss. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

/** A redrawing progress line; call `tick(n, fields)` as work completes and `done()` at the end. */
export class Progress {
  private readonly t0 = Date.now();
  private lastDraw = 0;
  private current: number;
  private readonly startCount: number;
  private readonly stream: NodeJS.WriteStream;
  private readonly tty: boolean;

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly opts: ProgressOptions = {},
  ) {
    this.stream = opts.stream ?? process.stderr;
    this.tty = Boolean(this.stream.isTTY);
    this.startCount = opts.start ?? 0;
    this.current = this.startCount;
  }

  /** Items per second since the bar started (excluding the resumed part). */
  rate(): number {
    const secs = (Date.now() - this.t0) / 1000;
    return secs > 0 ? (this.current - this.startCount) / secs : 0;
  }

  /** Advances to `count` (absolute) and redraws, with optional fields such as `{ loss: 0.012 }`. */
  update(count: number, fields: Record<string, string | number> = {}): void {
    this.current = count;
    const now = Date.now();
    const interval = this.tty ? 100 : (this.opts.logEveryMs ?? 10_000);
    if (now - this.lastDraw < interval && count < this.total) return;
    this.lastDraw = now;
    this.draw(fields);
  }

  /** Advances by `n`. */
  tick(n = 1, fields: Record<string, string | number> = {}): void {
    this.update(this.current + n, fields);
  }

  /** Draws the final state and ends the line. */
  done(fields: Record<string, string | number> = {}): void {
    this.lastDraw = 0;
    this.draw(fields);
    if (this.tty && !this.opts.quiet) this.stream.write('\n');
  }

  /** The line as it would be drawn (exposed for tests). */
  render(fields: Record<string, string | number> = {}): string {
    const unit = this.opts.unit ?? 'it';
    const rate = this.rate();
    const eta = rate > 0 ? (this.total - this.current) / rate : NaN;
    const pct = this.total > 0 ? Math.min(100, (100 * this.current) / this.total) : 100;
    const width = 20;
    const filled = Math.round((pct / 100) * width);
    const bar = `${'#'.repeat(filled)}${'.'.repeat(width - filled)}`;
    const extra = Object.entries(fields)
      .map(([k, v]) => `${k} ${typeof v === 'number' ? formatNumber(v) : v}`)
      .join(' | ');
    const rateText = rate >= 1 || rate === 0 ? `${rate.toFixed(2)} ${unit}/s` : `${(1 / rate).toFixed(2)} s/${unit}`;
    return `${this.label} [${bar}] ${this.current}/${this.total} ${pct.toFixed(0)}% | ${rateText} | ETA ${formatDuration(eta)}${extra ? ` | ${extra}` : ''}`;
  }

  private draw(fields: Record<string, string | number>): void {
    if (this.opts.quiet) return;
    const line = this.render(fields);
    this.stream.write(this.tty ? `\r${line}\x1b[K` : `${line}\n`);
  }
}

function formatNumber(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  return a >= 1e4 || a < 1e-3 ? v.toExponential(3) : v.toPrecision(4);
}
