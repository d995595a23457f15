/**
 * Prints one closing line, "tests: N passed, N failed, N skipped", after vitest's own summary:
 * the plain form CI reads to know how many tests a run executed.
 */
import type { Reporter, TestModule } from "vitest/node";

export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const counts = { passed: 0, failed: 0, skipped: 0, pending: 0 };
    for (const module of testModules) {
      for (const test of module.children.allTests()) counts[test.result().state]++;
    }
    // A file that fails to load runs no test; count it as a failure so it cannot pass unseen.
    const failedModules = testModules.filter((module) => module.errors().length > 0).length;
    process.stdout.write(
      `\ntests: ${counts.passed} passed, ${counts.failed + failedModules} failed, ${counts.skipped} skipped\n`,
    );
  }
}
