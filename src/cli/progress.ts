/**
 * Progress on stderr for long CLI runs: a line every 2 s once a run has lasted that long, and a
 * summary with the rate at the end of a long run (short runs stay silent).
 */
const INTERVAL_MS = 2_000;

export class Progress {
  readonly #verb: string;
  readonly #quiet: boolean;
  readonly #started = Date.now();
  #count = 0;
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(verb: string, quiet: boolean) {
    this.#verb = verb;
    this.#quiet = quiet;
    if (!quiet) {
      this.#timer = setInterval(() => this.#report(), INTERVAL_MS);
      // Progress must never keep the process alive.
      (this.#timer as { unref?: () => void }).unref?.();
    }
  }

  add(n: number): void {
    this.#count += n;
  }

  get count(): number {
    return this.#count;
  }

  finish(): void {
    if (this.#timer) clearInterval(this.#timer);
    if (!this.#quiet && Date.now() - this.#started >= INTERVAL_MS) this.#report();
  }

  #report(): void {
    const seconds = (Date.now() - this.#started) / 1000;
    const rate = seconds > 0 ? Math.round(this.#count / seconds) : 0;
    process.stderr.write(`${this.#verb} ${this.#count} records in ${seconds.toFixed(1)} s (${rate} records/s)\n`);
  }
}
