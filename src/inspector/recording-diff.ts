import { answerText, readConversation } from '../inspect/conversation.js';
import { diffRecordings, textChange, type Change as RecordingChange } from '../inspect/diff.js';
import { loadResolved } from '../inspect/folder.js';
import { jsonText } from '../recording/json-value.js';
import type { Change, DiffResult, DiffSide } from './api-types.js';
import { locateRecording } from './recording-file.js';

/**
 * Two recordings side by side: their requests and answers, and every JSON
 * path where they differ, from the engine of `recordings diff` (`a` is the
 * old side, `b` the new).
 */
export function recordingDiff(dir: string, a: string, b: string): DiffResult {
  const left = loadResolved(locateRecording(dir, a));
  const right = loadResolved(locateRecording(dir, b));
  const diff = diffRecordings(left.envelope, right.envelope);
  const sideA = sideOf(left.id, left.envelope);
  const sideB = sideOf(right.id, right.envelope);
  return {
    a: sideA,
    b: sideB,
    route: diff.route.map(changeOf),
    request: diff.request.map(changeOf),
    answer: diff.answer.map(changeOf),
    text: textChange(sideA.answer, sideB.answer),
  };
}

function sideOf(id: string, envelope: Parameters<typeof readConversation>[0]): DiffSide {
  const conversation = readConversation(envelope);
  return {
    id,
    method: conversation.method,
    path: conversation.path,
    model: conversation.model,
    status: conversation.reply.status,
    body: jsonText(envelope.request.body),
    answer: answerText(conversation.reply),
  };
}

function changeOf(change: RecordingChange): Change {
  return { path: change.path, old: change.old === undefined ? null : jsonText(change.old), new: change.new === undefined ? null : jsonText(change.new) };
}
