// Runs the network smoke inside workerd (`workerd test`): the broker's address comes from the
// KAFKA_HOST / KAFKA_PORT text bindings of the generated config.
import * as tributary from "./dist/entry/workerd.js";
import { runNetworkSmoke } from "./network-smoke.js";

export default {
  async test(_controller, env) {
    const result = await runNetworkSmoke(tributary, env.KAFKA_HOST, Number(env.KAFKA_PORT), `workerd ${navigator.userAgent}`);
    console.log(JSON.stringify(result));
  },
};
