/**
 * A `Socket` over a pull-based byte source and a promise-based sink — what Deno's connections and
 * workerd's sockets offer. One read loop feeds `onData`; writes issued while another is in
 * progress are coalesced into one (fewer system calls when many requests are in flight), and
 * `write` asks for back-pressure once more than `HIGH_WATER` bytes wait.
 */
import { ConnectionError } from "../errors.ts";
import { connectionError, DrainGate, type Socket, type SocketHandlers, type SocketOptions, type TlsOptions } from "./socket.ts";

export interface ByteStream {
  /** Next chunk, or `null` at the end of the stream. */
  read(): Promise<Uint8Array | null>;
  /** Writes all of `bytes`. */
  write(bytes: Uint8Array): Promise<void>;
  close(): void;
}

const HIGH_WATER = 1024 * 1024;

export class StreamSocket implements Socket {
  private stream: ByteStream;
  private readonly options: SocketOptions;
  private readonly handlers: SocketHandlers;
  private queue: Uint8Array[] = [];
  private queuedBytes = 0;
  private writing = false;
  private readonly drainGate = new DrainGate();
  private closed = false;
  private secure: boolean;
  private readonly upgrade: ((tls: TlsOptions) => Promise<ByteStream>) | undefined;
  private reading: Promise<void> | undefined;
  private upgrading = false;

  constructor(
    stream: ByteStream,
    secure: boolean,
    options: SocketOptions,
    handlers: SocketHandlers,
    upgrade?: (tls: TlsOptions) => Promise<ByteStream>,
  ) {
    this.stream = stream;
    this.secure = secure;
    this.options = options;
    this.handlers = handlers;
    this.upgrade = upgrade;
    if (upgrade) this.startTls = (tls) => this.upgradeTo(tls);
    this.reading = this.readLoop();
  }

  startTls?: (tls: TlsOptions) => Promise<void>;

  private async readLoop(): Promise<void> {
    const stream = this.stream;
    try {
      for (;;) {
        const chunk = await stream.read();
        if (this.closed || this.upgrading) return;
        if (chunk === null) return this.finish(connectionError(this.options, "closed", "the connection was closed by the peer"));
        if (chunk.length > 0) this.handlers.onData(chunk);
      }
    } catch (error) {
      if (this.closed || this.upgrading) return;
      this.finish(connectionError(this.options, this.secure ? "tls" : "closed", "the connection failed", error));
    }
  }

  write(bytes: Uint8Array): void | Promise<void> {
    if (this.closed) return;
    this.queue.push(bytes);
    this.queuedBytes += bytes.length;
    if (!this.writing) void this.writeLoop();
    if (this.queuedBytes <= HIGH_WATER) return;
    return this.drainGate.wait();
  }

  private async writeLoop(): Promise<void> {
    this.writing = true;
    try {
      while (this.queue.length > 0 && !this.closed) {
        const parts = this.queue;
        this.queue = [];
        let bytes: Uint8Array;
        if (parts.length === 1) bytes = parts[0]!;
        else {
          let length = 0;
          for (const part of parts) length += part.length;
          bytes = new Uint8Array(length);
          let offset = 0;
          for (const part of parts) { bytes.set(part, offset); offset += part.length; }
        }
        await this.stream.write(bytes);
        this.queuedBytes -= bytes.length;
        if (this.queuedBytes <= HIGH_WATER / 2) this.drainGate.open();
      }
    } catch (error) {
      this.finish(connectionError(this.options, "closed", "writing failed", error));
    } finally {
      this.writing = false;
    }
  }

  private async upgradeTo(tls: TlsOptions): Promise<void> {
    this.upgrading = true;
    try {
      this.stream = await this.upgrade!(tls);
    } catch (error) {
      this.upgrading = false;
      this.finish(connectionError(this.options, "tls", "the TLS upgrade failed", error));
      throw connectionError(this.options, "tls", "the TLS upgrade failed", error);
    }
    this.upgrading = false;
    this.secure = true;
    await this.reading;
    this.reading = this.readLoop();
  }

  private finish(error: ConnectionError | undefined) {
    if (this.closed) return;
    this.closed = true;
    this.queue = [];
    this.drainGate.open();
    try { this.stream.close(); } catch { /* already closed */ }
    this.handlers.onClose(error);
  }

  close(): void {
    this.finish(undefined);
  }
}
