// Runs the TLS broker smoke inside workerd (`workerd test`): the config's JSON comes base64-encoded
// in the TLS_CONFIG text binding of the generated workerd config.
import * as tributary from "./dist/entry/workerd.js";
import { runTlsBrokerSmoke } from "./tls-broker-smoke.js";

export default {
  async test(_controller, env) {
    const config = JSON.parse(atob(env.TLS_CONFIG));
    console.log(JSON.stringify(await runTlsBrokerSmoke(tributary, config, `workerd ${navigator.userAgent}`)));
  },
};
