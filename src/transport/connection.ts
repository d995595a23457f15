/**
 * Kafka framing over a `Socket`: every message is a 4-byte big-endian size followed by that many
 * bytes. The connection deals in opaque messages — a request header and body built by the
 * protocol layer — and answers with response frames (the bytes after the size prefix, starting
 * with the correlation id). It knows nothing about API keys or versions.
 *
 * Correlation ids: the connection assigns them. `request(message)` copies the message behind a
 * size prefix and overwrites bytes 4..8 of the copy (the request header's correlation id, after
 * the int16 api key and api version) with the next id; the caller's bytes are never changed, so
 * the same message can be sent again. Responses are matched by id, not by order (Kafka answers in
 * order, but matching by id costs nothing and catches a confused peer): a response whose id no
 * request is waiting for is a protocol error that closes the connection.
 *
 * Timeouts: a request that times out rejects with `TimeoutError`. What happens to the connection
 * depends on what the timeout tells us:
 * - the request was still queued behind back-pressure: it is dropped unsent; the connection stays.
 * - bytes have arrived since the request was sent: the peer is alive and the request is only slow
 *   (behind a long-polling Fetch, or a big response still streaming in). The connection stays
 *   open and remembers the id, so the late response is recognised and dropped: because responses
 *   are matched by id, nothing can be misaligned, and closing would fail every other request in
 *   flight — turning Produce requests that will succeed into unknown outcomes the caller retries.
 * - nothing at all has arrived since the request was sent: the peer may be gone (a half-open TCP
 *   connection never errors by itself), and Kafka answers in order, so every later request would
 *   wait behind it. The connection closes (as Kafka's Java client and librdkafka do): the other
 *   requests fail with a `ConnectionError` (reason `timeout`) and the caller reconnects.
 *
 * Frames above `maxFrameBytes`, or with a negative size, close the connection with a
 * `ConnectionError` (reason `frame-too-large`) before anything is allocated: a non-Kafka peer
 * answering "HTTP/1.1 400" would otherwise ask for 0x48545450 bytes (1.2 GB).
 *
 * Back-pressure: when the socket's send buffer is full, further requests queue in the connection
 * (unsent). Requests that expect no response (Produce with acks=0) resolve only once their bytes
 * are handed to the socket, so a caller that awaits them is paced by the network; `drained()`
 * waits until the queue is empty.
 */
import { ConnectionError, TimeoutError } from "../errors.ts";
import { connectionError, defaultSocketFactory, type Socket, type SocketFactory, type SocketOptions } from "./socket.ts";

export interface ConnectionOptions extends SocketOptions {
  /** Opens the socket; defaults to the one the runtime's entry point registered. */
  socketFactory?: SocketFactory;
  /** Time to open the socket (and finish TLS). Default 10 s. */
  connectTimeoutMs?: number;
  /** Default time limit per request, from `request()` to the response. Default 30 s. */
  requestTimeoutMs?: number;
  /** Largest response frame accepted (without its size prefix). Default 100 MiB. */
  maxFrameBytes?: number;
  /** Called once when the connection closes: with the error, or nothing when `close()` closed it. */
  onClose?: (error?: ConnectionError) => void;
}

export interface RequestOptions {
  /** `false` for requests the broker does not answer (Produce with acks=0). Default `true`. */
  expectResponse?: boolean;
  /** Overrides the connection's `requestTimeoutMs`. */
  timeoutMs?: number;
  /**
   * The 4 bytes before `message` in its buffer are the caller's to give up (`encodeRequest`'s
   * size prefix): the connection writes the frame there instead of copying the message into a
   * new one, which for Produce requests is megabytes per request. The message's bytes (its
   * correlation id) are changed in place, so do not reuse it until the request settles.
   */
  prefixRoom?: boolean;
}

export const DEFAULT_MAX_FRAME_BYTES = 100 * 1024 * 1024;
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
/** Size of a read that does not go straight into a frame (what Node allocates per read, too). */
const READ_CHUNK_BYTES = 64 * 1024;

interface Pending {
  correlationId: number;
  resolve(frame: Uint8Array | undefined): void;
  reject(error: Error): void;
  timer: ReturnType<typeof setTimeout> | undefined;
  timeoutMs: number;
  /** Set once written: the number of chunks received before it was written. */
  receivedAtSend: number;
  written: boolean;
  /** Timed out after it was sent: its late response is dropped. */
  abandoned: boolean;
  expectResponse: boolean;
  frame: Uint8Array | undefined;
}

export class Connection {
  readonly host: string;
  readonly port: number;
  private socket: Socket | undefined;
  private readonly options: ConnectionOptions;
  private readonly maxFrameBytes: number;
  private readonly pending = new Map<number, Pending>();
  private readonly writeQueue: Pending[] = [];
  private blocked = false;
  private drainWaiters: (() => void)[] = [];
  private nextId = 1;
  private receivedChunks = 0;
  private closedWith: { error: ConnectionError | undefined } | undefined;
  // Frame parser state.
  private readonly sizeBytes = new Uint8Array(4);
  private sizeFill = 0;
  private frame: Uint8Array | undefined;
  private frameFill = 0;

  private constructor(options: ConnectionOptions) {
    this.options = options;
    this.host = options.host;
    this.port = options.port;
    this.maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  }

  /** Opens a connection; rejects with a `ConnectionError` (reason `timeout` after `connectTimeoutMs`). */
  static async connect(options: ConnectionOptions): Promise<Connection> {
    const connection = new Connection(options);
    const factory = options.socketFactory ?? defaultSocketFactory();
    const timeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    const opening = factory(
      {
        host: options.host, port: options.port, tls: options.tls, allowTlsUpgrade: options.allowTlsUpgrade,
        bulkReads: options.bulkReads, maxFrameBytes: connection.maxFrameBytes,
      },
      { onData: (chunk) => connection.onData(chunk), onClose: (error) => connection.onSocketClose(error), readTarget: () => connection.readTarget() },
    );
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const cause = new TimeoutError(`connecting took longer than ${timeoutMs} ms`, timeoutMs);
        reject(connectionError(options, "timeout", "could not connect", cause));
      }, timeoutMs);
    });
    try {
      connection.socket = await Promise.race([opening, timeout]);
    } catch (error) {
      // A socket that opens after the timeout is closed at once; a late failure is expected.
      opening.then((socket) => socket.close(), () => {});
      connection.closedWith ??= { error: undefined };
      throw connectionError(options, "connect", "could not connect", error);
    } finally {
      clearTimeout(timer);
    }
    // The peer may have closed (or sent garbage) while the socket was opening.
    if (connection.closedWith) {
      connection.socket.close();
      throw connection.closedWith.error ?? connectionError(options, "closed", "the connection closed while opening");
    }
    return connection;
  }

  /** True once the connection has closed (for any reason); it never reopens. */
  get isClosed(): boolean {
    return this.closedWith !== undefined;
  }

  /** Requests sent or queued that have not been answered, timed out or failed yet. */
  get inFlight(): number {
    let count = 0;
    for (const entry of this.pending.values()) if (!entry.abandoned) count++;
    return count + this.writeQueue.filter((entry) => !entry.expectResponse).length;
  }

  /** The socket, for a STARTTLS-style upgrade (`socket.startTls`) before any request is sent. */
  get rawSocket(): Socket | undefined {
    return this.socket;
  }

  /**
   * Sends `message` (request header + body, without the size prefix) with the next correlation id
   * written into bytes 4..8, and resolves with the response frame — or with `undefined` at once
   * when the message is on its way, for requests that expect no response.
   */
  request(message: Uint8Array, options?: RequestOptions & { expectResponse?: true }): Promise<Uint8Array>;
  request(message: Uint8Array, options: RequestOptions & { expectResponse: false }): Promise<undefined>;
  request(message: Uint8Array, options?: RequestOptions): Promise<Uint8Array | undefined>;
  request(message: Uint8Array, options: RequestOptions = {}): Promise<Uint8Array | undefined> {
    if (this.closedWith) return Promise.reject(this.closedError());
    if (message.length < 8) {
      return Promise.reject(new RangeError(`a request needs at least 8 bytes of header, got ${message.length}`));
    }
    if (options.prefixRoom && message.byteOffset < 4) {
      return Promise.reject(new RangeError("prefixRoom: the message must have 4 bytes of its buffer before it"));
    }
    const correlationId = this.takeId();
    const frame = options.prefixRoom
      ? new Uint8Array(message.buffer, message.byteOffset - 4, message.length + 4)
      : new Uint8Array(message.length + 4);
    const view = new DataView(frame.buffer, frame.byteOffset, frame.length);
    view.setInt32(0, message.length);
    if (!options.prefixRoom) frame.set(message, 4);
    view.setInt32(8, correlationId);
    const expectResponse = options.expectResponse !== false;
    const timeoutMs = options.timeoutMs ?? this.options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    return new Promise<Uint8Array | undefined>((resolve, reject) => {
      const entry: Pending = {
        correlationId, resolve, reject, timeoutMs, expectResponse, frame,
        timer: undefined, receivedAtSend: 0, written: false, abandoned: false,
      };
      if (expectResponse) this.pending.set(correlationId, entry);
      entry.timer = setTimeout(() => this.timedOut(entry), timeoutMs);
      if (this.blocked) this.writeQueue.push(entry);
      else this.write(entry);
    });
  }

  /** Resolves when every queued request has been handed to the socket (or the connection closed). */
  drained(): Promise<void> {
    if (!this.blocked || this.closedWith) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** Closes the connection; requests still waiting fail with a `ConnectionError` (reason `closed-by-client`). */
  close(): void {
    this.shutdown(connectionError(this, "closed-by-client", "the connection was closed by the client"));
  }

  private takeId(): number {
    for (;;) {
      const id = this.nextId;
      this.nextId = id === 0x7fffffff ? 0 : id + 1;
      if (!this.pending.has(id)) return id;
    }
  }

  private write(entry: Pending): void {
    const frame = entry.frame!;
    entry.frame = undefined;
    entry.written = true;
    entry.receivedAtSend = this.receivedChunks;
    let wait: void | Promise<void>;
    try {
      wait = this.socket!.write(frame);
    } catch (error) {
      const failure = connectionError(this, "closed", "writing failed", error);
      this.shutdown(failure);
      if (!entry.expectResponse) {
        clearTimeout(entry.timer);
        entry.reject(failure);
      }
      return;
    }
    if (!entry.expectResponse) {
      clearTimeout(entry.timer);
      entry.resolve(undefined);
    }
    if (wait) {
      this.blocked = true;
      wait.then(() => this.flush());
    }
  }

  private flush(): void {
    this.blocked = false;
    while (!this.blocked && !this.closedWith) {
      const entry = this.writeQueue.shift();
      if (!entry) break;
      this.write(entry);
    }
    if (!this.blocked) {
      const waiters = this.drainWaiters;
      this.drainWaiters = [];
      waiters.forEach((wake) => wake());
    }
  }

  private timedOut(entry: Pending): void {
    entry.timer = undefined;
    const error = new TimeoutError(
      `${this.host}:${this.port}: no response to request ${entry.correlationId} within ${entry.timeoutMs} ms`,
      entry.timeoutMs,
    );
    if (!entry.written) {
      // Still queued behind back-pressure: drop it unsent.
      const index = this.writeQueue.indexOf(entry);
      if (index >= 0) this.writeQueue.splice(index, 1);
      this.pending.delete(entry.correlationId);
      entry.reject(error);
    } else if (this.receivedChunks === entry.receivedAtSend) {
      // Silence since it was sent: the peer may be gone, and everything behind it waits too.
      this.pending.delete(entry.correlationId);
      entry.reject(error);
      this.shutdown(connectionError(this, "timeout", "the connection was silent past a request's timeout", error));
    } else {
      entry.abandoned = true;
      entry.reject(error);
    }
  }

  /**
   * Where the next read should land: the unfilled rest of the frame being assembled (the socket
   * then reads straight into it: no chunk to allocate and copy), else a fresh chunk of its own.
   */
  private readTarget(): Uint8Array {
    const frame = this.frame;
    if (frame !== undefined && frame.length - this.frameFill >= READ_CHUNK_BYTES) return frame.subarray(this.frameFill);
    return new Uint8Array(READ_CHUNK_BYTES);
  }

  private onData(chunk: Uint8Array): void {
    if (this.closedWith) return;
    this.receivedChunks++;
    let offset = 0;
    const length = chunk.length;
    while (offset < length && !this.closedWith) {
      if (this.frame === undefined) {
        let size: number;
        if (this.sizeFill === 0 && length - offset >= 4) {
          size = ((chunk[offset]! << 24) | (chunk[offset + 1]! << 16) | (chunk[offset + 2]! << 8) | chunk[offset + 3]!) | 0;
          offset += 4;
        } else {
          const take = Math.min(4 - this.sizeFill, length - offset);
          this.sizeBytes.set(chunk.subarray(offset, offset + take), this.sizeFill);
          this.sizeFill += take;
          offset += take;
          if (this.sizeFill < 4) return;
          this.sizeFill = 0;
          const b = this.sizeBytes;
          size = ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) | 0;
        }
        if (size < 0 || size > this.maxFrameBytes) {
          this.shutdown(
            connectionError(
              this, "frame-too-large",
              `received a frame size of ${size} bytes (limit ${this.maxFrameBytes}): not a Kafka broker, or a corrupted stream`,
            ),
          );
          return;
        }
        if (size < 4) {
          this.shutdown(connectionError(this, "protocol", `received a ${size}-byte frame, too short for a correlation id`));
          return;
        }
        if (length - offset >= size) {
          // The whole frame is in this chunk: hand out a view, no copy.
          this.deliver(chunk.subarray(offset, offset + size));
          offset += size;
          continue;
        }
        this.frame = new Uint8Array(size);
        this.frameFill = 0;
      }
      const take = Math.min(this.frame.length - this.frameFill, length - offset);
      // A read into `readTarget()`'s view of the frame is in place already.
      const inPlace = chunk.buffer === this.frame.buffer && chunk.byteOffset + offset === this.frame.byteOffset + this.frameFill;
      if (!inPlace) this.frame.set(chunk.subarray(offset, offset + take), this.frameFill);
      this.frameFill += take;
      offset += take;
      if (this.frameFill === this.frame.length) {
        const frame = this.frame;
        this.frame = undefined;
        this.deliver(frame);
      }
    }
  }

  private deliver(frame: Uint8Array): void {
    const correlationId = ((frame[0]! << 24) | (frame[1]! << 16) | (frame[2]! << 8) | frame[3]!) | 0;
    const entry = this.pending.get(correlationId);
    if (!entry) {
      this.shutdown(
        connectionError(this, "protocol", `received a response with correlation id ${correlationId}, which no request is waiting for`),
      );
      return;
    }
    this.pending.delete(correlationId);
    if (entry.abandoned) return;
    clearTimeout(entry.timer);
    entry.resolve(frame);
  }

  private onSocketClose(error: ConnectionError | undefined): void {
    this.shutdown(error ?? connectionError(this, "closed", "the connection was closed"));
  }

  private closedError(): ConnectionError {
    return this.closedWith?.error ?? connectionError(this, "closed-by-client", "the connection was closed by the client");
  }

  /** Closes once: fails everything still waiting with `error`. */
  private shutdown(error: ConnectionError): void {
    if (this.closedWith) return;
    const byClient = error.reason === "closed-by-client";
    this.closedWith = { error: byClient ? undefined : error };
    this.socket?.close();
    const waiting = [...this.pending.values(), ...this.writeQueue.filter((entry) => !entry.expectResponse)];
    this.pending.clear();
    this.writeQueue.length = 0;
    this.frame = undefined;
    for (const entry of waiting) {
      clearTimeout(entry.timer);
      if (!entry.abandoned) entry.reject(error);
    }
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    waiters.forEach((wake) => wake());
    this.options.onClose?.(byClient ? undefined : error);
  }
}
