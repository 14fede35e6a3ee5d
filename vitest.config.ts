import { defineConfig } from "vitest/config";

// Three projects: unit tests sit beside the code they test and need nothing running;
// integration and e2e tests talk to the real local stack (`make stack-up`).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: [
            "api/**/*.test.ts",
            "hack/**/*.test.ts",
            "contracts/**/*.test.ts",
            "lib/**/*.test.ts",
            "operator/**/*.test.ts",
            "gateway/**/*.test.ts",
            "test/sim/**/*.test.ts",
            "runtime/**/*.test.ts",
            "crds/**/*.test.ts",
            "examples/**/*.test.ts",
            "test/env/**/*.test.ts",
            "test/e2e/**/*.test.ts",
            "test/contracts/**/*.test.ts",
          ],
          exclude: ["**/*.int.test.ts", "**/*.e2e.test.ts", "**/node_modules/**"],
          // Property tests run hundreds of cases: about a second alone, several times that on a loaded machine.
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: "integration",
          include: ["test/integration/**/*.int.test.ts"],
          globalSetup: ["test/integration/install-crds.global-setup.ts"],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          // The services are shared singletons: test files run one at a time (one fork) so they do not starve each other.
          pool: "forks",
          poolOptions: { forks: { singleFork: true } },
        },
      },
      {
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.e2e.test.ts"],
          testTimeout: 600_000,
          hookTimeout: 600_000,
          pool: "forks",
          poolOptions: { forks: { singleFork: true } },
        },
      },
    ],
  },
});
