// Runs the smoke test in Node or Bun, importing the package by its name as users do.
import * as tributary from "tributary";
import { runSmoke } from "./smoke-cases.js";

const runtime = typeof Bun !== "undefined" ? `bun ${Bun.version}` : `node ${process.version}`;
console.log(JSON.stringify(runSmoke(tributary, runtime)));
