/** The transport layer's public surface (re-exported from src/index.ts). */
export {
  defaultSocketFactory,
  setDefaultSocketFactory,
  type Pem,
  type Socket,
  type SocketFactory,
  type SocketHandlers,
  type SocketOptions,
  type TlsOptions,
} from "./socket.ts";
export {
  Connection,
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_MAX_FRAME_BYTES,
  DEFAULT_REQUEST_TIMEOUT_MS,
  type ConnectionOptions,
  type RequestOptions,
} from "./connection.ts";
export { ReconnectingConnection, type ReconnectingConnectionOptions } from "./reconnecting.ts";
export { Backoff, backoffCeiling, backoffDelay, type BackoffOptions } from "./backoff.ts";
export { nodeSocketFactory, type NodeSocketModules } from "./node.ts";
export { bunSocketFactory } from "./bun.ts";
export { denoSocketFactory } from "./deno.ts";
export { workerdSocketFactory, type CloudflareConnect, type CloudflareSocket } from "./workerd.ts";
