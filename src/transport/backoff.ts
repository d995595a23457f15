/**
 * Capped exponential backoff with full jitter (AWS's "Exponential Backoff And Jitter"): the n-th
 * delay (n from 0) is uniform in [0, min(maxMs, initialMs × multiplier^n)). Full jitter spreads
 * the reconnects of many clients after a broker restart instead of synchronising them.
 */
export interface BackoffOptions {
  /** Ceiling of the first delay. Default 100 ms. */
  initialMs?: number;
  /** Cap on every delay. Default 10 s. */
  maxMs?: number;
  /** Growth of the ceiling per attempt. Default 2. */
  multiplier?: number;
  /** Source of uniform numbers in [0, 1); inject one for deterministic tests. Default `Math.random`. */
  random?: () => number;
}

/** The ceiling (before jitter) of the delay after `attempt` failures (attempt 0 = the first retry). */
export function backoffCeiling(attempt: number, options: BackoffOptions = {}): number {
  const initialMs = options.initialMs ?? 100;
  const maxMs = options.maxMs ?? 10_000;
  const multiplier = options.multiplier ?? 2;
  // Exponentiation overflows to Infinity for large attempts; the cap still applies.
  return Math.min(maxMs, initialMs * multiplier ** Math.max(0, attempt));
}

/** A jittered delay for `attempt` (see `backoffCeiling`). */
export function backoffDelay(attempt: number, options: BackoffOptions = {}): number {
  const random = options.random ?? Math.random;
  return Math.floor(random() * backoffCeiling(attempt, options));
}

/** Counts consecutive failures and hands out the next delay. */
export class Backoff {
  private failures = 0;
  private readonly options: BackoffOptions;

  constructor(options: BackoffOptions = {}) {
    this.options = options;
  }

  /** Consecutive failures recorded since the last `reset()`. */
  get attempts(): number {
    return this.failures;
  }

  /** Records a failure and returns how long to wait before the next attempt. */
  next(): number {
    return backoffDelay(this.failures++, this.options);
  }

  /** Call after a success. */
  reset(): void {
    this.failures = 0;
  }
}
