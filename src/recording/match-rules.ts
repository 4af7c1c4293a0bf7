import { LlmReplayError } from '../errors.js';
import { isJsonObject, type JsonObject, type JsonValue } from './json-value.js';
import { parseJsonPath, removeAt, type JsonPath } from './json-path.js';

/** A request as matching rules see it; `body` keeps number lexemes (numbers are `LosslessNumber`s). */
export interface MatchRequest {
  method: string;
  /** The path without its query string. */
  path: string;
  body: JsonValue;
}

/** What `llm-replay.config.json` (or the `config` option) may say. */
export interface LlmReplayConfig {
  /**
   * JSON paths left out of the id (`$.user`, `$.metadata`, `$.messages[*].name`),
   * each optionally only for paths starting with `prefix`.
   */
  ignore?: Array<string | { path: string; prefix?: string }>;
  /**
   * Regular expressions applied to every string value of the body before
   * hashing (dates, UUIDs, temp paths), each with its replacement and
   * optionally only for paths starting with `prefix`.
   */
  replace?: Array<{ pattern: string; replacement: string; flags?: string; prefix?: string }>;
  /** `sequence`: the n-th identical request (n ≥ 2) is its own recording. @default 'off' */
  repeats?: 'off' | 'sequence';
  /** Programmatic only: returns the body to hash (or changes the one given) after `ignore` and `replace`. */
  normalize?: (request: MatchRequest) => JsonValue | undefined | void;
}

interface Ignore {
  path: JsonPath;
  prefix: string;
}

interface Replace {
  pattern: RegExp;
  replacement: string;
  prefix: string;
}

/** Rules that decide what of a request counts for its id. With none, the id is llama-stack's. */
export interface MatchRules {
  /** True when no rule changes a body (repeats aside). */
  readonly none: boolean;
  readonly repeats: 'off' | 'sequence';
  /** The body the id hashes: the request's own when no rule applies, else a changed copy. */
  keyBody(request: MatchRequest): JsonValue;
  /** The config the rules were made from, and where it came from: what a worker thread rebuilds them with. */
  readonly config: LlmReplayConfig;
  readonly source: string;
}

export const NO_RULES: MatchRules = { none: true, repeats: 'off', keyBody: (request) => request.body, config: {}, source: 'no rules' };

const KNOWN_KEYS = ['ignore', 'replace', 'repeats', 'normalize'];

function configError(source: string, why: string): LlmReplayError {
  // A reason may end in its own full stop (a JSON path's error ends with an example).
  return new LlmReplayError('invalid_option', `Invalid matching rules in ${source}: ${why.replace(/\.$/, '')}. See "Matching rules" in docs/matching.md.`);
}

/** Checks a config once and compiles its rules; `source` names where it came from, for messages. */
export function createMatchRules(config: LlmReplayConfig, source: string): MatchRules {
  if (!isPlainObject(config as unknown)) throw configError(source, 'it must be a JSON object');
  // Stryker disable next-line ArrayDeclaration: the fallback list is only tested for being a list, whatever it holds
  if (!Array.isArray(config.ignore ?? [])) throw configError(source, '"ignore" must be a list');
  // Stryker disable next-line ArrayDeclaration: the fallback list is only tested for being a list, whatever it holds
  if (!Array.isArray(config.replace ?? [])) throw configError(source, '"replace" must be a list');
  for (const key of Object.keys(config)) {
    if (!KNOWN_KEYS.includes(key)) throw configError(source, `unknown key ${JSON.stringify(key)} (known: ${KNOWN_KEYS.join(', ')})`);
  }
  const ignores = (config.ignore ?? []).map((rule, index): Ignore => {
    const at = `ignore[${index}]`;
    const { path, prefix = '' } = typeof rule === 'string' ? { path: rule } : isPlainObject(rule) ? rule : { path: undefined };
    if (typeof path !== 'string') throw configError(source, `${at} must be a JSON path or {"path", "prefix"}`);
    if (typeof prefix !== 'string') throw configError(source, `${at}.prefix must be a string such as "/v1/chat/"`);
    try {
      return { path: parseJsonPath(path), prefix };
    } catch (error) {
      throw configError(source, `${at}: ${(error as Error).message}`);
    }
  });
  const replaces = (config.replace ?? []).map((rule, index): Replace => {
    const at = `replace[${index}]`;
    if (!isPlainObject(rule) || typeof rule.pattern !== 'string' || typeof rule.replacement !== 'string') {
      throw configError(source, `${at} must be {"pattern": "<regular expression>", "replacement": "<text>"}`);
    }
    const flags = rule.flags ?? '';
    if (typeof flags !== 'string' || /[^imsu]/.test(flags)) throw configError(source, `${at}.flags may hold only i, m, s and u`);
    if (rule.prefix !== undefined && typeof rule.prefix !== 'string') throw configError(source, `${at}.prefix must be a string`);
    let pattern: RegExp;
    try {
      pattern = new RegExp(rule.pattern, `g${flags}`);
    } catch (error) {
      throw configError(source, `${at}.pattern is not a regular expression (${(error as Error).message})`);
    }
    return { pattern, replacement: rule.replacement, prefix: rule.prefix ?? '' };
  });
  const repeats = config.repeats ?? 'off';
  if (repeats !== 'off' && repeats !== 'sequence') throw configError(source, '"repeats" must be "off" or "sequence"');
  const { normalize } = config;
  if (normalize !== undefined && typeof normalize !== 'function') throw configError(source, '"normalize" must be a function (programmatic use only)');
  const none = ignores.length === 0 && replaces.length === 0 && normalize === undefined;
  return {
    none,
    repeats,
    config,
    source,
    keyBody(request) {
      if (none) return request.body;
      let body = copy(request.body);
      for (const rule of ignores) if (request.path.startsWith(rule.prefix)) removeAt(body, rule.path);
      const applying = replaces.filter((rule) => request.path.startsWith(rule.prefix));
      // Stryker disable next-line ConditionalExpression,EqualityOperator: replacing with no rules returns the copy as it is; the test only skips the walk
      if (applying.length > 0) body = replaceStrings(body, applying);
      if (normalize !== undefined) {
        const result = normalize({ method: request.method, path: request.path, body });
        if (result !== undefined) body = result;
      }
      return body;
    },
  };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A deep copy of the containers; numbers are immutable and shared. */
function copy(value: JsonValue): JsonValue {
  if (Array.isArray(value)) return value.map(copy);
  if (!isJsonObject(value)) return value;
  const out: JsonObject = {};
  for (const key of Object.keys(value)) out[key] = copy(value[key]!);
  return out;
}

function replaceStrings(value: JsonValue, rules: readonly Replace[]): JsonValue {
  if (typeof value === 'string') return rules.reduce((text, rule) => text.replace(rule.pattern, rule.replacement), value);
  if (Array.isArray(value)) return value.map((item) => replaceStrings(item, rules));
  if (!isJsonObject(value)) return value;
  for (const key of Object.keys(value)) value[key] = replaceStrings(value[key]!, rules);
  return value;
}
