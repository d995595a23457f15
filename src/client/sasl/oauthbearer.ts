/**
 * SASL OAUTHBEARER (RFC 7628) with a token callback: the client's first message is
 * `n,[a=<authzid>],^Aauth=Bearer <token>[^A<key>=<value>...]^A^A` (^A = 0x01), as Kafka's
 * OAuthBearerClientInitialResponse writes it. Getting the token (from an identity provider, a
 * cache, a file) is the caller's job: `token()` is awaited once per authentication.
 *
 * On a rejected token the broker answers with a JSON error (`{"status":"invalid_token",...}`);
 * RFC 7628 then has the client send a lone ^A, after which the broker fails the exchange with its
 * error message, which `authenticate` turns into an `AuthenticationError`.
 */
import { AuthenticationError } from "../../errors.ts";
import { fromUtf8, type SaslMechanism, utf8 } from "./mechanism.ts";

export interface OAuthBearerToken {
  /** The compact-serialized token (a JWT for most providers). */
  value: string;
  /** SASL extensions sent with the token (e.g. Confluent Cloud's `logicalCluster`, `identityPoolId`). */
  extensions?: Record<string, string>;
}

export interface OAuthBearerOptions {
  /** Returns the token to present; called on every authentication (cache it yourself if needed). */
  token: () => Promise<string | OAuthBearerToken> | string | OAuthBearerToken;
  /** Authorization identity (`a=`); usually left out. */
  authorizationId?: string;
  /** Extensions sent with every token (a token's own extensions are added, winning on clashes). */
  extensions?: Record<string, string>;
}

const SEP = "\x01";
const KEY = /^[A-Za-z]+$/;
const VALUE = /^[\x21-\x7E \t\r\n]+$/;

export function saslOAuthBearer(options: OAuthBearerOptions): SaslMechanism {
  if (typeof options?.token !== "function") throw new TypeError("OAUTHBEARER needs a token callback");
  const fail = (why: string): never => {
    throw new AuthenticationError(`SASL OAUTHBEARER: ${why}`);
  };
  let state: "start" | "sent" | "error-acknowledged" | "done" = "start";
  let serverError: string | undefined;

  return {
    name: "OAUTHBEARER",
    async start() {
      if (state !== "start") fail("start() called twice; use a new mechanism per connection");
      let answer: string | OAuthBearerToken;
      try {
        answer = await options.token();
      } catch (error) {
        throw new AuthenticationError(`SASL OAUTHBEARER: the token callback failed: ${(error as Error)?.message ?? error}`, { cause: error });
      }
      const token = typeof answer === "string" ? { value: answer } : answer;
      if (typeof token?.value !== "string" || token.value === "" || !/^[\x21-\x7E]+$/.test(token.value)) {
        fail("the token callback returned no token, or one with spaces or control characters");
      }
      const extensions = { ...options.extensions, ...token.extensions };
      let ext = "";
      for (const [key, value] of Object.entries(extensions)) {
        if (!KEY.test(key) || key === "auth") fail(`extension name ${JSON.stringify(key)}: letters only, not "auth"`);
        if (!VALUE.test(value)) fail(`extension ${key}: the value has characters RFC 7628 does not allow`);
        ext += `${SEP}${key}=${value}`;
      }
      const authzid = options.authorizationId ? `a=${options.authorizationId.replace(/=/g, "=3D").replace(/,/g, "=2C")}` : "";
      state = "sent";
      return utf8(`n,${authzid},${SEP}auth=Bearer ${token.value}${ext}${SEP}${SEP}`);
    },
    async next(challenge) {
      if (state === "sent") {
        if (challenge.length === 0) {
          state = "done";
          return null;
        }
        // An error challenge: acknowledge it, the broker then fails the exchange with its message.
        try {
          serverError = fromUtf8(challenge);
        } catch {
          serverError = "(not UTF-8)";
        }
        state = "error-acknowledged";
        return utf8(SEP);
      }
      if (state === "error-acknowledged") fail(`the broker rejected the token: ${serverError}`);
      return fail(`unexpected message in state ${state}`);
    },
  };
}
