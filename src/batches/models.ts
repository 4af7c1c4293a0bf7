export const INTERNAL_ORIGIN = 'http://llm-replay.internal';

export type Dispatch = (request: Request) => Promise<Response>;

/**
 * The upstream's model ids, asked through the recorder (`GET /v1/models`, so
 * it is recorded and replayed like any call). Null when no list can be had:
 * a non-2xx answer, a body that is not a model list, an empty list, or a
 * failed call; the model check is then skipped.
 */
export async function fetchModelIds(
  dispatch: Dispatch,
  headers: Record<string, string>,
  signal?: AbortSignal,
): Promise<Set<string> | null> {
  let body: unknown;
  try {
    const init: RequestInit = signal === undefined ? { method: 'GET', headers } : { method: 'GET', headers, signal };
    const response = await dispatch(new Request(`${INTERNAL_ORIGIN}/v1/models`, init));
    if (response.status < 200 || response.status > 299) {
      await response.body?.cancel();
      return null;
    }
    body = JSON.parse(await response.text());
  } catch {
    return null;
  }
  // OpenAI: {object: "list", data: [{id}]}; also accept a bare array and Ollama's {models: [{name|model}]}.
  const list: unknown = Array.isArray(body)
    ? body
    : body !== null && typeof body === 'object'
      ? ((body as Record<string, unknown>)['data'] ?? (body as Record<string, unknown>)['models'])
      : undefined;
  if (!Array.isArray(list)) return null;
  const ids = new Set<string>();
  for (const item of list) {
    if (item === null || typeof item !== 'object') continue;
    // A llama-stack tagged value {__type__, __data__} carries the model in __data__.
    const tagged = (item as Record<string, unknown>)['__data__'];
    const record = (tagged !== null && typeof tagged === 'object' ? tagged : item) as Record<string, unknown>;
    for (const key of ['id', 'name', 'model', 'identifier']) {
      const value = record[key];
      if (typeof value === 'string' && value !== '') ids.add(value);
    }
  }
  return ids.size > 0 ? ids : null;
}
