/**
 * SASL PLAIN (RFC 4616): one message, `authzid NUL username NUL password`. The password crosses
 * the wire as is: use it over TLS (SASL_SSL) outside tests.
 */
import { AuthenticationError } from "../../errors.ts";
import { type SaslMechanism, utf8 } from "./mechanism.ts";

export interface PlainCredentials {
  username: string;
  password: string;
  /** Authorization identity; Kafka accepts only none (the default) or the username itself. */
  authorizationId?: string;
}

export function saslPlain(credentials: PlainCredentials): SaslMechanism {
  const { username, password, authorizationId = "" } = credentials;
  if (typeof username !== "string" || typeof password !== "string") throw new TypeError("PLAIN needs a username and a password (strings)");
  if ([username, password, authorizationId].some((part) => part.includes("\0"))) {
    throw new TypeError("PLAIN username, password and authorization id cannot contain NUL characters");
  }
  return {
    name: "PLAIN",
    start: async () => utf8(`${authorizationId}\0${username}\0${password}`),
    next: async (challenge) => {
      // Kafka answers a successful PLAIN login with no bytes; anything else is not PLAIN.
      if (challenge.length > 0) throw new AuthenticationError("SASL PLAIN: the broker sent an unexpected challenge");
      return null;
    },
  };
}
