/** Carries a test's name for per-test isolation (DESIGN 2.1); it enters the recording id and never goes upstream. */
export const TEST_ID_HEADER = 'x-llm-replay-test-id';

/**
 * Which run of that test this is, when vitest retries it (`retry`): 1 for the
 * first retry. Identical requests count from one again in each run
 * (`repeats: "sequence"`); it never enters the id and never goes upstream.
 */
export const TEST_ATTEMPT_HEADER = 'x-llm-replay-test-attempt';

/** Carries the server's `--auth-token` for clients that cannot send it as their api key; never forwarded. */
export const TOKEN_HEADER = 'x-llm-replay-token';

/**
 * Headers in which the official clients send their api key: OpenAI's and
 * Ollama's `Authorization: Bearer`, Azure's `api-key`, Anthropic's
 * `x-api-key` and Gemini's `x-goog-api-key`.
 */
export const KEY_HEADERS: readonly string[] = ['authorization', 'api-key', 'x-api-key', 'x-goog-api-key'];
