/** Tests are compiled by `npm run build` (pretest) and run as the plain JavaScript that ships. */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/dist/test"],
  testMatch: ["**/*.test.js"],
  testTimeout: 120000,
  maxWorkers: 2,
  // Engine and container suites use shared machine resources: they run alone.
  globalSetup: "<rootDir>/dist/test/support/global-setup.js",
};
