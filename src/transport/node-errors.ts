/**
 * How Node's socket failures become `ConnectionError`s, shared by the sockets on the calling
 * thread (node.ts) and on the I/O thread (node-io-thread.ts), so that both report the same reasons.
 */
import type { ConnectionError } from "../errors.ts";
import { connectionError, isTlsErrorCode, type SocketOptions } from "./socket.ts";

/** A socket that could not connect (or finish its TLS handshake): reason "tls" for TLS failures. */
export function connectFailed(options: SocketOptions, cause: unknown): ConnectionError {
  return connectionError(options, isTlsErrorCode(cause) ? "tls" : "connect", "could not connect", cause);
}

/** An open socket that closed by itself: after an error (`cause`) or an orderly end by the peer. */
export function closedUnasked(options: SocketOptions, secure: boolean, cause: unknown): ConnectionError {
  return cause === undefined
    ? connectionError(options, "closed", "the connection was closed by the peer")
    : connectionError(options, secure && isTlsErrorCode(cause) ? "tls" : "closed", "the connection failed", cause);
}

/** `tls.connect` throws at once when it cannot use the CA, certificate or key it was given. */
export function unusableTlsOptions(options: SocketOptions, cause: unknown): ConnectionError {
  return connectionError(options, "tls", "could not use the TLS options (CA, certificate or key)", cause);
}
