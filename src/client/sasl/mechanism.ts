/**
 * The SASL mechanism interface and the small helpers the mechanisms share.
 *
 * A mechanism is a client-side state machine for one authentication exchange (make a new one per
 * connection): `start()` gives the first message, and `next(challenge)` takes each server message
 * and gives the next client message, or `null` when the exchange is complete on the client's side
 * (for SCRAM, after the server's signature was verified). A mechanism that finds the server's
 * message wrong throws `AuthenticationError`.
 */

export interface SaslMechanism {
  /** The SASL mechanism name sent in SaslHandshake, e.g. "SCRAM-SHA-256". */
  readonly name: string;
  /** The client's first message. */
  start(): Promise<Uint8Array>;
  /** The next client message for the server's `challenge`, or `null` when authentication is complete. */
  next(challenge: Uint8Array): Promise<Uint8Array | null>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

export function fromUtf8(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

export function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]!);
  return btoa(binary);
}

/** Throws `SyntaxError` (from `atob`) for text that is not base64. */
export function fromBase64(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
