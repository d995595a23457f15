/**
 * Sockets over `Bun.connect` (Bun's native, callback-based TCP — faster than its `node:net`).
 *
 * TLS: Bun's `tls` options — CA (replaces the default roots), client certificate and key,
 * `serverName` (SNI and verification), `rejectUnauthorized`. No STARTTLS upgrade here.
 */
import { connectionError, DrainGate, isTlsErrorCode, pemList, tlsOptionsOf, type Pem, type Socket, type SocketFactory, type SocketHandlers, type SocketOptions } from "./socket.ts";
import type { ConnectionError } from "../errors.ts";

/** The part of Bun's API this file uses. */
interface BunSocket {
  write(bytes: Uint8Array): number;
  end(): void;
  terminate?(): void;
  setNoDelay?(noDelay?: boolean): boolean;
  data: BunSocketState;
}
interface BunSocketState {
  owner?: BunTcpSocket;
  openError?: unknown;
}
interface BunConnectOptions {
  hostname: string;
  port: number;
  tls?: boolean | { ca?: Pem[]; cert?: Pem; key?: Pem; serverName?: string; rejectUnauthorized?: boolean };
  data: BunSocketState;
  socket: {
    data(socket: BunSocket, data: Uint8Array): void;
    drain(socket: BunSocket): void;
    close(socket: BunSocket, error?: Error): void;
    error(socket: BunSocket, error: Error): void;
    end?(socket: BunSocket): void;
    handshake?(socket: BunSocket, success: boolean, authorizationError: Error | null): void;
  };
}
interface BunNamespace {
  connect(options: BunConnectOptions): Promise<BunSocket>;
}

class BunTcpSocket implements Socket {
  private pending: Uint8Array[] = [];
  private readonly drainGate = new DrainGate();
  closed = false;
  error: unknown;
  socket: BunSocket | undefined;
  private readonly options: SocketOptions;
  readonly handlers: SocketHandlers;
  private readonly secure: boolean;

  constructor(options: SocketOptions, handlers: SocketHandlers, secure: boolean) {
    this.options = options;
    this.handlers = handlers;
    this.secure = secure;
  }

  write(bytes: Uint8Array): void | Promise<void> {
    if (this.closed || !this.socket) return;
    if (this.pending.length === 0) {
      const written = this.socket.write(bytes);
      if (written >= bytes.length) return;
      // Bun copies nothing it did not write: keep the rest for the drain callback.
      this.pending.push(written > 0 ? bytes.subarray(written) : bytes);
    } else {
      this.pending.push(bytes);
    }
    return this.drainGate.wait();
  }

  drain(): void {
    while (this.pending.length > 0 && this.socket && !this.closed) {
      const bytes = this.pending[0]!;
      const written = this.socket.write(bytes);
      if (written >= bytes.length) this.pending.shift();
      else {
        if (written > 0) this.pending[0] = bytes.subarray(written);
        return;
      }
    }
    this.drainGate.open();
  }

  finish(error: ConnectionError | undefined): void {
    if (this.closed) return;
    this.closed = true;
    this.pending = [];
    this.drainGate.open();
    this.handlers.onClose(error);
  }

  closedByPeer(): void {
    this.finish(
      this.error === undefined
        ? connectionError(this.options, "closed", "the connection was closed by the peer")
        : connectionError(this.options, this.secure ? "tls" : "closed", "the connection failed", this.error),
    );
  }

  close(): void {
    if (this.closed) return;
    const socket = this.socket;
    this.finish(undefined);
    // At once, as Node's `destroy()`: after `end()` a TLS socket could wait ~12 s for the broker's
    // side of the close (seen in 3 of 10 runs after a consumer closed), keeping the process alive
    // that long. Writes still queued here are dropped either way (`finish`), as Node drops them.
    if (socket?.terminate) socket.terminate();
    else socket?.end();
  }
}

/** A socket factory over Bun's global `Bun.connect`. */
export function bunSocketFactory(bun: BunNamespace = (globalThis as unknown as { Bun: BunNamespace }).Bun): SocketFactory {
  return async (options, handlers) => {
    const tls = tlsOptionsOf(options);
    const owner = new BunTcpSocket(options, handlers, tls !== undefined);
    let handshake: { resolve(): void; reject(error: unknown): void } | undefined;
    const handshook = tls ? new Promise<void>((resolve, reject) => (handshake = { resolve, reject })) : undefined;
    handshook?.catch(() => {});
    const state: BunSocketState = { owner };
    let socket: BunSocket;
    try {
      socket = await bun.connect({
        hostname: options.host,
        port: options.port,
        data: state,
        ...(tls
          ? {
              tls: {
                ...(pemList(tls.ca) ? { ca: pemList(tls.ca) } : {}),
                ...(tls.cert !== undefined ? { cert: tls.cert } : {}),
                ...(tls.key !== undefined ? { key: tls.key } : {}),
                serverName: tls.servername ?? options.host,
                rejectUnauthorized: tls.rejectUnauthorized !== false,
              },
            }
          : {}),
        socket: {
          data: (_socket, data) => owner.handlers.onData(data),
          drain: () => owner.drain(),
          error: (_socket, error) => { owner.error ??= error; handshake?.reject(error); },
          close: (_socket, error) => {
            if (error) owner.error ??= error;
            handshake?.reject(owner.error ?? new Error("the connection closed during the TLS handshake"));
            owner.closedByPeer();
          },
          handshake: (_socket, success, authorizationError) => {
            if (success && (authorizationError === null || tls?.rejectUnauthorized === false)) handshake?.resolve();
            else handshake?.reject(authorizationError ?? new Error("the TLS handshake failed"));
          },
        },
      });
    } catch (error) {
      owner.closed = true;
      // Bun.connect rejects at once when it cannot use the CA, certificate or key (ERR_BORINGSSL…).
      throw connectionError(options, tls && isTlsErrorCode(error) ? "tls" : "connect", "could not connect", error);
    }
    owner.socket = socket;
    socket.setNoDelay?.(true);
    if (handshook) {
      try {
        await handshook;
      } catch (error) {
        owner.closed = true;
        socket.end();
        throw connectionError(options, "tls", "the TLS handshake failed", error);
      }
    }
    return owner;
  };
}
