// The one workerd built-in module the workerd entry point imports (src/transport/workerd.ts
// declares the shapes it uses).
declare module "cloudflare:sockets" {
  export const connect: import("./workerd.ts").CloudflareConnect;
}
