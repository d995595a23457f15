/**
 * Node's I/O thread: TCP and TLS sockets owned by one worker thread, for the connections that carry
 * large responses (Fetch; `SocketOptions.bulkReads`). The thread reads as fast as the broker sends
 * (and, with TLS, decrypts) and hands every whole response frame to the owner's thread by
 * transferring its memory, not copying it.
 *
 * Why: on the owner's thread a socket is read only between handler calls and decodes. While the
 * consumer decodes one Fetch answer the next one fills the kernel's receive buffer (~2 MB; Node
 * cannot enlarge it for TCP) and the broker stops sending, so every answer arrived late and the
 * consumer waited for data ~30 % of a read. Read on this thread, 1M records took 264–316 ms instead
 * of 318–330 (medians of 18 interleaved runs each; a group member 353 instead of 411 ms; see
 * bench/RESULTS.md, fourth session).
 *
 * With TLS the thread also decrypts: 1M records over TLS took 374 ms instead of 446 (medians of 24
 * interleaved runs; bench/RESULTS.md, fifth session). Sockets that may be upgraded to TLS later
 * (`allowTlsUpgrade`) stay on the owner's thread.
 *
 * One thread serves every such socket of the process. It starts with the first one, keeps the
 * process alive only while a socket is open (like a socket would), and when it dies every socket
 * it held closes with a `ConnectionError`; the next connect starts a new thread.
 *
 * The thread frames responses itself (so that it can hand over whole frames), so it must know the
 * owner's frame limit: a size prefix beyond it is passed on at once, with everything after it,
 * for the owner's framing to reject — it never allocates what a non-Kafka peer announces.
 */
import type * as NodeTls from "node:tls";
import type * as NodeWorkerThreads from "node:worker_threads";
import type { ConnectionError } from "../errors.ts";
import { closedUnasked, connectFailed, unusableTlsOptions } from "./node-errors.ts";
import { connectionError, DrainGate, type Socket, type SocketHandlers, type SocketOptions } from "./socket.ts";

export type NodeWorkerThreadsModule = Pick<typeof NodeWorkerThreads, "Worker">;

/** Bytes written but not yet handed to the kernel by the thread, beyond which `write` asks the caller to wait. */
const WRITE_HIGH_WATER_BYTES = 1024 * 1024;

/**
 * `tls.connect` options that survive the trip to the thread (structured clone): SNI,
 * `rejectUnauthorized`, and the CA, certificate and key as PEM strings or bytes.
 */
export type ThreadTlsOptions = Pick<NodeTls.ConnectionOptions, "servername" | "rejectUnauthorized" | "ca" | "cert" | "key">;

type ToThread =
  | { op: "connect"; id: number; host: string; port: number; maxFrameBytes: number; tls?: ThreadTlsOptions }
  | { op: "write"; id: number; bytes: Uint8Array }
  | { op: "close"; id: number };

type FromThread =
  | { op: "connected"; id: number }
  | { op: "data"; id: number; bytes: Uint8Array }
  | { op: "flushed"; id: number; bytes: number }
  // `options`: tls.connect refused the TLS options (an unreadable CA, certificate or key).
  | { op: "closed"; id: number; error?: { message: string; code?: string }; options?: boolean };

/**
 * The thread's program. It runs from its source text (`String(ioThreadMain)`, evaluated by the
 * worker), so it must not use anything from this module's scope: only its own code and `require`.
 */
function ioThreadMain(): void {
  const { parentPort } = require("node:worker_threads") as typeof NodeWorkerThreads;
  const net = require("node:net") as typeof import("node:net");
  const tls = require("node:tls") as typeof import("node:tls");
  const READ_BYTES = 64 * 1024;
  const sockets = new Map<number, import("node:net").Socket>();
  const post = (message: FromThread, transfer?: ArrayBuffer[]) => parentPort!.postMessage(message, transfer);

  function open(id: number, host: string, port: number, maxFrameBytes: number, tlsOptions: ThreadTlsOptions | undefined): void {
    const sizeBytes = new Uint8Array(4);
    let sizeFill = 0;
    let frame: Uint8Array | undefined; // size prefix included
    let frameFill = 0;
    let passThrough = false; // after a size the owner will reject: forward raw bytes, frame no more

    const forward = (bytes: Uint8Array) => post({ op: "data", id, bytes }, [bytes.buffer as ArrayBuffer]);
    const onBytes = (chunk: Uint8Array) => {
      let offset = 0;
      while (offset < chunk.length) {
        if (passThrough) return forward(chunk.slice(offset));
        if (frame === undefined) {
          const take = Math.min(4 - sizeFill, chunk.length - offset);
          sizeBytes.set(chunk.subarray(offset, offset + take), sizeFill);
          sizeFill += take;
          offset += take;
          if (sizeFill < 4) return;
          sizeFill = 0;
          const size = ((sizeBytes[0]! << 24) | (sizeBytes[1]! << 16) | (sizeBytes[2]! << 8) | sizeBytes[3]!) | 0;
          if (size < 4 || size > maxFrameBytes) {
            passThrough = true;
            forward(sizeBytes.slice());
            continue;
          }
          frame = new Uint8Array(4 + size);
          frame.set(sizeBytes);
          frameFill = 4;
        }
        const take = Math.min(frame.length - frameFill, chunk.length - offset);
        // A read into the frame itself (see `buffer` below) is in place already.
        if (chunk.buffer !== frame.buffer || chunk.byteOffset + offset !== frameFill) frame.set(chunk.subarray(offset, offset + take), frameFill);
        frameFill += take;
        offset += take;
        if (frameFill === frame.length) {
          const whole = frame;
          frame = undefined;
          forward(whole);
        }
      }
    };

    let socket: import("node:net").Socket;
    if (tlsOptions) {
      // A TLS socket reads its raw socket itself (no `onread`): decrypted bytes come as `data`.
      try {
        socket = tls.connect({ host, port, ...tlsOptions });
      } catch (e) {
        post({ op: "closed", id, error: { message: (e as Error).message, code: (e as { code?: string }).code }, options: true });
        return;
      }
      // A plain view: a Buffer's `slice` (pass-through above) would share, not copy, its memory.
      socket.on("data", (chunk: Uint8Array) => onBytes(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength)));
    } else {
      const spare = new Uint8Array(READ_BYTES); // reused: bytes read into it are always copied out
      socket = net.connect({
        host, port,
        onread: {
          // The unfilled rest of a large frame when there is room for a whole read: no copy at all.
          buffer: () => (frame !== undefined && frame.length - frameFill >= READ_BYTES ? frame.subarray(frameFill) : spare),
          callback: (bytes: number, buffer: Uint8Array) => {
            onBytes(new Uint8Array(buffer.buffer, buffer.byteOffset, bytes));
            return true;
          },
        },
      });
    }
    socket.setNoDelay(true);
    let error: { message: string; code?: string } | undefined;
    socket.on(tlsOptions ? "secureConnect" : "connect", () => post({ op: "connected", id }));
    socket.on("error", (e: Error & { code?: string }) => {
      error ??= { message: e.message, code: e.code };
      // A TLS alert after the handshake (a broker that wants a client certificate) emits `error`
      // without destroying the socket; a write in flight could then keep it open, unanswered.
      socket.destroy();
    });
    socket.on("close", () => {
      sockets.delete(id);
      post({ op: "closed", id, error });
    });
    sockets.set(id, socket);
  }

  parentPort!.on("message", (message: ToThread) => {
    if (message.op === "connect") open(message.id, message.host, message.port, message.maxFrameBytes, message.tls);
    else if (message.op === "write") {
      const length = message.bytes.length;
      sockets.get(message.id)?.write(message.bytes, () => post({ op: "flushed", id: message.id, bytes: length }));
    } else sockets.get(message.id)?.destroy();
  });
}

interface Entry {
  options: SocketOptions;
  handlers: SocketHandlers;
  secure: boolean;
  /** Set while connecting. */
  connecting?: { resolve(socket: Socket): void; reject(error: unknown): void };
  socket?: ThreadSocket;
}

/** The thread and the sockets it holds for this process. */
class IoThread {
  private readonly workers: NodeWorkerThreadsModule;
  private worker: NodeWorkerThreads.Worker | undefined;
  private readonly entries = new Map<number, Entry>();
  private nextId = 1;

  constructor(workers: NodeWorkerThreadsModule) {
    this.workers = workers;
  }

  /** `undefined` when the thread cannot start. */
  connect(options: SocketOptions, handlers: SocketHandlers, tls: ThreadTlsOptions | undefined): Promise<Socket> | undefined {
    let worker: NodeWorkerThreads.Worker;
    try {
      worker = this.start();
    } catch {
      return undefined;
    }
    const id = this.nextId++;
    return new Promise<Socket>((resolve, reject) => {
      this.entries.set(id, { options, handlers, secure: tls !== undefined, connecting: { resolve, reject } });
      if (this.entries.size === 1) worker.ref();
      this.send({ op: "connect", id, host: options.host, port: options.port, maxFrameBytes: options.maxFrameBytes ?? 0x7fffffff, tls });
    });
  }

  send(message: ToThread, transfer?: ArrayBuffer[]): void {
    this.worker?.postMessage(message, transfer);
  }

  /** Forgets a socket its owner closed (the thread's late messages about it are dropped). */
  forget(id: number): void {
    if (this.entries.delete(id) && this.entries.size === 0) this.worker?.unref();
  }

  private start(): NodeWorkerThreads.Worker {
    if (this.worker) return this.worker;
    const worker = new this.workers.Worker(`(${String(ioThreadMain)})();`, { eval: true });
    worker.unref();
    worker.on("message", (message: FromThread) => this.onMessage(message));
    const died = (why: string) => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      this.failAll(why);
    };
    worker.on("error", (error) => died(`the I/O thread failed: ${error instanceof Error ? error.message : String(error)}`));
    worker.on("exit", (code) => died(`the I/O thread exited (code ${code})`));
    this.worker = worker;
    return worker;
  }

  private onMessage(message: FromThread): void {
    const entry = this.entries.get(message.id);
    if (!entry) return;
    switch (message.op) {
      case "data":
        entry.handlers.onData(message.bytes);
        break;
      case "flushed":
        entry.socket?.flushed(message.bytes);
        break;
      case "connected": {
        const socket = new ThreadSocket(this, message.id, entry.handlers);
        entry.socket = socket;
        entry.connecting?.resolve(socket);
        entry.connecting = undefined;
        break;
      }
      case "closed": {
        this.forget(message.id);
        const cause = message.error && Object.assign(new Error(message.error.message), { code: message.error.code });
        // The same reasons as a socket on the owner's thread (node-errors.ts).
        if (message.options) entry.connecting?.reject(unusableTlsOptions(entry.options, cause));
        else if (entry.connecting) entry.connecting.reject(connectFailed(entry.options, cause ?? "the connection closed while opening"));
        else entry.socket?.closedByPeer(closedUnasked(entry.options, entry.secure, cause));
        break;
      }
    }
  }

  private failAll(why: string): void {
    const entries = [...this.entries.values()];
    this.entries.clear();
    for (const entry of entries) {
      if (entry.connecting) entry.connecting.reject(connectionError(entry.options, "connect", why));
      else entry.socket?.closedByPeer(connectionError(entry.options, "closed", why));
    }
  }
}

class ThreadSocket implements Socket {
  private readonly thread: IoThread;
  private readonly id: number;
  private readonly handlers: SocketHandlers;
  private closed = false;
  /** Bytes posted to the thread that it has not yet handed to the kernel. */
  private unflushed = 0;
  private readonly drainGate = new DrainGate();

  constructor(thread: IoThread, id: number, handlers: SocketHandlers) {
    this.thread = thread;
    this.id = id;
    this.handlers = handlers;
  }

  write(bytes: Uint8Array): void | Promise<void> {
    if (this.closed) return;
    // A copy of just these bytes (posting a view would copy its whole buffer), moved, not copied again.
    const copy = bytes.slice();
    this.unflushed += copy.length;
    this.thread.send({ op: "write", id: this.id, bytes: copy }, [copy.buffer]);
    if (this.unflushed <= WRITE_HIGH_WATER_BYTES) return;
    return this.drainGate.wait();
  }

  flushed(bytes: number): void {
    this.unflushed -= bytes;
    if (this.unflushed <= WRITE_HIGH_WATER_BYTES) this.drainGate.open();
  }

  closedByPeer(error: ConnectionError): void {
    if (this.closed) return;
    this.closed = true;
    this.drainGate.open();
    this.handlers.onClose(error);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.drainGate.open();
    this.thread.send({ op: "close", id: this.id });
    this.thread.forget(this.id);
    this.handlers.onClose();
  }
}

const threads = new WeakMap<NodeWorkerThreadsModule, IoThread>();

/**
 * Opens a TCP socket (a TLS one with `tls`) on the process's I/O thread (started on first use), or
 * returns `undefined` when the thread cannot start here (a runtime without worker threads, or one
 * that refuses them): the caller then opens the socket on its own thread.
 */
export function connectOnIoThread(
  workers: NodeWorkerThreadsModule, options: SocketOptions, handlers: SocketHandlers, tls?: ThreadTlsOptions,
): Promise<Socket> | undefined {
  let thread = threads.get(workers);
  if (!thread) threads.set(workers, (thread = new IoThread(workers)));
  return thread.connect(options, handlers, tls);
}
