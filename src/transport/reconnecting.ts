/**
 * A connection that reopens itself: the next request after a failure opens a new socket, waiting
 * out a capped, jittered exponential backoff first. It never retries a request: a request that
 * fails — before it was sent (no connection) or after (the connection broke) — rejects, and the
 * caller decides whether it is safe to send again (Produce without idempotence is not).
 *
 * It never hangs: every request is bounded by its timeout, which covers waiting for the backoff,
 * connecting and the response. When the backoff delay would outlast the request's timeout, the
 * request fails at once with the last connection error.
 */
import { ConnectionError, TimeoutError } from "../errors.ts";
import { Backoff, type BackoffOptions } from "./backoff.ts";
import { Connection, DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_REQUEST_TIMEOUT_MS, type ConnectionOptions, type RequestOptions } from "./connection.ts";
import { connectionError } from "./socket.ts";

export interface ReconnectingConnectionOptions extends ConnectionOptions {
  backoff?: BackoffOptions;
}

export class ReconnectingConnection {
  readonly host: string;
  readonly port: number;
  private readonly options: ReconnectingConnectionOptions;
  private readonly backoff: Backoff;
  private current: Connection | undefined;
  private opening: Promise<Connection> | undefined;
  private retryAt = 0;
  private lastError: ConnectionError | undefined;
  private closed = false;
  private connects = 0;

  constructor(options: ReconnectingConnectionOptions) {
    this.options = options;
    this.host = options.host;
    this.port = options.port;
    this.backoff = new Backoff(options.backoff);
  }

  /** How many sockets this has opened so far. */
  get connectionCount(): number {
    return this.connects;
  }

  /** Consecutive failures (failed connects and broken connections) since the last response. */
  get failures(): number {
    return this.backoff.attempts;
  }

  /** The live connection, if there is one. */
  get connection(): Connection | undefined {
    return this.current && !this.current.isClosed ? this.current : undefined;
  }

  request(message: Uint8Array, options?: RequestOptions & { expectResponse?: true }): Promise<Uint8Array>;
  request(message: Uint8Array, options: RequestOptions & { expectResponse: false }): Promise<undefined>;
  request(message: Uint8Array, options?: RequestOptions): Promise<Uint8Array | undefined>;
  async request(message: Uint8Array, options: RequestOptions = {}): Promise<Uint8Array | undefined> {
    const timeoutMs = options.timeoutMs ?? this.options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    const deadline = Date.now() + timeoutMs;
    const connection = this.connection ?? (await this.open(deadline, timeoutMs));
    const response = await connection.request(message, { ...options, timeoutMs: Math.max(1, deadline - Date.now()) });
    this.backoff.reset();
    return response;
  }

  /** Opens a connection now (honouring the backoff), or returns the live one. */
  connect(timeoutMs = this.options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS): Promise<Connection> {
    return this.connection ? Promise.resolve(this.connection) : this.open(Date.now() + timeoutMs, timeoutMs);
  }

  /** Closes the live connection and refuses further requests. */
  close(): void {
    this.closed = true;
    this.current?.close();
    this.current = undefined;
  }

  private open(deadline: number, timeoutMs: number): Promise<Connection> {
    if (this.closed) return Promise.reject(connectionError(this, "closed-by-client", "the connection was closed by the client"));
    const wait = this.retryAt - Date.now();
    if (wait > deadline - Date.now()) {
      return Promise.reject(
        new ConnectionError({
          host: this.host,
          port: this.port,
          reason: this.lastError?.reason ?? "connect",
          message: `not reconnecting for another ${wait} ms after ${this.backoff.attempts} failures ` +
            `(the request's ${timeoutMs} ms would run out); last error: ${this.lastError?.message}`,
          cause: this.lastError,
        }),
      );
    }
    this.opening ??= this.attempt(deadline).finally(() => (this.opening = undefined));
    return withDeadline(this.opening, deadline, timeoutMs, this);
  }

  private async attempt(deadline: number): Promise<Connection> {
    const wait = this.retryAt - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    if (this.closed) throw connectionError(this, "closed-by-client", "the connection was closed by the client");
    const connectTimeoutMs = Math.max(1, Math.min(this.options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS, deadline - Date.now()));
    let connection: Connection;
    try {
      this.connects++;
      connection = await Connection.connect({
        ...this.options,
        connectTimeoutMs,
        onClose: (error) => {
          if (error) this.failed(error);
          if (this.current === connection) this.current = undefined;
          this.options.onClose?.(error);
        },
      });
    } catch (error) {
      this.failed(error as ConnectionError);
      throw error;
    }
    if (this.closed) {
      connection.close();
      throw connectionError(this, "closed-by-client", "the connection was closed by the client");
    }
    this.current = connection;
    return connection;
  }

  private failed(error: ConnectionError): void {
    if (error === this.lastError) return; // the same failure, reported by both the socket and connect()
    this.lastError = error;
    this.retryAt = Date.now() + this.backoff.next();
  }
}

function withDeadline<T>(promise: Promise<T>, deadline: number, timeoutMs: number, where: { host: string; port: number }): Promise<T> {
  const remaining = deadline - Date.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(connectionError(where, "timeout", "could not connect in time", new TimeoutError(`no connection within ${timeoutMs} ms`, timeoutMs))),
      Math.max(0, remaining),
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
