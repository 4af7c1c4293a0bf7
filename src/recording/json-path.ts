import { LlmReplayError } from '../errors.js';
import { isJsonObject, type JsonValue } from './json-value.js';

/** One step of a JSON path: a key, an array index, or every member (`*`). */
type Step = { key: string } | { index: number } | { every: true };

/** A parsed JSON path such as `$.messages[*].name`, kept with its source text for messages. */
export interface JsonPath {
  text: string;
  steps: Step[];
}

const NAME = /^[A-Za-z_$][A-Za-z0-9_$-]*/;

/**
 * Parses the subset of JSONPath that matching rules need: `$`, `.name`,
 * `['name']`, `[0]`, `[*]` and `.*`. Filters and recursive descent are refused
 * by name. Written here because rules must remove what a path names from a
 * lossless-number tree, and refuse a bad path when the config is read; the
 * JSONPath libraries only select.
 */
export function parseJsonPath(text: string): JsonPath {
  const fail = (why: string): LlmReplayError =>
    new LlmReplayError('invalid_option', `Invalid JSON path ${JSON.stringify(text)}: ${why}. Write paths such as $.user, $.metadata or $.messages[*].name.`);
  if (!text.startsWith('$')) throw fail('it must start with $');
  const steps: Step[] = [];
  let rest = text.slice(1);
  while (rest !== '') {
    if (rest.startsWith('..')) throw fail('recursive descent (..) is not supported');
    if (rest.startsWith('.*')) {
      steps.push({ every: true });
      rest = rest.slice(2);
    } else if (rest.startsWith('.')) {
      const name = NAME.exec(rest.slice(1));
      if (name === null) throw fail(`expected a name after "." at ${JSON.stringify(rest)}`);
      steps.push({ key: name[0] });
      rest = rest.slice(1 + name[0].length);
    } else if (rest.startsWith('[')) {
      const end = rest.indexOf(']');
      if (end === -1) throw fail('a "[" is not closed');
      const inner = rest.slice(1, end).trim();
      if (inner === '*') steps.push({ every: true });
      else if (/^\d+$/.test(inner)) steps.push({ index: Number(inner) });
      else if (/^'[^']*'$|^"[^"]*"$/.test(inner)) steps.push({ key: inner.slice(1, -1) });
      else throw fail(`unsupported selector [${inner}] (use [0], [*] or ['name'])`);
      rest = rest.slice(end + 1);
    } else {
      throw fail(`unexpected ${JSON.stringify(rest[0])}`);
    }
  }
  if (steps.length === 0) throw fail('it names the whole body; name a field inside it');
  return { text, steps };
}

/** Removes every value the path names (object members are deleted, array items spliced out). */
export function removeAt(value: JsonValue, path: JsonPath): void {
  const visit = (node: JsonValue, depth: number): void => {
    const step = path.steps[depth]!;
    const last = depth === path.steps.length - 1;
    if (Array.isArray(node)) {
      if ('key' in step) return;
      const indexes = 'index' in step ? [step.index] : node.map((_, index) => index);
      if (last) {
        // Stryker disable next-line MethodExpression,ConditionalExpression,EqualityOperator: splice past the end removes nothing, so the filter only skips no-op calls
        for (const index of indexes.filter((i) => i < node.length).reverse()) node.splice(index, 1);
        return;
      }
      // Stryker disable next-line ConditionalExpression,EqualityOperator: an item past the end is undefined, which the next step skips anyway
      for (const index of indexes) if (index < node.length) visit(node[index]!, depth + 1);
      return;
    }
    if (!isJsonObject(node) || 'index' in step) return;
    const keys = 'key' in step ? [step.key] : Object.keys(node);
    for (const key of keys) {
      if (!Object.hasOwn(node, key)) continue;
      if (last) delete node[key];
      else visit(node[key]!, depth + 1);
    }
  };
  visit(value, 0);
}
