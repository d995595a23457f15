/**
 * SASL for broker connections: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 (Web Crypto) and OAUTHBEARER.
 *
 *   const connection = await Connection.connect({ host, port });
 *   await authenticate(connection, saslScramSha512({ username: "alice", password: "…" }));
 *
 * `saslMechanism(config)` builds a mechanism from a plain config object, for client options.
 * Mechanisms hold per-exchange state: build a new one for every connection.
 */
import type { SaslMechanism } from "./mechanism.ts";
import { type OAuthBearerOptions, saslOAuthBearer } from "./oauthbearer.ts";
import { saslPlain } from "./plain.ts";
import { saslScramSha256, saslScramSha512 } from "./scram.ts";

export { authenticate, type SaslAuthenticateOptions, type SaslAuthenticateResult } from "./authenticate.ts";
export type { SaslMechanism } from "./mechanism.ts";
export { saslOAuthBearer, type OAuthBearerOptions, type OAuthBearerToken } from "./oauthbearer.ts";
export { saslPlain, type PlainCredentials } from "./plain.ts";
export { saslScram, saslScramSha256, saslScramSha512, type ScramCredentials, type ScramHash } from "./scram.ts";

/** SASL settings as plain data (what a client's `sasl` option holds). */
export type SaslConfig =
  | { mechanism: "PLAIN" | "plain"; username: string; password: string }
  | { mechanism: "SCRAM-SHA-256" | "scram-sha-256" | "SCRAM-SHA-512" | "scram-sha-512"; username: string; password: string }
  | ({ mechanism: "OAUTHBEARER" | "oauthbearer" } & OAuthBearerOptions);

/** A fresh mechanism for `config` (call once per connection). */
export function saslMechanism(config: SaslConfig): SaslMechanism {
  switch (config.mechanism.toUpperCase()) {
    case "PLAIN": {
      const c = config as { username: string; password: string };
      return saslPlain({ username: c.username, password: c.password });
    }
    case "SCRAM-SHA-256": {
      const c = config as { username: string; password: string };
      return saslScramSha256({ username: c.username, password: c.password });
    }
    case "SCRAM-SHA-512": {
      const c = config as { username: string; password: string };
      return saslScramSha512({ username: c.username, password: c.password });
    }
    case "OAUTHBEARER":
      return saslOAuthBearer(config as OAuthBearerOptions);
    default:
      throw new TypeError(`unknown SASL mechanism ${JSON.stringify(config.mechanism)}: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER`);
  }
}
