import { explainRequest, missMessage, type Explanation, type NearestMatch } from '../inspect/explain.js';
import { jsonText } from '../recording/json-value.js';
import { parseJson } from '../recording/parse-json.js';
import type { RecordingStore } from '../recording/recording-store.js';
import type { MissExplanation, NearestView } from './api-types.js';
import type { KeptEvent } from './live-feed.js';

export interface RecordHint {
  recordings: string;
  /** The proxy's upstream, for the command that records. */
  upstream: string;
}

/**
 * Why a live request missed, from the engine of `recordings why` and the
 * proxy's own 404: the nearest recordings and every JSON path where each
 * differs, and how to record the request. Explained when asked (not when the
 * miss happens), so a request recorded since says so.
 */
export async function explainMiss(store: RecordingStore, kept: KeptEvent, hint: RecordHint): Promise<MissExplanation> {
  const { event, body } = kept;
  const record = {
    command: `llm-replay serve --mode record-if-missing --upstream ${hint.upstream} --recordings ${hint.recordings}`,
    env: 'LLM_REPLAY_MODE=record-if-missing',
  };
  if (body === undefined) return { event, explanation: null, record };
  const input = { method: event.method, path: event.path, body: parseJson(body) };
  const explanation = await explainRequest(store, event.testId === null ? input : { ...input, testId: event.testId });
  return {
    event,
    explanation: {
      id: explanation.id,
      recorded: explanation.recorded,
      message: messageOf(explanation),
      nearest: explanation.nearest.map(nearestView),
      ...(explanation.partialSearch === undefined ? {} : { partialSearch: explanation.partialSearch }),
    },
    record,
  };
}

function messageOf(explanation: Explanation): string {
  if (explanation.numericMatch !== undefined) {
    return `${explanation.method} ${explanation.path} is answered now by ${explanation.numericMatch.id}, whose request is the same number for number (x-llm-replay-match: numeric).`;
  }
  if (explanation.recorded) return `${explanation.method} ${explanation.path} is recorded now, as ${explanation.id}.`;
  if (explanation.problem !== undefined) return `The file of ${explanation.id} exists but cannot be read: ${explanation.problem}`;
  return missMessage(explanation);
}

function nearestView(match: NearestMatch): NearestView {
  const view: NearestView = {
    id: match.id,
    endpoint: match.endpoint,
    model: match.model,
    route: match.route,
    differences: match.differences.map(({ path, a, b }) => ({
      path,
      recorded: a === undefined ? null : jsonText(a),
      requested: b === undefined ? null : jsonText(b),
    })),
    differenceCount: match.differenceCount,
  };
  if (match.misnamedAs !== undefined) view.note = `Its file name does not match its request, which gives ${match.misnamedAs}: run llm-replay recordings verify.`;
  else if (match.doubledV1) view.note = 'llama-stack recorded it under its doubled /v1 path: copy it with llm-replay recordings import.';
  return view;
}
