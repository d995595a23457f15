/**
 * A process of its own for each client of a broker bench, kept for a whole section, so that no
 * client runs in a process another client has used (bench/RESULTS.md, thirteenth session: in one
 * shared process the clients slowed each other down by a third to a half) and none is timed cold
 * (fourteenth session: a client's first runs in a new process are its slowest, by up to 2×).
 *
 * The parent starts the bench script again (`new Resident`) with BENCH_RESIDENT set; that child
 * calls `serveJobs` and runs the jobs the parent sends over the IPC channel, one at a time,
 * answering each with its result or its error. The clients take turns: while one is timed, the
 * others wait idle in their own processes.
 */
import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";

/** Set in a resident child: the role its parent gave it (which client, for the bench script). */
export const RESIDENT_ROLE = process.env.BENCH_RESIDENT;

type Reply = { id: number; result: unknown } | { id: number; error: string };

export class Resident {
  private readonly child: ChildProcess;
  private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  private serial = 0;
  private exited: Error | undefined;

  /** Forks `script` (a bench script that calls `serveJobs` when RESIDENT_ROLE is set) for `role`. */
  constructor(role: string, script: URL) {
    this.child = fork(fileURLToPath(script), [], {
      execArgv: process.execArgv,
      env: { ...process.env, BENCH_RESIDENT: role },
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    this.child.on("message", (reply: Reply) => {
      const waiter = this.pending.get(reply.id);
      if (!waiter) return;
      this.pending.delete(reply.id);
      if ("error" in reply) waiter.reject(new Error(`${role}: ${reply.error}`));
      else waiter.resolve(reply.result);
    });
    this.child.once("exit", (code, signal) => {
      this.exited = new Error(`${role}: its process exited (${signal ?? code})`);
      for (const waiter of this.pending.values()) waiter.reject(this.exited);
      this.pending.clear();
    });
  }

  /** Runs `job` in the child; resolves with what its handler returned. */
  request<T>(job: unknown): Promise<T> {
    if (this.exited) return Promise.reject(this.exited);
    const id = this.serial++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.child.send({ id, job });
    });
  }

  /** Ends the child: it finishes the job it runs (if any), runs its `close`, and exits. */
  async close(): Promise<void> {
    if (this.exited) return;
    const exit = new Promise<void>((resolve) => this.child.once("exit", () => resolve()));
    this.child.disconnect();
    await exit;
  }
}

/**
 * In a resident child: runs each job the parent sends with `handle`, one at a time and in order,
 * and replies with its result (sent as JSON) or its error. When the parent disconnects,
 * runs `close` and exits.
 */
export function serveJobs(handle: (job: unknown) => Promise<unknown>, close: () => Promise<void> = async () => {}): void {
  let queue: Promise<unknown> = Promise.resolve();
  process.on("message", ({ id, job }: { id: number; job: unknown }) => {
    queue = queue.then(async () => {
      let reply: Reply;
      try {
        reply = { id, result: await handle(job) };
      } catch (error) {
        reply = { id, error: error instanceof Error ? (error.stack ?? error.message) : String(error) };
      }
      process.send!(reply);
    });
  });
  process.once("disconnect", () => {
    void queue.then(close).finally(() => process.exit(process.exitCode ?? 0));
  });
}

/** Warm-up runs: at least this many, … */
const WARM_MIN = 2;
/** … at most this many, … */
const WARM_MAX = 6;
/** … until one takes within this fraction of the one before. */
const WARM_STEADY = 0.1;

/**
 * Runs `once` (an untimed warm-up of what will be timed, returning its seconds) until the client
 * `label` is steady: until a run's time is within 10 % of the previous run's, at least twice and
 * at most six times. Logs the times.
 */
export async function warmUntilSteady(label: string, once: () => Promise<number>): Promise<void> {
  const times: number[] = [];
  while (times.length < WARM_MAX) {
    times.push(await once());
    const n = times.length;
    if (n >= WARM_MIN && Math.abs(times[n - 1]! - times[n - 2]!) <= WARM_STEADY * times[n - 2]!) break;
  }
  console.log(`  warm-up: ${label} ${times.map((s) => s.toFixed(2)).join(" ")} s`);
}
