/**
 * Response headers worth keeping in a recording: those the official clients
 * read (request ids, retry hints, rate limits, API metadata) and the content
 * type. Everything else is left out, and so is any header whose name says it
 * could carry a credential, even under a kept prefix.
 */
const KEPT_NAMES = new Set(['content-type', 'request-id', 'x-request-id', 'retry-after', 'retry-after-ms', 'x-should-retry']);
const KEPT_PREFIXES = ['openai-', 'anthropic-', 'x-ratelimit-', 'ratelimit'];
/** Rate limits count tokens (`x-ratelimit-remaining-tokens`): those names are kept before the credential check. */
const RATE_LIMIT = /^(x-ratelimit-|ratelimit|anthropic-ratelimit-)/;
const NEVER = /cookie|auth|key|token|secret|credential|session|password/;

export function isRecordedHeader(name: string): boolean {
  const lower = name.toLowerCase();
  if (RATE_LIMIT.test(lower)) return true;
  if (NEVER.test(lower)) return false;
  return KEPT_NAMES.has(lower) || KEPT_PREFIXES.some((prefix) => lower.startsWith(prefix));
}

/** The headers to store for an answer, in the order received, or undefined when none is worth storing. */
export function recordedHeaders(headers: Headers): Record<string, string> | undefined {
  let kept: Record<string, string> | undefined;
  headers.forEach((value, name) => {
    if (isRecordedHeader(name)) (kept ??= {})[name] = value;
  });
  return kept;
}
