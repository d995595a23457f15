/**
 * Sockets over `Deno.connect` / `Deno.connectTls`.
 *
 * TLS: extra CA certificates (`caCerts`, added to Mozilla's roots), client certificate and key
 * for mutual TLS. Deno sends the connect host name as SNI and checks the certificate against it;
 * a different `servername` cannot be set, and `rejectUnauthorized: false` is not offered (only a
 * command-line flag disables verification), so both are refused with a `ConnectionError`
 * (reason `unsupported`). No STARTTLS upgrade: `Deno.startTls` needs a connection with no read in
 * progress, which a socket that is always reading never has.
 */
import { StreamSocket, type ByteStream } from "./stream-socket.ts";
import { connectionError, pemList, pemText, tlsOptionsOf, type SocketFactory } from "./socket.ts";

/** The part of Deno's API this file uses. */
interface DenoConn {
  read(buffer: Uint8Array): Promise<number | null>;
  write(bytes: Uint8Array): Promise<number>;
  close(): void;
  setNoDelay?(noDelay?: boolean): void;
}
interface DenoNamespace {
  connect(options: { hostname: string; port: number; transport?: "tcp" }): Promise<DenoConn>;
  connectTls(options: { hostname: string; port: number; caCerts?: string[]; cert?: string; key?: string }): Promise<DenoConn>;
}

const READ_SIZE = 64 * 1024;
const COPY_BELOW = 16 * 1024;

function byteStream(conn: DenoConn): ByteStream {
  let buffer = new Uint8Array(READ_SIZE);
  return {
    async read() {
      const n = await conn.read(buffer);
      if (n === null) return null;
      // Small reads are copied out so the read buffer is reused; big ones keep it (no copy).
      if (n < COPY_BELOW) return buffer.slice(0, n);
      const chunk = buffer.subarray(0, n);
      buffer = new Uint8Array(READ_SIZE);
      return chunk;
    },
    async write(bytes) {
      let offset = 0;
      while (offset < bytes.length) offset += await conn.write(offset === 0 ? bytes : bytes.subarray(offset));
    },
    close() {
      conn.close();
    },
  };
}

/** A socket factory over Deno's global `Deno` namespace. */
export function denoSocketFactory(deno: DenoNamespace = (globalThis as unknown as { Deno: DenoNamespace }).Deno): SocketFactory {
  return async (options, handlers) => {
    const tls = tlsOptionsOf(options);
    if (tls && tls.servername !== undefined && tls.servername !== options.host) {
      throw connectionError(options, "unsupported", "Deno cannot set a TLS server name other than the host connected to");
    }
    if (tls && tls.rejectUnauthorized === false) {
      throw connectionError(options, "unsupported", "Deno cannot skip certificate verification (only --unsafely-ignore-certificate-errors can)");
    }
    let conn: DenoConn;
    try {
      if (tls) {
        const ca = pemList(tls.ca)?.map(pemText);
        conn = await deno.connectTls({
          hostname: options.host,
          port: options.port,
          ...(ca ? { caCerts: ca } : {}),
          ...(tls.cert !== undefined && tls.key !== undefined ? { cert: pemText(tls.cert), key: pemText(tls.key) } : {}),
        });
        // connectTls resolves before the handshake; fail here, not on the first request.
        await (conn as unknown as { handshake?: () => Promise<unknown> }).handshake?.();
      } else {
        conn = await deno.connect({ hostname: options.host, port: options.port, transport: "tcp" });
      }
    } catch (error) {
      throw connectionError(options, tls && (error as Error)?.name !== "ConnectionRefused" ? "tls" : "connect", "could not connect", error);
    }
    conn.setNoDelay?.(true);
    return new StreamSocket(byteStream(conn), tls !== undefined, options, handlers);
  };
}
