// Runs the client suite inside workerd (`workerd test`) through cloudflare:sockets, the socket
// factory of the package's workerd entry point: the broker, the topic and the seed come from the
// text bindings of the generated config.
import * as tributary from "./dist/entry/workerd.js";
import { runClientSuite } from "./client-suite.js";

export default {
  async test(_controller, env) {
    const options = {
      host: env.KAFKA_HOST, port: Number(env.KAFKA_PORT), topic: env.TOPIC, seed: Number(env.SEED),
      saslPort: env.KAFKA_SASL_PORT ? Number(env.KAFKA_SASL_PORT) : null,
    };
    console.log(JSON.stringify(await runClientSuite(tributary, options)));
  },
};
