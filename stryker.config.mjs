// @ts-check
/**
 * `npm run test:mutation`: StrykerJS over the core (docs/contributing.md).
 * Slow and CPU-heavy, so it is not part of `npm test` or `.ci/run`.
 * @type {import('@stryker-mutator/api/core').PartialStrykerOptions}
 */
export default {
  packageManager: 'npm',
  testRunner: 'vitest',
  // Only the tests that exercise the mutated files in-process (see that config).
  vitest: { configFile: 'vitest.mutation.config.ts', related: false },
  // The TypeScript checker (mutants that do not compile are not run) takes one of the two cores and
  // more than doubles a full run here; add `--checkers typescript` to a run to use it.
  checkers: [],
  tsconfigFile: 'tsconfig.json',
  mutate: ['src/recording/**/*.ts', 'src/proxy/**/*.ts', 'src/wire/**/*.ts', 'src/batches/validate.ts'],
  coverageAnalysis: 'perTest',
  // A mutant in module-level code (a table, a constant) would need the whole test set run again
  // for each one: hours here. They are reported as Ignored; the tables are pinned by tests anyway.
  ignoreStatic: true,
  // Two cores on the development machines; more only thrashes.
  concurrency: 2,
  // Re-tests only the mutants whose code or covering tests changed since the last run.
  incremental: true,
  incrementalFile: 'reports/stryker-incremental.json',
  tempDirName: 'reports/.stryker-tmp',
  // Reports, and the sandboxes of another run going at the same time, are not part of the project.
  ignorePatterns: ['/reports'],
  cleanTempDir: 'always',
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  // Every mutated file is meant to score at least 85%.
  thresholds: { high: 90, low: 85, break: 85 },
};
