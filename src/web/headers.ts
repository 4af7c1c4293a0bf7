/** Carries a test's name for per-test isolation (DESIGN 2.1); it enters the recording id and never goes upstream. */
export const TEST_ID_HEADER = 'x-llm-replay-test-id';
