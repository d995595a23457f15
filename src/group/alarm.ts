/** Bounded waits of the group loops. */

/** A sleep that the rest of a loop can cut short: a stop, a rejoin request, a heartbeat due now. */
export class Alarm {
  private wake: (() => void) | undefined;

  /** Resolves after `ms`, or at the next `ring()`, whichever comes first. */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        if (this.wake === done) this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }

  /** Ends the current sleep now (nothing happens when none is running). */
  ring(): void {
    this.wake?.();
  }
}

/** Waits for `promise`, for `ms` at most: true when it resolved, false when the time ran out (a rejection is thrown). */
export async function resolvesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([promise.then(() => true), late]);
  } finally {
    clearTimeout(timer);
  }
}
