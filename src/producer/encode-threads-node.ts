/**
 * Node's batch-encoding thread (see src/producer/encode-threads.ts): one worker thread per process,
 * with a core instance of its own, shared by every producer. It starts with the first batch, keeps
 * the process alive only while it has batches to encode, and when it dies the batches it held are
 * rejected (their producers encode them themselves) and the next batch starts a new thread.
 */
import type * as NodeWorkerThreads from "node:worker_threads";
import { TributaryError } from "../errors.ts";
import type { RecordBatchLayout } from "../records/encode.ts";
import { BATCH_TAIL_AT } from "../records/stamp.ts";
import type { BatchEncodeThreads, EncodedOffThread } from "./encode-threads.ts";

export type NodeWorkerThreadsModule = Pick<typeof NodeWorkerThreads, "Worker">;

type Job = RecordBatchLayout & { id: number };
type Answer = { id: number; bytes: Uint8Array; tailCrc: number } | { id: number; error: string };

/**
 * The thread's program. It runs from its source text (`String(encodeThreadMain)`, evaluated by
 * the worker), so it must not use anything from this module's scope: only its own code, `require`
 * and `workerData` (the core's bytes, already checked by the owner's loader, and `BATCH_TAIL_AT`).
 */
function encodeThreadMain(): void {
  const { parentPort, workerData } = require("node:worker_threads") as typeof NodeWorkerThreads;
  const core = new WebAssembly.Instance(new WebAssembly.Module(workerData.wasm as Uint8Array<ArrayBuffer>), {}).exports as unknown as {
    memory: WebAssembly.Memory;
    __stack_pointer: WebAssembly.Global;
    tributary_alloc(len: number): number;
    tributary_free(ptr: number, len: number): void;
    tributary_crc32c(ptr: number, len: number): number;
    tributary_encode_batch(params: number, records: number, count: number, headers: number, headerCount: number, data: number, dataLength: number): number;
  };
  const tailAt = workerData.tailAt as number;
  const restingStackPointer = core.__stack_pointer.value as number;
  let scratch = 0;
  let scratchLength = 0;
  parentPort!.on("message", (job: Job) => {
    try {
      const length = job.bytes.byteLength;
      if (length > scratchLength) {
        if (scratch !== 0) core.tributary_free(scratch, scratchLength);
        scratchLength = Math.max(length, 2 * scratchLength, 1 << 16);
        scratch = core.tributary_alloc(scratchLength);
        if (scratch === 0) {
          scratchLength = 0;
          throw new Error(`the WebAssembly core could not allocate ${length} bytes`);
        }
      }
      new Uint8Array(core.memory.buffer).set(job.bytes, scratch);
      const resultAt = core.tributary_encode_batch(
        scratch, scratch + job.recordsAt, job.count, scratch + job.headersAt, job.headerCount, scratch + job.dataAt, job.dataLength);
      const [status, at, batchLength] = new Float64Array(core.memory.buffer, resultAt, 3) as unknown as [number, number, number];
      if (status !== 0) throw new Error(`the core refused the batch layout (status ${status})`);
      const tailCrc = core.tributary_crc32c(at + tailAt, batchLength - tailAt) >>> 0;
      // Into the layout's own buffer, which goes back: the owner reuses it (src/producer/buffer-pool.ts).
      const room = job.bytes.buffer as ArrayBuffer;
      const bytes = batchLength <= room.byteLength ? new Uint8Array(room, 0, batchLength) : new Uint8Array(batchLength);
      bytes.set(new Uint8Array(core.memory.buffer, at, batchLength));
      parentPort!.postMessage({ id: job.id, bytes, tailCrc } satisfies Answer, [bytes.buffer]);
    } catch (error) {
      // A trap leaves the shadow stack where the call had moved it (as Core.guard does on the owner's side).
      if (error instanceof WebAssembly.RuntimeError) core.__stack_pointer.value = restingStackPointer;
      parentPort!.postMessage({ id: job.id, error: error instanceof Error ? error.message : String(error) } satisfies Answer);
    }
  });
}

interface Waiting {
  resolve: (result: EncodedOffThread) => void;
  reject: (error: TributaryError) => void;
}

class NodeEncodeThread implements BatchEncodeThreads {
  private worker: NodeWorkerThreads.Worker | undefined;
  private readonly waiting = new Map<number, Waiting>();
  private nextId = 1;
  private readonly workers: NodeWorkerThreadsModule;
  private readonly wasm: () => Uint8Array;

  constructor(workers: NodeWorkerThreadsModule, wasm: () => Uint8Array) {
    this.workers = workers;
    this.wasm = wasm;
  }

  encode(layout: RecordBatchLayout): Promise<EncodedOffThread> {
    return new Promise((resolve, reject) => {
      let worker: NodeWorkerThreads.Worker;
      try {
        worker = this.start();
      } catch (error) {
        reject(new TributaryError(`the batch-encoding thread could not start: ${error instanceof Error ? error.message : String(error)}`, { cause: error }));
        return;
      }
      const id = this.nextId++;
      this.waiting.set(id, { resolve, reject });
      if (this.waiting.size === 1) worker.ref();
      const job: Job = { ...layout, id };
      // The layout is the thread's from here: move its memory rather than copy it.
      worker.postMessage(job, [layout.bytes.buffer as ArrayBuffer]);
    });
  }

  private start(): NodeWorkerThreads.Worker {
    if (this.worker) return this.worker;
    const worker = new this.workers.Worker(`(${String(encodeThreadMain)})();`, { eval: true, workerData: { wasm: this.wasm(), tailAt: BATCH_TAIL_AT } });
    worker.unref();
    worker.on("message", (answer: Answer) => {
      const waiting = this.waiting.get(answer.id);
      if (!waiting) return;
      this.waiting.delete(answer.id);
      if (this.waiting.size === 0) worker.unref();
      if ("error" in answer) waiting.reject(new TributaryError(`the batch-encoding thread could not encode a batch: ${answer.error}`));
      else waiting.resolve({ bytes: answer.bytes, tailCrc: answer.tailCrc });
    });
    const died = (why: string) => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      const waiting = [...this.waiting.values()];
      this.waiting.clear();
      for (const w of waiting) w.reject(new TributaryError(why));
    };
    worker.on("error", (error) => died(`the batch-encoding thread failed: ${error instanceof Error ? error.message : String(error)}`));
    worker.on("exit", (code) => died(`the batch-encoding thread exited (code ${code})`));
    this.worker = worker;
    return worker;
  }
}

/** Batch-encoding threads for Node; `wasm` returns the core's bytes (read when the thread starts). */
export function nodeEncodeThreads(workers: NodeWorkerThreadsModule, wasm: () => Uint8Array): BatchEncodeThreads {
  return new NodeEncodeThread(workers, wasm);
}
