// Runs the smoke test in Deno, importing the package by its name: inside this repository
// deno.json maps it to the Deno entry point's source (as JSR serves it); in a project that
// installed the npm package it resolves through package.json's "deno" export condition.
import * as tributary from "tributary";
import { runSmoke } from "./smoke-cases.js";

console.log(JSON.stringify(runSmoke(tributary, `deno ${Deno.version.deno}`)));
