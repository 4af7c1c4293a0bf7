import type { RecordingEnvelope } from '../recording/envelope.js';
import { recordingIdForBody, urlPath } from '../recording/recording-id.js';

/** The ids a recording's own request hashes to, and which one its file name carries. */
export interface RecordingIdentity {
  /** The id from `request.method`, `urlPath(request.url)`, `request.body` and `test_id`: what llama-stack hashes. */
  expected: string;
  /** The path that id was computed from. */
  path: string;
  /**
   * The path whose id the file name matches, or undefined when it matches
   * none. Besides the url's path, `request.endpoint` is accepted: llm-replay
   * hashes the path it received, which differs from the url's path when the
   * upstream has a base path (`https://host/inference` + `/v1/...`).
   */
  matchedPath: string | undefined;
}

/** The test isolation name a recording was hashed with, if any. */
export function testIdOf(envelope: RecordingEnvelope): string | undefined {
  return typeof envelope.test_id === 'string' ? envelope.test_id : undefined;
}

/** Recomputes a recording's id from its request and says whether `fileId` is it. */
export function identify(fileId: string, envelope: RecordingEnvelope): RecordingIdentity {
  const { method, url, endpoint, body } = envelope.request;
  const testId = testIdOf(envelope);
  const path = urlPath(url);
  const expected = recordingIdForBody(method, path, body, testId);
  if (expected === fileId) return { expected, path, matchedPath: path };
  if (typeof endpoint === 'string' && endpoint !== path && recordingIdForBody(method, endpoint, body, testId) === fileId) {
    return { expected, path, matchedPath: endpoint };
  }
  return { expected, path, matchedPath: undefined };
}
