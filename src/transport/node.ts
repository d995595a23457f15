/**
 * Sockets over `node:net` / `node:tls` (Node; Bun and Deno implement these modules too). The
 * modules are passed in by the entry point (src/entry/node.ts) rather than imported here, so this
 * file loads in any runtime and bundles cleanly.
 *
 * TLS: everything `tls.connect` offers that `TlsOptions` names — CA (replaces the default roots),
 * client certificate and key, SNI (`servername`), `rejectUnauthorized` — and STARTTLS-style
 * upgrades of a plain socket.
 */
import type * as NodeNet from "node:net";
import type * as NodeTls from "node:tls";
import { connectOnIoThread, type NodeWorkerThreadsModule, type ThreadTlsOptions } from "./node-io-thread.ts";
import { closedUnasked, connectFailed, unusableTlsOptions } from "./node-errors.ts";
import { connectionError, DrainGate, pemList, tlsOptionsOf, type Socket, type SocketFactory, type SocketHandlers, type SocketOptions, type TlsOptions } from "./socket.ts";

export interface NodeSocketModules {
  net: Pick<typeof NodeNet, "connect">;
  tls: Pick<typeof NodeTls, "connect">;
  /**
   * With it, sockets opened with `bulkReads` (Fetch connections), TLS or not, live on an I/O thread
   * (node-io-thread.ts); without it, every socket is read on the calling thread.
   */
  workerThreads?: NodeWorkerThreadsModule;
}

/** `tls.connect` options for `tls`; plain data only, so that they can go to the I/O thread too. */
function tlsConnectOptions(host: string, tls: TlsOptions): ThreadTlsOptions {
  const servername = tls.servername ?? host;
  const options: ThreadTlsOptions = { rejectUnauthorized: tls.rejectUnauthorized !== false };
  // SNI must not be an IP address (RFC 6066); Node warns when it is.
  if (!/^[\d.]+$|:/.test(servername)) options.servername = servername;
  const ca = pemList(tls.ca);
  // Bytes as plain copies: a small `Buffer.from` copy lives in Node's shared pool, and cloning it
  // to the I/O thread would clone the whole pool slab. tls.connect takes any Uint8Array.
  const own = (pem: string | Uint8Array) => (typeof pem === "string" ? pem : (new Uint8Array(pem) as Buffer));
  if (ca) options.ca = ca.map(own);
  if (tls.cert !== undefined) options.cert = own(tls.cert);
  if (tls.key !== undefined) options.key = own(tls.key);
  return options;
}

class NodeSocket implements Socket {
  private socket: NodeNet.Socket;
  private closed = false;
  private readonly drainGate = new DrainGate();
  private readonly options: SocketOptions;
  private readonly handlers: SocketHandlers;
  private readonly tlsModule: NodeSocketModules["tls"];
  private error: unknown;
  private secure: boolean;

  constructor(socket: NodeNet.Socket, secure: boolean, options: SocketOptions, handlers: SocketHandlers, tlsModule: NodeSocketModules["tls"]) {
    this.socket = socket;
    this.secure = secure;
    this.options = options;
    this.handlers = handlers;
    this.tlsModule = tlsModule;
    this.attach(socket);
  }

  private readonly onData = (chunk: Buffer) => this.handlers.onData(chunk);
  private readonly onError = (error: Error) => {
    this.error ??= error;
    // A TLS alert after the handshake (a broker that wants a client certificate) emits `error`
    // without destroying the socket; a write in flight could then keep it open, unanswered.
    this.socket.destroy();
  };
  private readonly onDrain = () => this.drainGate.open();
  private readonly onClose = () => {
    if (this.closed) return;
    this.closed = true;
    this.drainGate.open();
    this.handlers.onClose(closedUnasked(this.options, this.secure, this.error));
  };

  private attach(socket: NodeNet.Socket) {
    socket.on("data", this.onData);
    socket.on("error", this.onError);
    socket.on("drain", this.onDrain);
    socket.on("close", this.onClose);
  }

  private detach(socket: NodeNet.Socket) {
    socket.off("data", this.onData);
    socket.off("drain", this.onDrain);
    socket.off("close", this.onClose);
    // The error listener stays: an error event without a listener would crash the process.
  }

  write(bytes: Uint8Array): void | Promise<void> {
    if (this.closed) return;
    if (this.socket.write(bytes) || this.closed) return;
    return this.drainGate.wait();
  }

  async startTls(tls: TlsOptions): Promise<void> {
    // Without it the socket reads with `onread`, which the TLS layer cannot take over.
    if (!this.options.allowTlsUpgrade) throw connectionError(this.options, "tls", "STARTTLS needs a socket opened with allowTlsUpgrade");
    const raw = this.socket;
    this.detach(raw);
    let upgraded: NodeTls.TLSSocket;
    try {
      upgraded = this.tlsModule.connect({ ...tlsConnectOptions(this.options.host, tls), socket: raw });
    } catch (error) {
      raw.destroy();
      this.onClose();
      throw unusableTlsOptions(this.options, error);
    }
    upgraded.setNoDelay(true);
    await handshake(upgraded, this.options).catch((error) => {
      upgraded.destroy();
      this.onClose();
      throw error;
    });
    this.socket = upgraded;
    this.secure = true;
    this.attach(upgraded);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.drainGate.open();
    this.socket.destroy();
    this.handlers.onClose();
  }
}

/** Waits for the socket to connect (and finish its TLS handshake); closes it if it cannot. */
function handshake(socket: NodeNet.Socket, options: SocketOptions, secure = true): Promise<void> {
  return new Promise((resolve, reject) => {
    const ready = secure ? "secureConnect" : "connect";
    const fail = (error: Error) => {
      socket.off(ready, done);
      socket.destroy();
      reject(connectFailed(options, error));
    };
    const close = () => fail(new Error("the connection closed during the handshake"));
    function done() {
      socket.off("error", fail);
      socket.off("close", close);
      resolve();
    }
    socket.once(ready, done);
    socket.once("error", fail);
    socket.once("close", close);
  });
}

/**
 * Node's `onread` for a plain socket whose owner offers read targets: libuv reads straight into
 * the frame being assembled (one copy less per byte, and no 64 KiB buffer per read). `data`
 * events are not emitted then; the callback delivers instead. Not for sockets that may be
 * upgraded to TLS (the TLS layer reads the raw socket itself) nor where `onread` is missing.
 */
function readInto(options: SocketOptions, handlers: SocketHandlers): Pick<NodeNet.NetConnectOpts, "onread"> {
  const target = handlers.readTarget;
  if (!target || options.allowTlsUpgrade) return {};
  return {
    onread: {
      buffer: () => target() as Buffer,
      callback: (bytes: number, buffer: Uint8Array) => {
        handlers.onData(new Uint8Array(buffer.buffer, buffer.byteOffset, bytes));
        return true; // false would pause the socket
      },
    },
  };
}

/** A socket factory over the given `node:net` and `node:tls` modules. */
export function nodeSocketFactory(modules: NodeSocketModules): SocketFactory {
  return async (options, handlers) => {
    const tls = tlsOptionsOf(options);
    if (modules.workerThreads && options.bulkReads && !options.allowTlsUpgrade) {
      const onThread = connectOnIoThread(modules.workerThreads, options, handlers, tls && tlsConnectOptions(options.host, tls));
      // `undefined`: no thread could start here (worker threads unavailable); read on this thread instead.
      if (onThread) return onThread;
    }
    let socket: NodeNet.Socket;
    try {
      socket = tls
        ? modules.tls.connect({ host: options.host, port: options.port, ...tlsConnectOptions(options.host, tls) })
        : modules.net.connect({ host: options.host, port: options.port, ...readInto(options, handlers) });
    } catch (error) {
      throw tls ? unusableTlsOptions(options, error) : connectionError(options, "connect", "could not connect", error);
    }
    socket.setNoDelay(true);
    await handshake(socket, options, tls !== undefined);
    return new NodeSocket(socket, tls !== undefined, options, handlers, modules.tls);
  };
}
