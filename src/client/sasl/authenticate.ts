/**
 * SASL authentication of a freshly opened broker connection (KIP-43 / KIP-152):
 *
 *   [ApiVersions]        only if the caller did not already ask (it may precede SASL)
 *   SaslHandshake v1     names the mechanism; the broker answers with the ones it enables
 *   SaslAuthenticate*    the mechanism's messages, each answered by the broker, until both are done
 *
 * Independent of any cluster layer: it needs only a transport `Connection` and, optionally, the
 * broker's ApiVersions answer (to pick the SaslAuthenticate version, v0-v2). Any failure closes the
 * connection (a half-authenticated connection is of no use; the broker closes it too) and throws:
 * `UnsupportedSaslMechanismError` when the broker does not enable the mechanism,
 * `AuthenticationError` (with the broker's message) when the login fails.
 */
import { AuthenticationError, UnsupportedSaslMechanismError, UnsupportedVersionError } from "../../errors.ts";
import type { ApiCodec } from "../../protocol/api.ts";
import { errorForCode } from "../../protocol/error-codes.ts";
import { decodeResponse, encodeRequest } from "../../protocol/frame.ts";
import { APIS } from "../../protocol/generated/index.ts";
import { pickVersion, type VersionRange } from "../../protocol/versions.ts";
import type { Connection } from "../../transport/connection.ts";
import type { SaslMechanism } from "./mechanism.ts";

export interface SaslAuthenticateOptions {
  /** The broker's ApiVersions answer (`apiKeys`), if the caller has it; otherwise it is asked for. */
  apiVersions?: ReadonlyArray<VersionRange>;
  /** Client id in the request headers. Default "tributary". */
  clientId?: string | null;
  /** Time limit per request. Default: the connection's `requestTimeoutMs`. */
  timeoutMs?: number;
}

export interface SaslAuthenticateResult {
  mechanism: string;
  /** The SaslAuthenticate version used (0-2). */
  version: number;
  /**
   * From SaslAuthenticate v1+: milliseconds until the broker closes the connection unless it
   * re-authenticates (KIP-368); 0 when the broker sets no limit (connections.max.reauth.ms unset).
   */
  sessionLifetimeMs: number;
  /** The mechanisms the broker enables (its SaslHandshake answer). */
  enabledMechanisms: string[];
}

const UNSUPPORTED_VERSION = 35;
const UNSUPPORTED_SASL_MECHANISM = 33;

async function send<Req, Res>(
  connection: Connection,
  api: ApiCodec<Req, Res>,
  version: number,
  body: Req,
  options: SaslAuthenticateOptions,
): Promise<Res> {
  // The connection writes the size prefix and its own correlation id over the 0 here, in place.
  const frame = encodeRequest(api, version, 0, options.clientId === undefined ? "tributary" : options.clientId, body);
  const response = await connection.request(frame.subarray(4), { prefixRoom: true, ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }) });
  return decodeResponse(api, version, response).body;
}

async function brokerApiVersions(connection: Connection, options: SaslAuthenticateOptions): Promise<ReadonlyArray<VersionRange>> {
  const request = { clientSoftwareName: "tributary", clientSoftwareVersion: "0.1.0" };
  let answer = await send(connection, APIS.ApiVersions, 3, request, options);
  // A broker that lacks v3 says so in a v0-shaped answer that lists what it has.
  if (answer.errorCode === UNSUPPORTED_VERSION) answer = await send(connection, APIS.ApiVersions, 0, request, options);
  if (answer.errorCode !== 0) {
    throw new AuthenticationError(`ApiVersions before SASL failed: ${errorForCode(answer.errorCode).name}`);
  }
  return answer.apiKeys;
}

function brokerMessage(errorCode: number, message: string | null): string {
  const entry = errorForCode(errorCode);
  return `${entry.name}: ${message || entry.description}`;
}

/** Authenticates `connection` with `mechanism`; see the module comment. */
export async function authenticate(
  connection: Connection,
  mechanism: SaslMechanism,
  options: SaslAuthenticateOptions = {},
): Promise<SaslAuthenticateResult> {
  try {
    return await exchange(connection, mechanism, options);
  } catch (error) {
    connection.close();
    throw error;
  }
}

async function exchange(connection: Connection, mechanism: SaslMechanism, options: SaslAuthenticateOptions): Promise<SaslAuthenticateResult> {
  const apiVersions = options.apiVersions ?? (await brokerApiVersions(connection, options));
  const handshakeVersion = pickVersion(APIS.SaslHandshake, apiVersions);
  if (handshakeVersion < 1) {
    // v0 sends the raw SASL tokens without SaslAuthenticate framing; only pre-1.0 brokers need it.
    throw new UnsupportedVersionError({
      api: "SaslHandshake", apiKey: APIS.SaslHandshake.key,
      brokerRange: { min: 0, max: handshakeVersion }, clientRange: { min: 1, max: APIS.SaslHandshake.maxVersion },
    });
  }
  const authenticateVersion = pickVersion(APIS.SaslAuthenticate, apiVersions);

  const handshake = await send(connection, APIS.SaslHandshake, handshakeVersion, { mechanism: mechanism.name }, options);
  if (handshake.errorCode === UNSUPPORTED_SASL_MECHANISM) throw new UnsupportedSaslMechanismError(mechanism.name, handshake.mechanisms);
  if (handshake.errorCode !== 0) {
    throw new AuthenticationError(`SASL ${mechanism.name}: the handshake failed: ${brokerMessage(handshake.errorCode, null)}`);
  }

  let message: Uint8Array | null = await mechanism.start();
  let sessionLifetimeMs = 0;
  for (let round = 0; message !== null; round++) {
    if (round > 16) throw new AuthenticationError(`SASL ${mechanism.name}: the exchange did not finish after ${round} rounds`);
    const answer = await send(connection, APIS.SaslAuthenticate, authenticateVersion, { authBytes: message }, options);
    if (answer.errorCode !== 0) {
      throw new AuthenticationError(`SASL ${mechanism.name} authentication failed: ${brokerMessage(answer.errorCode, answer.errorMessage)}`);
    }
    sessionLifetimeMs = answer.sessionLifetimeMs;
    message = await mechanism.next(answer.authBytes);
  }
  return { mechanism: mechanism.name, version: authenticateVersion, sessionLifetimeMs, enabledMechanisms: handshake.mechanisms };
}
