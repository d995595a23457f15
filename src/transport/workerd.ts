/**
 * Sockets over `connect()` from `cloudflare:sockets` (Cloudflare Workers, workerd). The function
 * is passed in by the entry point (src/entry/workerd.ts), which imports the module.
 *
 * TLS: `secureTransport: "on"` with the platform's trust store only — no custom CA, no client
 * certificate, no other SNI name than the host, no way to skip verification; asking for any of
 * them is refused with a `ConnectionError` (reason `unsupported`) rather than silently ignored.
 * In self-hosted workerd the host decides instead: the `tlsOptions` of the network service that
 * is the Worker's globalOutbound set the CAs its TLS sockets trust (`trustedCertificates`) and the
 * client certificate they present (`keypair`) — a private CA and mutual TLS work that way
 * (test/transport/tls-broker.test.ts). A certificate it does not trust fails with reason `tls`.
 * STARTTLS works for sockets opened with `allowTlsUpgrade` (`secureTransport: "starttls"`).
 * Workers cannot reach private addresses on Cloudflare's network; local workerd can when its
 * config allows it (a network service with `allow = ["local", ...]` as the `globalOutbound`).
 */
import { StreamSocket, type ByteStream } from "./stream-socket.ts";
import { connectionError, tlsOptionsOf, type SocketFactory, type TlsOptions } from "./socket.ts";

/** The part of `cloudflare:sockets` this file uses. */
export interface CloudflareSocket {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
  readonly opened: Promise<unknown>;
  readonly closed: Promise<void>;
  close(): Promise<void>;
  startTls(): CloudflareSocket;
}
export type CloudflareConnect = (
  address: { hostname: string; port: number },
  options?: { secureTransport?: "off" | "on" | "starttls"; allowHalfOpen?: boolean },
) => CloudflareSocket;

function byteStream(socket: CloudflareSocket): ByteStream & { release(): void } {
  const reader = socket.readable.getReader();
  const writer = socket.writable.getWriter();
  return {
    async read() {
      const { value, done } = await reader.read();
      return done ? null : (value ?? new Uint8Array(0));
    },
    write(bytes) {
      return writer.write(bytes);
    },
    close() {
      socket.close().catch(() => {});
    },
    release() {
      reader.releaseLock();
      writer.releaseLock();
    },
  };
}

function refuseUnsupported(options: { host: string; port: number }, tls: TlsOptions) {
  const unsupported = [
    tls.ca !== undefined && "a custom CA",
    (tls.cert !== undefined || tls.key !== undefined) && "client certificates",
    tls.servername !== undefined && tls.servername !== options.host && "a server name other than the host",
    tls.rejectUnauthorized === false && "rejectUnauthorized: false",
  ].filter(Boolean);
  if (unsupported.length > 0) {
    throw connectionError(options, "unsupported", `workerd's TLS sockets cannot use ${unsupported.join(", ")}`);
  }
}

/** A socket factory over `connect` from `cloudflare:sockets`. */
export function workerdSocketFactory(connect: CloudflareConnect): SocketFactory {
  return async (options, handlers) => {
    const tls = tlsOptionsOf(options);
    if (tls) refuseUnsupported(options, tls);
    let socket: CloudflareSocket;
    try {
      socket = connect(
        { hostname: options.host, port: options.port },
        { secureTransport: tls ? "on" : options.allowTlsUpgrade ? "starttls" : "off", allowHalfOpen: false },
      );
      await socket.opened;
    } catch (error) {
      throw connectionError(options, tls ? "tls" : "connect", "could not connect", error);
    }
    let stream = byteStream(socket);
    const upgrade = options.allowTlsUpgrade && !tls
      ? async (upgradeTls: TlsOptions) => {
          refuseUnsupported(options, upgradeTls);
          stream.release();
          socket = socket.startTls();
          await socket.opened;
          stream = byteStream(socket);
          return stream;
        }
      : undefined;
    return new StreamSocket(stream, tls !== undefined, options, handlers, upgrade);
  };
}
