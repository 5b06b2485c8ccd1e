// Jest runs every suite under test/ (`npm test` starts it through dist/scripts/run-tests.js).
// Suites share this machine's ports, Docker engine, Redis and two cores, so files run one at a
// time in one worker; the packages are imported by name from their builds, as users import them.
/** @type {import("jest").Config} */
module.exports = {
  testEnvironment: "node",
  // examples/*/index.test.ts are the stacks' own wiring tests, written to be copied by users.
  roots: ["<rootDir>/test", "<rootDir>/examples"],
  testMatch: ["**/*.test.ts"],
  transform: { "^.+\\.ts$": ["ts-jest", { tsconfig: "<rootDir>/test/tsconfig.json" }] },
  setupFiles: ["<rootDir>/test/support/realm.ts"],
  maxWorkers: 1,
  // Engine, container and crash suites run for minutes; a hung test still ends.
  testTimeout: 10 * 60 * 1000,
  // Servers, child processes and Redis clients are closed by each suite; this catches a leak.
  openHandlesTimeout: 5000,
  verbose: true,
};
