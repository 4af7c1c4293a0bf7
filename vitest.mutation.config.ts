import { statSync } from 'node:fs';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * Smallest test files first: a mutant's run stops at its first failing test, and small files
 * (unit tests) fail soonest. vitest's own order puts the largest first.
 */
class SmallestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const size = (file: TestSpecification): number => statSync(file.moduleId).size;
    return [...files].sort((a, b) => size(a) - size(b));
  }
}

/**
 * The tests `npm run test:mutation` runs against each mutant of the core
 * (stryker.config.mjs): those that exercise src/recording, src/proxy,
 * src/wire and src/batches/validate.ts in-process. Tests that only drive
 * child processes are left out: a mutant is active in this process only.
 */
export default defineConfig({
  test: {
    include: [
      'test/recording/**/*.test.ts',
      'test/proxy/**/*.test.ts',
      'test/wire/**/*.test.ts',
      'test/apis/**/*.test.ts',
      'test/server/**/*.test.ts',
      'test/harness/msw.test.ts',
      'test/batches/validation.test.ts',
      'test/batches/line-checks.test.ts',
      'test/batches/create-checks.test.ts',
      'test/batches/batches-api.test.ts',
    ],
    // These drive child processes only (and the first runs past any timeout on instrumented code); the races
    // test replaces a module with vi.mock, which cannot take hold once another file has loaded it (isolate: false).
    exclude: ['test/recording/nesting.test.ts', 'test/recording/crash-leftovers.test.ts', 'test/recording/request-index-races.test.ts'],
    // Modules stay loaded from one test file to the next (mutants are switched at run time):
    // a mutant covered by many files then costs their tests, not their imports too.
    isolate: false,
    sequence: { sequencer: SmallestFirst },
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
