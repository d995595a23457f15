/**
 * The one socket interface every runtime implements (node.ts, bun.ts, deno.ts, workerd.ts), and
 * the registry through which each entry point (src/entry/*.ts) installs its runtime's default.
 *
 * Bytes arrive through a callback rather than an async iterator: Node's and Bun's sockets are
 * callback-based already (no promise per chunk), and the stream-based runtimes (Deno, workerd)
 * run one read loop that feeds the callback, so every runtime pays the least it can.
 */
import { ConnectionError } from "../errors.ts";

/** PEM text or bytes (a CA certificate, a client certificate chain, a private key). */
export type Pem = string | Uint8Array;

export interface TlsOptions {
  /** CA certificate(s) to trust, PEM. Replaces the default roots in Node and Bun; adds to them in Deno. */
  ca?: Pem | Pem[];
  /** Client certificate chain (PEM) for mutual TLS, with `key`. */
  cert?: Pem;
  /** Client private key (PEM) for mutual TLS, with `cert`. */
  key?: Pem;
  /** Server name for SNI and for checking the certificate; defaults to `host`. */
  servername?: string;
  /** `false` accepts any server certificate (tests only). Default `true`. */
  rejectUnauthorized?: boolean;
}

export interface SocketOptions {
  host: string;
  port: number;
  /** Connect with TLS from the first byte (what Kafka's SSL listeners expect). */
  tls?: TlsOptions | boolean;
  /**
   * Open a plain socket that may be upgraded later with `socket.startTls()` (workerd needs to know
   * this when connecting; Node reads such a socket without `onread`). Ignored when `tls` is set.
   */
  allowTlsUpgrade?: boolean;
  /**
   * The connection carries large responses (Fetch). A hint: a runtime that can read on another
   * thread does so (Node: node-io-thread.ts), so the owner's thread never stalls the transfer while
   * it works. Factories may ignore it.
   */
  bulkReads?: boolean;
  /** The owner's limit on a response frame: a factory that frames responses itself must not allocate beyond it. */
  maxFrameBytes?: number;
}

/** What the socket tells its owner. Each socket calls `onClose` exactly once, and nothing after it. */
export interface SocketHandlers {
  /** Bytes received. The owner may keep the chunk: implementations never reuse its memory. */
  onData(chunk: Uint8Array): void;
  /** The socket closed: by the peer or an error (`error` set, a `ConnectionError`) or by `close()`. */
  onClose(error?: ConnectionError): void;
  /**
   * Optional: memory the next read may fill (its bytes then arrive by `onData` as a view of it).
   * The owner hands out the unfilled rest of a large frame it is assembling, so a runtime that can
   * read into given memory (Node's `onread`) saves copying every chunk, and allocating it. Always
   * fresh or owner-managed memory: implementations never keep or reuse it.
   */
  readTarget?(): Uint8Array;
}

export interface Socket {
  /**
   * Queues bytes for sending (the caller must not change them afterwards). Returns a promise when
   * the runtime's send buffer is full: write more only after it settles (back-pressure). The
   * promise resolves once the socket can take more, or when it closes (errors arrive by `onClose`).
   */
  write(bytes: Uint8Array): void | Promise<void>;
  /**
   * Upgrades a plain socket to TLS (only when the runtime supports it, and only for sockets opened
   * with `allowTlsUpgrade`). Do not write while the upgrade runs.
   */
  startTls?(tls: TlsOptions): Promise<void>;
  /** Closes the socket; `onClose` follows (without an error). Safe to call more than once. */
  close(): void;
}

/**
 * Back-pressure for `Socket.write`: while a socket's buffer is full, every writer gets the same
 * promise (`wait`), settled by `open` once the socket can take more, or when it closes.
 */
export class DrainGate {
  #waiter: Promise<void> | undefined;
  #release: (() => void) | undefined;

  wait(): Promise<void> {
    this.#waiter ??= new Promise<void>((resolve) => (this.#release = resolve));
    return this.#waiter;
  }

  open(): void {
    const release = this.#release;
    this.#waiter = this.#release = undefined;
    release?.();
  }
}

/** Opens a socket; rejects with a `ConnectionError` when it cannot. */
export type SocketFactory = (options: SocketOptions, handlers: SocketHandlers) => Promise<Socket>;

const unsupported: SocketFactory = (options) =>
  Promise.reject(
    new ConnectionError({
      host: options.host,
      port: options.port,
      reason: "unsupported",
      message: "this runtime has no TCP sockets (browsers cannot reach Kafka directly): pass a socketFactory",
    }),
  );

let defaultFactory: SocketFactory = unsupported;

/** Called once by each runtime entry point. */
export function setDefaultSocketFactory(factory: SocketFactory): void {
  defaultFactory = factory;
}

/** The socket factory the runtime's entry point registered (one that always rejects if none did). */
export function defaultSocketFactory(): SocketFactory {
  return defaultFactory;
}

/**
 * Normalises `tls: true | {...}` to options, or undefined for plain TCP. A client certificate
 * without its key (or a key without its certificate) is refused (`ConnectionError`, reason `tls`):
 * runtimes would otherwise ignore it or fail in their own ways.
 */
export function tlsOptionsOf(options: SocketOptions): TlsOptions | undefined {
  if (options.tls === undefined || options.tls === false) return undefined;
  const tls = options.tls === true ? {} : options.tls;
  if ((tls.cert === undefined) !== (tls.key === undefined)) {
    throw connectionError(options, "tls", "a client certificate needs both `cert` and `key`");
  }
  return tls;
}

/**
 * True for the TLS errors of the OpenSSL-based runtimes (Node, and Bun's BoringSSL): failed
 * verification, alerts from the peer, and PEM/key material they could not use.
 */
export function isTlsErrorCode(error: unknown): boolean {
  const code = (error as { code?: unknown } | null | undefined)?.code;
  return typeof code === "string" && /^(ERR_SSL|ERR_TLS|CERT_|UNABLE_TO|DEPTH_ZERO|SELF_SIGNED|ERR_OSSL|ERR_BORINGSSL)/.test(code);
}

export function pemList(ca: Pem | Pem[] | undefined): Pem[] | undefined {
  if (ca === undefined) return undefined;
  return Array.isArray(ca) ? ca : [ca];
}

export function pemText(pem: Pem): string {
  return typeof pem === "string" ? pem : new TextDecoder().decode(pem);
}

/** Wraps whatever a runtime threw into a `ConnectionError`. */
export function connectionError(
  options: { host: string; port: number },
  reason: ConnectionError["reason"],
  what: string,
  cause?: unknown,
): ConnectionError {
  if (cause instanceof ConnectionError) return cause;
  const detail = cause instanceof Error ? `: ${cause.message}` : cause === undefined ? "" : `: ${String(cause)}`;
  return new ConnectionError({ host: options.host, port: options.port, reason, message: `${what}${detail}`, cause });
}
