// Runtimes that load `.wasm` files through their module system (workerd, bundlers) give a
// compiled `WebAssembly.Module` as the default export; Deno's namespace import gives the exports
// of an instance. src/entry/*.ts documents which one each runtime uses.
declare module "*.wasm" {
  const module: WebAssembly.Module;
  export default module;
}
