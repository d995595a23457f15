/**
 * What both ways of `tributary consume` (assign mode and `--group`) share: records printed as JSON
 * lines with stdout's backpressure respected, the `--idle-ms` timer, and Ctrl-C/SIGTERM handling.
 */
import { formatRecordLine } from "./json-lines.ts";

type PrintableRecord = Parameters<typeof formatRecordLine>[0];

/** Writes one JSON line for `record` to stdout; waits for stdout to drain when its buffer is full. */
export async function printRecord(record: PrintableRecord, binary: boolean): Promise<void> {
  if (!process.stdout.write(formatRecordLine(record, binary) + "\n")) {
    await new Promise((resolve) => process.stdout.once("drain", resolve));
  }
}

/** `--idle-ms`: calls `onIdle` once `ms` pass without a `restart()`; does nothing without `ms`. */
export class IdleTimer {
  readonly #ms: number | undefined;
  readonly #onIdle: () => void;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(ms: number | undefined, onIdle: () => void) {
    this.#ms = ms;
    this.#onIdle = onIdle;
  }

  restart(): void {
    this.cancel();
    if (this.#ms !== undefined) this.#timer = setTimeout(this.#onIdle, this.#ms);
  }

  cancel(): void {
    clearTimeout(this.#timer);
  }
}

/** Calls `stop` on SIGINT or SIGTERM until the returned function removes the handlers. */
export function onInterrupt(stop: () => void): () => void {
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  return () => {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
  };
}
