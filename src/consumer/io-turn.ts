/**
 * Lets the event loop read sockets between handler calls. A consumer's readers run handler after
 * handler through promise continuations (microtasks), which never give the event loop a turn: while
 * a dozen fetched batches are handled, the next Fetch response sits unread in the kernel, the TCP
 * window fills, and the broker stops sending. Fetching and handling then take turns instead of
 * overlapping (measured: 11 Fetches of 12 MiB, each 8–46 ms, strictly after the handling of the one
 * before). Taking a macrotask turn once a few milliseconds of work have gone by lets the response
 * stream in meanwhile, at a cost of microseconds per turn.
 */

/** Busy time after which a reader gives the event loop a turn. */
const BUSY_BUDGET_MS = 2;

// setImmediate (Node, Bun, Deno) runs right after the event loop's I/O poll; a MessageChannel
// message is the same kind of turn where it is missing (workerd, browsers); setTimeout(0) last
// (clamped to ~1 ms after nested use in some runtimes).
const nextTurn: (resume: () => void) => void = typeof globalThis.setImmediate === "function"
  ? (resume) => void globalThis.setImmediate(resume)
  : typeof globalThis.MessageChannel === "function"
    ? messageChannelTurn()
    : (resume) => void setTimeout(resume, 0);

function messageChannelTurn(): (resume: () => void) => void {
  const channel = new MessageChannel();
  const waiting: Array<() => void> = [];
  channel.port1.onmessage = () => waiting.shift()?.();
  // The ports must not keep a Node-like process alive on their own.
  (channel.port1 as { unref?: () => void }).unref?.();
  return (resume) => {
    waiting.push(resume);
    channel.port2.postMessage(0);
  };
}

let lastTurn = 0;

/**
 * A promise to await before the next handler call when this thread has been busy for longer than
 * the budget since its last event-loop turn; otherwise `undefined` (go on at once).
 */
export function ioTurn(): Promise<void> | undefined {
  const now = performance.now();
  if (now - lastTurn < BUSY_BUDGET_MS) return undefined;
  return new Promise<void>((resume) => nextTurn(() => {
    lastTurn = performance.now();
    resume();
  }));
}
