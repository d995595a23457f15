/**
 * A connection to one broker that speaks the Kafka protocol: it opens (and, after a failure,
 * reopens) a socket through the transport's `ReconnectingConnection`, greets the broker with
 * ApiVersions on every new socket, negotiates the highest common version of each API, runs the
 * optional authentication hook (SASL), and then sends typed requests and returns typed responses.
 *
 * ApiVersions: sent in Tributary's highest version (4, with the client's software name and
 * version). A broker that does not know that version answers UNSUPPORTED_VERSION in a v0 body
 * (or one we cannot read); the greeting is then repeated in v0, which every broker accepts.
 *
 * It never retries a request (that is the cluster's job, which knows which requests are safe to
 * repeat): a request that fails rejects with `ConnectionError`, `TimeoutError` or
 * `UnsupportedVersionError`. Error codes inside responses are left to the caller.
 */
import { ConnectionError, ProtocolDecodeError, TimeoutError, UnsupportedVersionError } from "../errors.ts";
import type { ApiCodec } from "../protocol/api.ts";
import { decodeResponse, encodeRequest } from "../protocol/frame.ts";
import { APIS, type ApiVersionsResponse } from "../protocol/generated/index.ts";
import { negotiateVersions, pickVersion } from "../protocol/versions.ts";
import type { BackoffOptions } from "../transport/backoff.ts";
import { DEFAULT_REQUEST_TIMEOUT_MS, type Connection } from "../transport/connection.ts";
import { ReconnectingConnection } from "../transport/reconnecting.ts";
import type { SocketFactory, TlsOptions } from "../transport/socket.ts";

export const CLIENT_SOFTWARE_NAME = "tributary";
export const CLIENT_SOFTWARE_VERSION = "0.1.0";
const UNSUPPORTED_VERSION = 35;

/**
 * What the `authenticate` hook gets: the freshly greeted socket, before any other request. With
 * the SASL module: `authenticate: (c) => authenticate(c.connection, mechanism, { apiVersions: c.apiVersions, clientId: c.clientId })`
 * (its result carries the session lifetime, so the connection re-authenticates in time).
 */
export interface AuthenticationContext {
  readonly host: string;
  readonly port: number;
  /** The client id the connection puts in request headers. */
  readonly clientId: string;
  /** The broker's ApiVersions answer (what `authenticate()` of src/client/sasl takes as `apiVersions`). */
  readonly apiVersions: ReadonlyArray<{ apiKey: number; minVersion: number; maxVersion: number }>;
  /** The versions negotiated with this broker (API name → version). */
  readonly versions: ReadonlyMap<string, number>;
  /** Sends a request on this socket (in the negotiated version, or `options.version`). */
  send<Req, Res>(api: ApiCodec<Req, Res>, request: Req, options?: { timeoutMs?: number; version?: number }): Promise<Res>;
  /** The raw connection, for exchanges outside the request/response codecs (SASL v0 tokens). */
  readonly connection: Connection;
}

/** What an `authenticate` hook may report: the broker's session lifetime (SaslAuthenticate v1+). */
export interface AuthenticationOutcome {
  sessionLifetimeMs?: number;
}

/** Re-authentication starts at this share of the session lifetime, plus up to RE_AUTH_JITTER (as Java's client does: 85-95 %). */
const RE_AUTH_AT = 0.85;
const RE_AUTH_JITTER = 0.1;

export interface BrokerConnectionOptions {
  host: string;
  port: number;
  /** The client id sent in every request header. Default "tributary". */
  clientId?: string;
  /** TLS from the first byte; passed through to the socket factory. */
  tls?: TlsOptions | boolean;
  /** Opens sockets; default: the one the runtime's entry point registered. */
  socketFactory?: SocketFactory;
  /** The connection carries large responses (Fetch): passed to the socket factory as a hint. */
  bulkReads?: boolean;
  /** Default 10 s. */
  connectTimeoutMs?: number;
  /** Default time limit per request (including reconnecting and the greeting). Default 30 s. */
  requestTimeoutMs?: number;
  maxFrameBytes?: number;
  /** Backoff between reconnection attempts. */
  backoff?: BackoffOptions;
  /**
   * Runs after ApiVersions on every new socket, before any other request (SASL goes here). When it
   * resolves with a `sessionLifetimeMs` above 0 (the broker's `connections.max.reauth.ms`, KIP-368),
   * it runs again on the same socket before that session ends (see `reauthenticateLater`).
   */
  authenticate?: (connection: AuthenticationContext) => Promise<void | AuthenticationOutcome>;
  /** The broker's node id when known (for errors and routing); -1 for a bootstrap address. */
  nodeId?: number;
}

export interface SendOptions {
  /** Time limit for this request, including (re)connecting. Default: the connection's `requestTimeoutMs`. */
  timeoutMs?: number;
  /** Send in this version instead of the negotiated one. */
  version?: number;
}

/** A request body, or a function that builds it for the negotiated version (for fields that changed shape). */
export type RequestBody<Req> = Req | ((version: number) => Req);

type AnyApi = ApiCodec<any, any>;

export class BrokerConnection {
  readonly host: string;
  readonly port: number;
  readonly nodeId: number;
  private readonly options: BrokerConnectionOptions;
  private readonly clientId: string;
  private readonly reconnecting: ReconnectingConnection;
  private greeted: Connection | undefined;
  private greeting: Promise<Connection> | undefined;
  private negotiated: Map<string, number> = new Map();
  private unsupported: Map<string, UnsupportedVersionError> = new Map();
  private brokerApis: ApiVersionsResponse["apiKeys"] = [];
  private closed = false;
  /** A re-authentication of the greeted socket in progress: new requests wait for it. */
  private reauthenticating: Promise<void> | undefined;
  private reauthTimer: ReturnType<typeof setTimeout> | undefined;
  /** Times the greeted socket was re-authenticated in place (KIP-368). */
  reauthentications = 0;

  constructor(options: BrokerConnectionOptions) {
    this.options = options;
    this.host = options.host;
    this.port = options.port;
    this.nodeId = options.nodeId ?? -1;
    this.clientId = options.clientId ?? "tributary";
    this.reconnecting = new ReconnectingConnection({
      host: options.host,
      port: options.port,
      tls: options.tls,
      socketFactory: options.socketFactory,
      bulkReads: options.bulkReads,
      connectTimeoutMs: options.connectTimeoutMs,
      requestTimeoutMs: options.requestTimeoutMs,
      maxFrameBytes: options.maxFrameBytes,
      backoff: options.backoff,
    });
  }

  /** True while a greeted socket is open. */
  get isConnected(): boolean {
    return this.greeted !== undefined && this.reconnecting.connection === this.greeted;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Consecutive connection failures since the last answered request. */
  get failures(): number {
    return this.reconnecting.failures;
  }

  /** How many sockets have been opened. */
  get connectionCount(): number {
    return this.reconnecting.connectionCount;
  }

  /** The versions negotiated on the current (or last) socket: API name → version. */
  get versions(): ReadonlyMap<string, number> {
    return this.negotiated;
  }

  /** The broker's ApiVersions answer (empty before the first connection). */
  get apiVersions(): ReadonlyArray<{ apiKey: number; minVersion: number; maxVersion: number }> {
    return this.brokerApis;
  }

  /** Opens and greets a socket now (or returns at once when one is open). */
  async connect(timeoutMs?: number): Promise<void> {
    const limit = timeoutMs ?? this.options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    await this.ready(Date.now() + limit);
  }

  /** The negotiated version of `api` (connecting first if needed). */
  async versionOf(api: AnyApi, timeoutMs?: number): Promise<number> {
    await this.connect(timeoutMs);
    return this.versionFor(api);
  }

  /**
   * Sends `request` in the highest version both sides speak and returns the decoded response.
   * Rejects with `UnsupportedVersionError` when there is none, `ConnectionError` when the socket
   * cannot be opened or breaks, `TimeoutError` when no answer arrives within the time limit.
   */
  async send<Req, Res>(api: ApiCodec<Req, Res>, request: RequestBody<Req>, options: SendOptions = {}): Promise<Res> {
    const timeoutMs = options.timeoutMs ?? this.options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    const deadline = Date.now() + timeoutMs;
    const connection = await this.ready(deadline);
    const version = options.version ?? this.versionFor(api);
    return this.exchange(connection, api, version, request, deadline, timeoutMs);
  }

  /**
   * Sends a request the broker does not answer (Produce with acks=0): resolves once the frame is
   * written to the socket. Rejects like `send` when the socket cannot be opened or breaks first.
   */
  async sendNoResponse<Req>(api: ApiCodec<Req, unknown>, request: RequestBody<Req>, options: SendOptions = {}): Promise<void> {
    const timeoutMs = options.timeoutMs ?? this.options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    const deadline = Date.now() + timeoutMs;
    const connection = await this.ready(deadline);
    const version = options.version ?? this.versionFor(api);
    const body = typeof request === "function" ? (request as (version: number) => Req)(version) : request;
    const frame = encodeRequest(api, version, 0, this.clientId, body).subarray(4);
    await connection.request(frame, { timeoutMs: Math.max(1, deadline - Date.now()), expectResponse: false, prefixRoom: true });
  }

  /** Closes the socket; requests in flight fail with a `ConnectionError` (reason `closed-by-client`). */
  close(): void {
    this.closed = true;
    if (this.reauthTimer) clearTimeout(this.reauthTimer);
    this.reconnecting.close();
    this.greeted = undefined;
  }

  private versionFor(api: AnyApi): number {
    const version = this.negotiated.get(api.name);
    if (version !== undefined) return version;
    throw this.unsupported.get(api.name) ?? pickVersionOrThrow(api, this.brokerApis);
  }

  private async exchange<Req, Res>(
    connection: Connection,
    api: ApiCodec<Req, Res>,
    version: number,
    request: RequestBody<Req>,
    deadline: number,
    timeoutMs: number,
  ): Promise<Res> {
    const body = typeof request === "function" ? (request as (version: number) => Req)(version) : request;
    // A fresh frame per attempt; the connection writes its size prefix and correlation id in place.
    const frame = encodeRequest(api, version, 0, this.clientId, body).subarray(4);
    const remaining = deadline - Date.now();
    if (remaining <= 0) throw new TimeoutError(`${this.host}:${this.port}: ${api.name} ran out of its ${timeoutMs} ms before it was sent`, timeoutMs);
    const response = await connection.request(frame, { timeoutMs: remaining, prefixRoom: true });
    return decodeResponse(api, version, response).body;
  }

  /** A greeted socket: the live one, or a new one (ApiVersions, then `authenticate`). */
  private ready(deadline: number): Promise<Connection> {
    if (this.closed) {
      return Promise.reject(new ConnectionError({ host: this.host, port: this.port, reason: "closed-by-client", message: "the connection was closed by the client" }));
    }
    const live = this.reconnecting.connection;
    if (live && live === this.greeted) {
      return this.reauthenticating ? this.reauthenticating.then(() => this.ready(deadline)) : Promise.resolve(live);
    }
    this.greeting ??= this.greet(deadline).finally(() => (this.greeting = undefined));
    return this.greeting;
  }

  private async greet(deadline: number): Promise<Connection> {
    // ApiVersions goes through the reconnecting connection: it opens the socket (with backoff)
    // and records the success, which resets the backoff.
    const ask = async (version: number): Promise<ApiVersionsResponse> => {
      const body = encodeRequest(APIS.ApiVersions, version, 0, this.clientId, {
        clientSoftwareName: CLIENT_SOFTWARE_NAME,
        clientSoftwareVersion: CLIENT_SOFTWARE_VERSION,
      }).subarray(4);
      const remaining = Math.max(1, deadline - Date.now());
      const frame = await this.reconnecting.request(body, { timeoutMs: remaining });
      try {
        return decodeResponse(APIS.ApiVersions, version, frame).body;
      } catch (error) {
        // A broker that does not know `version` answers in v0, which the v3+ decoder cannot read.
        if (error instanceof ProtocolDecodeError && version > 0) {
          return { ...decodeResponse(APIS.ApiVersions, 0, frame).body, errorCode: UNSUPPORTED_VERSION };
        }
        throw error;
      }
    };
    let answer = await ask(APIS.ApiVersions.maxVersion);
    if (answer.errorCode === UNSUPPORTED_VERSION) answer = await ask(0);
    if (answer.errorCode !== 0) {
      throw new ConnectionError({
        host: this.host, port: this.port, reason: "protocol",
        message: `ApiVersions failed with error code ${answer.errorCode}`,
      });
    }
    const connection = this.reconnecting.connection;
    if (!connection) {
      throw new ConnectionError({ host: this.host, port: this.port, reason: "closed", message: "the connection closed right after ApiVersions" });
    }
    const { versions, unsupported } = negotiateVersions(Object.values(APIS), answer.apiKeys);
    this.negotiated = versions;
    this.unsupported = unsupported;
    this.brokerApis = answer.apiKeys;
    let sessionLifetimeMs = 0;
    if (this.options.authenticate) {
      try {
        const outcome = await this.options.authenticate(this.authenticationContext(connection, answer.apiKeys, deadline));
        sessionLifetimeMs = outcome?.sessionLifetimeMs ?? 0;
      } catch (error) {
        connection.close(); // an unauthenticated socket must not carry requests
        throw error;
      }
    }
    if (connection.isClosed) {
      throw new ConnectionError({ host: this.host, port: this.port, reason: "closed", message: "the connection closed while it was being set up" });
    }
    this.greeted = connection;
    this.reauthenticateLater(connection, answer.apiKeys, sessionLifetimeMs);
    return connection;
  }

  private authenticationContext(connection: Connection, apiVersions: ApiVersionsResponse["apiKeys"], deadline: number): AuthenticationContext {
    return {
      host: this.host,
      port: this.port,
      clientId: this.clientId,
      apiVersions,
      versions: this.negotiated,
      connection,
      send: (api, request, options = {}) => {
        const limit = options.timeoutMs ?? Math.max(1, deadline - Date.now());
        return this.exchange(connection, api, options.version ?? this.versionFor(api), request, Date.now() + limit, limit);
      },
    };
  }

  /**
   * KIP-368: a broker with `connections.max.reauth.ms` closes a SASL connection whose session
   * ended. Before that, the same socket authenticates again: new requests wait, the ones in flight
   * finish (the broker must see no other request during the exchange), the hook runs, and requests
   * go on. If it fails, the socket is closed and the next request opens and authenticates a new one.
   */
  private reauthenticateLater(connection: Connection, apiVersions: ApiVersionsResponse["apiKeys"], sessionLifetimeMs: number): void {
    if (this.reauthTimer) clearTimeout(this.reauthTimer);
    this.reauthTimer = undefined;
    if (!(sessionLifetimeMs > 0)) return;
    const at = sessionLifetimeMs * (RE_AUTH_AT + Math.random() * RE_AUTH_JITTER);
    this.reauthTimer = setTimeout(() => {
      this.reauthTimer = undefined;
      if (this.closed || connection !== this.greeted || connection.isClosed) return;
      this.reauthenticating = this.reauthenticate(connection, apiVersions).finally(() => (this.reauthenticating = undefined));
    }, at);
    // A pending re-authentication must not keep a process alive.
    (this.reauthTimer as { unref?: () => void }).unref?.();
  }

  private async reauthenticate(connection: Connection, apiVersions: ApiVersionsResponse["apiKeys"]): Promise<void> {
    const timeoutMs = this.options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    const deadline = Date.now() + timeoutMs;
    while (connection.inFlight > 0 && !connection.isClosed && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 2));
    if (connection.isClosed || connection !== this.greeted) return;
    if (connection.inFlight === 0) {
      try {
        const outcome = await this.options.authenticate!(this.authenticationContext(connection, apiVersions, deadline));
        this.reauthentications++;
        this.reauthenticateLater(connection, apiVersions, outcome?.sessionLifetimeMs ?? 0);
        return;
      } catch {
        // Falls through to a new socket.
      }
    }
    // Still busy at the deadline, or the login failed: the session is ending anyway, so a new
    // socket (with a full login) replaces this one.
    this.greeted = undefined;
    connection.close();
  }
}

function pickVersionOrThrow(api: AnyApi, broker: ApiVersionsResponse["apiKeys"]): UnsupportedVersionError {
  try {
    pickVersion(api, broker);
  } catch (error) {
    if (error instanceof UnsupportedVersionError) return error;
    throw error;
  }
  return new UnsupportedVersionError({ api: api.name, apiKey: api.key, brokerRange: null, clientRange: { min: api.minVersion, max: api.maxVersion } });
}
