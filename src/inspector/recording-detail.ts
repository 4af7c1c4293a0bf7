import { stringify } from 'lossless-json';
import { readConversation, type Conversation } from '../inspect/conversation.js';
import { readRecording } from '../inspect/folder.js';
import { identify } from '../recording/identity.js';
import { credentialHeaders, findSecrets, secretQueryParamsOf } from '../inspect/secrets.js';
import { recordedResponse, type RecordingEnvelope } from '../recording/envelope.js';
import { isJsonObject, jsonText, type JsonValue } from '../recording/json-value.js';
import { queryOf, queryWithout, SECRET_QUERY_PARAMS } from '../recording/recording-id.js';
import type { ConversationView, RecordingDetail } from './api-types.js';
import { curlCommand } from './curl.js';
import { imagesOf } from './images.js';
import { locateRecording } from './recording-file.js';

/** Files larger than this are not sent as a JSON tree (the page would choke on it); the conversation is still shown. */
const RAW_LIMIT = 5 * 1024 * 1024;

/**
 * One recording as the page shows it: the conversation (the same reading
 * as `recordings show`), its images, the stream's timing, credentials
 * `recordings verify` would flag, a curl command that replays it through
 * the proxy at `proxyBase`, and the file itself with its headers hidden.
 */
export function recordingDetail(dir: string, id: string, proxyBase: string): RecordingDetail {
  const file = locateRecording(dir, id);
  const loaded = readRecording(file);
  const detail: RecordingDetail = { id, file: file.name, size: loaded.size, modified: loaded.mtimeMs };
  if (!loaded.ok) return { ...detail, invalid: loaded.error };
  const { envelope, text } = loaded;
  const identity = identify(id, envelope);
  if (identity.matchedPath === undefined) detail.expectedId = identity.expected;
  const conversation = readConversation(envelope);
  const timing = recordedResponse(envelope).timing;
  // Secret parameters a foreign file may still carry stay out of the command.
  const query = queryWithout(queryOf(envelope.request.url), SECRET_QUERY_PARAMS);
  const testId = conversation.testId;
  return {
    ...detail,
    conversation: conversationView(conversation),
    images: imagesOf(envelope.request.body),
    timing: timing === undefined ? null : { headersMs: timing.headersMs, framesMs: timing.framesMs ?? null, endMs: timing.endMs },
    findings: {
      secrets: findSecrets(text),
      headers: credentialHeaders(envelope.request.headers),
      query: secretQueryParamsOf(envelope.request.url),
    },
    curl: curlCommand(proxyBase, {
      method: envelope.request.method,
      path: (identity.matchedPath ?? identity.path) + (query === '' ? '' : `?${query}`),
      body: isEmptyBody(envelope.request.body) ? '' : jsonText(envelope.request.body),
      ...(testId === undefined ? {} : { testId }),
    }),
    raw: text.length > RAW_LIMIT ? null : (stringify(withoutHeaders(envelope), null, 2) ?? null),
  };
}

/** The conversation with its recorded JSON values as JSON text, so the page shows `0.0` as written. */
function conversationView(conversation: Conversation): ConversationView {
  const { body, ...reply } = conversation.reply;
  return {
    ...conversation,
    tools: conversation.tools.map(({ parameters, ...tool }) => (parameters === undefined ? tool : { ...tool, parameters: jsonText(parameters) })),
    parameters: conversation.parameters.map(([key, value]) => [key, jsonText(value)]),
    reply: body === undefined ? reply : { ...reply, body: jsonText(body) },
  };
}

function isEmptyBody(body: JsonValue): boolean {
  return isJsonObject(body) && Object.keys(body).length === 0;
}

/** The envelope with its stored headers replaced by a note: the inspector never shows a header. */
function withoutHeaders(envelope: RecordingEnvelope): unknown {
  const hide = (headers: JsonValue | undefined): JsonValue | undefined => {
    if (!isJsonObject(headers) || Object.keys(headers).length === 0) return headers;
    const count = Object.keys(headers).length;
    return `(${count} header${count === 1 ? '' : 's'} hidden: the inspector never shows headers)`;
  };
  const request = { ...envelope.request, headers: hide(envelope.request.headers) };
  const response = { ...envelope.response };
  if (response['headers'] !== undefined) response['headers'] = hide(response['headers']);
  return { ...envelope, request, response };
}
