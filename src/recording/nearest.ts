import { modelOf, type RecordingEnvelope } from './envelope.js';
import { diffJson, type JsonDifference } from './json-diff.js';
import type { JsonValue } from './json-value.js';
import { stripQuery, urlPath } from './recording-id.js';
import type { RecordingStore } from './recording-store.js';

export interface NearestRequest {
  method: string;
  path: string;
  body: JsonValue;
}

export interface NearestRecording {
  id: string;
  file: string;
  endpoint: string;
  /** Where the recording's body (`a`) differs from the request's (`b`). */
  differences: JsonDifference[];
}

interface Candidate extends NearestRecording {
  sameRoute: boolean;
  sameModel: boolean;
}

/**
 * The recordings closest to a request, best first: same method and path
 * first, then same model, then fewest differing values in the body. Files
 * that cannot be read are skipped. A pure function of the store's contents
 * and the request, shared by replay-miss errors and `recordings why`.
 */
export async function findNearest(store: RecordingStore, request: NearestRequest, limit = 3): Promise<NearestRecording[]> {
  const method = request.method.toUpperCase();
  const path = stripQuery(request.path);
  const model = modelOf(request.body);
  const candidates: Candidate[] = [];
  for (const { id, file } of await store.list()) {
    let envelope: RecordingEnvelope | undefined;
    try {
      envelope = await store.read(id);
    } catch {
      continue;
    }
    if (envelope === undefined) continue;
    const recorded = envelope.request;
    candidates.push({
      id,
      file,
      endpoint: recorded.endpoint,
      differences: diffJson(recorded.body, request.body),
      // llama-stack's endpoint drops the doubled /v1 its URL (and id) carry, so either may match.
      sameRoute: recorded.method.toUpperCase() === method && (recorded.endpoint === path || urlPath(recorded.url) === path),
      sameModel: model !== undefined && modelOf(recorded.body) === model,
    });
  }
  candidates.sort(
    (x, y) =>
      Number(y.sameRoute) - Number(x.sameRoute) ||
      Number(y.sameModel) - Number(x.sameModel) ||
      x.differences.length - y.differences.length ||
      (x.id < y.id ? -1 : x.id > y.id ? 1 : 0),
  );
  return candidates.slice(0, limit).map(({ id, file, endpoint, differences }) => ({ id, file, endpoint, differences }));
}
