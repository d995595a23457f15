// Runs the group suite inside workerd (`workerd test`) through cloudflare:sockets, the socket
// factory of the package's workerd entry point: the broker, the topic, the group and the seed come
// from the text bindings of the generated config.
import * as tributary from "./dist/entry/workerd.js";
import { runGroupSuite } from "./group-suite.js";

export default {
  async test(_controller, env) {
    const options = { host: env.KAFKA_HOST, port: Number(env.KAFKA_PORT), topic: env.TOPIC, groupId: env.GROUP, seed: Number(env.SEED) };
    console.log(JSON.stringify(await runGroupSuite(tributary, options)));
  },
};
