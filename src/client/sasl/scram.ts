/**
 * SASL SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802, RFC 7677), as Kafka implements them, on Web
 * Crypto alone (`crypto.subtle` PBKDF2, HMAC and digest), so the same code runs in Node ≥ 20, Bun,
 * Deno and workerd.
 *
 *   client-first  n,,n=<user>,r=<client nonce>[,<ext>=<value>...]
 *   server-first  r=<client nonce + server nonce>,s=<salt>,i=<iterations>
 *   client-final  c=biws,r=<nonce>,p=<proof>
 *   server-final  v=<server signature>   (or e=<error>)
 *
 * The server's signature is checked (in constant time): a server that does not know the
 * password's salted form cannot complete the exchange. Like Kafka's Java client, the password is
 * used as its UTF-8 bytes (no SASLprep) and fewer than 4096 iterations are refused.
 */
import { AuthenticationError } from "../../errors.ts";
import { fromBase64, fromUtf8, type SaslMechanism, toBase64, utf8 } from "./mechanism.ts";

export type ScramHash = "SHA-256" | "SHA-512";

export interface ScramCredentials {
  username: string;
  password: string;
  /**
   * SCRAM extensions for the client-first message, e.g. `{ tokenauth: "true" }` to log in with a
   * Kafka delegation token (username = token id, password = token HMAC).
   */
  extensions?: Record<string, string>;
  /** Tests only: a fixed client nonce instead of 32 random bytes (base64). */
  clientNonce?: string;
}

const MIN_ITERATIONS = 4096;
/** Far above anything Kafka stores (its maximum is 16384); guards against a hostile server. */
const MAX_ITERATIONS = 1_000_000;

const BITS: Record<ScramHash, number> = { "SHA-256": 256, "SHA-512": 512 };

function subtle(): SubtleCrypto {
  const s = globalThis.crypto?.subtle;
  if (!s) throw new AuthenticationError("SCRAM needs Web Crypto (globalThis.crypto.subtle), which this runtime lacks");
  return s;
}

/** A copy backed by a plain ArrayBuffer, as Web Crypto's typings want. */
function buf(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  return copy;
}

async function hmac(hash: ScramHash, key: Uint8Array, data: Uint8Array): Promise<Uint8Array> {
  const k = await subtle().importKey("raw", buf(key), { name: "HMAC", hash }, false, ["sign"]);
  return new Uint8Array(await subtle().sign("HMAC", k, buf(data)));
}

async function digest(hash: ScramHash, data: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await subtle().digest(hash, buf(data)));
}

/** Hi() of RFC 5802: PBKDF2 with HMAC-`hash`, output as long as the hash. */
export async function saltedPassword(hash: ScramHash, password: string, salt: Uint8Array, iterations: number): Promise<Uint8Array> {
  const key = await subtle().importKey("raw", buf(utf8(password)), "PBKDF2", false, ["deriveBits"]);
  return new Uint8Array(await subtle().deriveBits({ name: "PBKDF2", hash, salt: buf(salt), iterations }, key, BITS[hash]));
}

/** RFC 5802's saslname: "=" and "," escaped. */
function saslName(name: string): string {
  return name.replace(/=/g, "=3D").replace(/,/g, "=2C");
}

function equalConstantTime(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** Parses `k=v,k=v` (values may contain "="); the first occurrence of a key wins. */
function attributes(message: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const part of message.split(",")) {
    const eq = part.indexOf("=");
    if (eq !== 1) continue; // attribute names are one letter
    const key = part.slice(0, 1);
    if (!map.has(key)) map.set(key, part.slice(2));
  }
  return map;
}

function randomNonce(): string {
  const bytes = new Uint8Array(32);
  globalThis.crypto.getRandomValues(bytes);
  return toBase64(bytes);
}

export function saslScram(hash: ScramHash, credentials: ScramCredentials): SaslMechanism {
  const { username, password, extensions = {} } = credentials;
  if (typeof username !== "string" || typeof password !== "string") throw new TypeError("SCRAM needs a username and a password (strings)");
  for (const [key, value] of Object.entries(extensions)) {
    if (!/^[A-Za-z]+$/.test(key) || key.length === 1 || value.includes(",")) {
      throw new TypeError(`SCRAM extension ${JSON.stringify(key)}: names are letters (more than one), values have no ","`);
    }
  }
  const name = `SCRAM-${hash}`;
  const fail = (why: string): never => {
    throw new AuthenticationError(`SASL ${name}: ${why}`);
  };
  const clientNonce = credentials.clientNonce ?? randomNonce();
  const ext = Object.entries(extensions).map(([k, v]) => `,${k}=${v}`).join("");
  const clientFirstBare = `n=${saslName(username)},r=${clientNonce}${ext}`;
  let state: "start" | "first" | "final" | "done" = "start";
  let expectedServerSignature: Uint8Array | undefined;

  async function clientFinal(serverFirst: string): Promise<Uint8Array> {
    const attrs = attributes(serverFirst);
    if (serverFirst.startsWith("m=")) fail("the broker requires an unknown mandatory extension");
    if (attrs.has("e")) fail(`the broker refused the login: ${attrs.get("e")}`);
    const nonce = attrs.get("r");
    const saltText = attrs.get("s");
    const iterationsText = attrs.get("i");
    if (nonce === undefined || saltText === undefined || iterationsText === undefined) fail("malformed server-first message");
    if (!nonce!.startsWith(clientNonce) || nonce!.length === clientNonce.length) fail("the server nonce does not extend the client nonce");
    const iterations = /^[0-9]{1,9}$/.test(iterationsText!) ? Number(iterationsText) : NaN;
    if (!(iterations >= MIN_ITERATIONS && iterations <= MAX_ITERATIONS)) {
      fail(`the broker asked for ${iterationsText} iterations; accepted: ${MIN_ITERATIONS}-${MAX_ITERATIONS}`);
    }
    let salt: Uint8Array;
    try {
      salt = fromBase64(saltText!);
    } catch {
      return fail("the salt is not base64");
    }
    const salted = await saltedPassword(hash, password, salt, iterations);
    const clientKey = await hmac(hash, salted, utf8("Client Key"));
    const storedKey = await digest(hash, clientKey);
    const clientFinalWithoutProof = `c=biws,r=${nonce}`; // biws = base64("n,,"): no channel binding, no authzid
    const authMessage = utf8(`${clientFirstBare},${serverFirst},${clientFinalWithoutProof}`);
    const clientSignature = await hmac(hash, storedKey, authMessage);
    const proof = clientKey.map((byte, i) => byte ^ clientSignature[i]!);
    const serverKey = await hmac(hash, salted, utf8("Server Key"));
    expectedServerSignature = await hmac(hash, serverKey, authMessage);
    return utf8(`${clientFinalWithoutProof},p=${toBase64(proof)}`);
  }

  function verifyServerFinal(serverFinal: string): void {
    const attrs = attributes(serverFinal);
    if (attrs.has("e")) fail(`the broker refused the login: ${attrs.get("e")}`);
    const v = attrs.get("v");
    if (v === undefined) fail("malformed server-final message");
    let signature: Uint8Array;
    try {
      signature = fromBase64(v!);
    } catch {
      return fail("the server signature is not base64");
    }
    if (!equalConstantTime(signature, expectedServerSignature!)) {
      fail("the server signature is wrong: the broker does not know this user's credentials (or is not the broker)");
    }
  }

  return {
    name,
    async start() {
      if (state !== "start") fail("start() called twice; use a new mechanism per connection");
      state = "first";
      return utf8(`n,,${clientFirstBare}`);
    },
    async next(challenge) {
      let text: string;
      try {
        text = fromUtf8(challenge);
      } catch {
        return fail("the broker's message is not UTF-8");
      }
      if (state === "first") {
        state = "final";
        return clientFinal(text);
      }
      if (state === "final") {
        verifyServerFinal(text);
        state = "done";
        return null;
      }
      return fail(`unexpected message in state ${state}`);
    },
  };
}

export function saslScramSha256(credentials: ScramCredentials): SaslMechanism {
  return saslScram("SHA-256", credentials);
}

export function saslScramSha512(credentials: ScramCredentials): SaslMechanism {
  return saslScram("SHA-512", credentials);
}
