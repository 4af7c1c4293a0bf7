import { isJsonObject, type JsonValue } from '../recording/json-value.js';
import { queryOf, SECRET_QUERY_PARAMS, secretParamsIn } from '../recording/recording-id.js';

/** Text in a file that looks like a credential. The secret itself is never kept, only a masked preview. */
export interface SecretFinding {
  /** 1-based line in the file. */
  line: number;
  /** What it looks like: `OpenAI-style API key`, `bearer token`, … */
  kind: string;
  /** The start of the match and its length, for example `sk-pro…(56 chars)`. */
  preview: string;
}

interface SecretPattern {
  kind: string;
  pattern: RegExp;
  /** Real keys are random: letters and digits both. Words like `sk-learn-tutorial-examples` are not keys. */
  mixed?: boolean;
  /** Show the whole match: it is a marker (a PEM header), not the secret. */
  showAll?: boolean;
}

/**
 * Patterns for credentials, each anchored so that it does not fire inside
 * base64 data (images) or longer words. Specific patterns come first; a
 * later match overlapping an earlier one on the same line is not reported again.
 */
const PATTERNS: readonly SecretPattern[] = [
  { kind: 'private key', pattern: /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----/g, showAll: true },
  { kind: 'API key (sk-…)', pattern: /(?<![A-Za-z0-9_-])sk-(?:proj-|ant-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}/g, mixed: true },
  { kind: 'AWS access key id', pattern: /(?<![A-Za-z0-9/+])(?:AKIA|ASIA)[0-9A-Z]{16}(?![A-Za-z0-9/+])/g },
  { kind: 'GitHub token', pattern: /(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})(?![A-Za-z0-9])/g },
  { kind: 'Hugging Face token', pattern: /(?<![A-Za-z0-9_])hf_[A-Za-z0-9]{30,}(?![A-Za-z0-9])/g, mixed: true },
  { kind: 'Slack token', pattern: /(?<![A-Za-z0-9_])xox[abposr]-[A-Za-z0-9-]{10,}/g, mixed: true },
  { kind: 'Google API key', pattern: /(?<![A-Za-z0-9_-])AIza[0-9A-Za-z_-]{35}(?![A-Za-z0-9_-])/g },
  { kind: 'bearer token', pattern: /\b[Bb]earer\s+[A-Za-z0-9._~+/-]{16,}=*/g, mixed: true },
];

const LETTER = /[A-Za-z]/;
const DIGIT = /[0-9]/;

// Cheap pre-check: every pattern needs one of these.
const HINT = /sk-|AKIA|ASIA|gh[pousr]_|github_pat_|hf_|xox|AIza|earer|PRIVATE KEY/;

/** Scans text line by line for credentials. */
export function findSecrets(text: string): SecretFinding[] {
  const findings: SecretFinding[] = [];
  // Most files hold no hint at all: one scan of the whole text, not one per line.
  if (!HINT.test(text)) return findings;
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index]!;
    if (!HINT.test(line)) continue;
    const taken: Array<[number, number]> = [];
    for (const { kind, pattern, mixed, showAll } of PATTERNS) {
      for (const match of line.matchAll(pattern)) {
        const text = match[0];
        const start = match.index;
        const end = start + text.length;
        if (mixed === true && !looksRandom(text)) continue;
        if (taken.some(([s, e]) => start < e && s < end)) continue;
        taken.push([start, end]);
        findings.push({ line: index + 1, kind, preview: showAll === true ? text : mask(text) });
      }
    }
  }
  return findings;
}

/** Letters and digits both in the token part (after `Bearer `, `sk-`, `hf_`, `xoxb-`). */
function looksRandom(match: string): boolean {
  const token = match.replace(/^(?:[Bb]earer\s+|sk-(?:proj-|ant-|svcacct-|admin-)?|hf_|xox[a-z]-)/, '');
  return LETTER.test(token) && DIGIT.test(token);
}

function mask(secret: string): string {
  const shown = secret.startsWith('Bearer') || secret.startsWith('bearer') ? secret.indexOf(' ') + 4 : 6;
  return `${secret.slice(0, Math.min(shown, secret.length - 4))}…(${secret.length} chars)`;
}

/** Request headers that carry credentials; llm-replay never writes them, so a file holding one was written by something else. */
const CREDENTIAL_HEADERS = new Set(['authorization', 'proxy-authorization', 'api-key', 'x-api-key', 'cookie', 'set-cookie', 'x-goog-api-key', 'openai-api-key']);

/** Names of credential headers stored with a non-empty value in `request.headers`. */
export function credentialHeaders(headers: JsonValue | undefined): string[] {
  if (!isJsonObject(headers)) return [];
  return Object.entries(headers)
    .filter(([name, value]) => CREDENTIAL_HEADERS.has(name.toLowerCase()) && value !== null && value !== '')
    .map(([name]) => name);
}

/** Names of secret query parameters (`key`, `api_key`, … and `extra`) that a stored URL still carries. */
export function secretQueryParamsOf(url: JsonValue | undefined, extra: readonly string[] = []): string[] {
  return typeof url === 'string' ? secretParamsIn(queryOf(url), [...SECRET_QUERY_PARAMS, ...extra]) : [];
}
