import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    reporters: ["default", "./test/support/summary-reporter.ts"],
    // Starts the local Kafka broker (and fetches its jars) unless one is already running.
    globalSetup: ["test/support/kafka-global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 240_000,
    // The machines have 2 cores and the broker needs one of them.
    maxWorkers: 2,
  },
});
