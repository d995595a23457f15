/**
 * Entry point for Cloudflare Workers (workerd): the Worker's bundle imports the `.wasm` as a
 * compiled module, because compiling WebAssembly from bytes at run time is forbidden there.
 */
import coreModule from "../../wasm/tributary_core.wasm";
import { connect } from "cloudflare:sockets";
import { setDefaultSource } from "../core/instance.ts";
import { setDefaultSocketFactory } from "../transport/socket.ts";
import { workerdSocketFactory } from "../transport/workerd.ts";

setDefaultSource({ sync: () => coreModule });
setDefaultSocketFactory(workerdSocketFactory(connect));

export * from "../index.ts";
