// Runs the smoke test inside workerd as a Worker's test handler (`workerd test`). The package's
// workerd entry point imports the .wasm as a module, as a Cloudflare Worker bundle does.
import * as tributary from "./dist/entry/workerd.js";
import { runSmoke } from "./smoke-cases.js";

export default {
  async test() {
    console.log(JSON.stringify(runSmoke(tributary, `workerd ${navigator.userAgent}`)));
  },
};
