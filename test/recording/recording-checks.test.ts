import { describe, expect, it } from 'vitest';
import { parseRecording, recordedResponse } from '../../src/recording/envelope.js';

// The fields llm-replay writes beyond llama-stack's (status, headers, frames, line end, timing, repeat) are
// checked when a file is read, so a replay can trust them; a file that breaks one is refused,
// naming the file and the field.

const REQUEST = { method: 'POST', url: 'http://h/v1/chat/completions', headers: {}, body: {}, endpoint: '/v1/chat/completions', model: '' };

const file = (response: Record<string, unknown>, top: Record<string, unknown> = {}): string => JSON.stringify({ ...top, request: REQUEST, response: { body: {}, is_streaming: false, ...response } });

const refusal = (text: string): string => {
  try {
    parseRecording(text, 'r.json');
  } catch (error) {
    expect(error).toMatchObject({ code: 'invalid_recording' });
    return (error as Error).message;
  }
  throw new Error('expected the file to be refused');
};

describe('a recording file', () => {
  it.each([
    [{ status_code: 99 }, 'response.status_code must be an HTTP status from 100 to 599'],
    [{ status_code: 600 }, 'response.status_code must be an HTTP status from 100 to 599'],
    [{ status_code: 200.5 }, 'response.status_code must be an HTTP status from 100 to 599'],
    [{ status_code: '200' }, 'response.status_code must be an HTTP status from 100 to 599'],
    [{ headers: { 'x-a': 1 } }, 'response.headers must be an object of strings'],
    [{ headers: ['x'] }, 'response.headers must be an object of strings'],
    [{ frames: {} }, 'response.frames must be a list of objects with string "event", "id" and "data" fields'],
    [{ frames: ['x'] }, 'response.frames must be a list of objects with string "event", "id" and "data" fields'],
    [{ frames: [{ name: 'x' }] }, 'response.frames must be a list of objects with string "event", "id" and "data" fields'],
    [{ frames: [{ data: 1 }] }, 'response.frames must be a list of objects with string "event", "id" and "data" fields'],
    [{ timing: { headers_ms: 1 } }, 'response.timing must hold whole milliseconds: headers_ms, end_ms and a frames_ms list'],
    [{ timing: { end_ms: 1 } }, 'response.timing must hold whole milliseconds: headers_ms, end_ms and a frames_ms list'],
    [{ timing: { headers_ms: 1.5, end_ms: 2 } }, 'response.timing must hold whole milliseconds: headers_ms, end_ms and a frames_ms list'],
    [{ timing: { headers_ms: -1, end_ms: 2 } }, 'response.timing must hold whole milliseconds: headers_ms, end_ms and a frames_ms list'],
    [{ timing: { headers_ms: 1, end_ms: 2, frames_ms: 3 } }, 'response.timing must hold whole milliseconds: headers_ms, end_ms and a frames_ms list'],
    [{ timing: { headers_ms: 1, end_ms: 2, frames_ms: [1, 'x'] } }, 'response.timing must hold whole milliseconds: headers_ms, end_ms and a frames_ms list'],
    [{ timing: [] }, 'response.timing must hold whole milliseconds: headers_ms, end_ms and a frames_ms list'],
    [{ line_end: '\n' }, 'response.line_end must be "\\r\\n" or "\\r" (a stream whose lines end in LF has none)'],
    [{ line_end: 13 }, 'response.line_end must be "\\r\\n" or "\\r" (a stream whose lines end in LF has none)'],
    [{ is_exception: 'yes' }, 'response.is_exception must be true or false'],
    [{ body: null, is_exception: true, exception_message: 5 }, 'response.exception_message must be a string'],
  ])('with %j is refused', (response, problem) => {
    expect(refusal(file(response))).toBe(`Invalid recording r.json: ${problem}.`);
  });

  it.each([
    [{ repeat: 1 }],
    [{ repeat: 2.5 }],
    [{ repeat: '2' }],
  ])('with %j is refused', (top) => {
    expect(refusal(file({}, top))).toBe('Invalid recording r.json: repeat must be a whole number from 2 up.');
  });

  it('must take from its body as many chunks as its frames need', () => {
    expect(refusal(file({ is_streaming: true, body: [{ a: 1 }], frames: [{}, {}] }))).toBe('Invalid recording r.json: response.frames takes 2 chunks from response.body, which holds 1.');
    expect(refusal(file({ body: {}, frames: [{}] }))).toBe('Invalid recording r.json: response.frames takes 1 chunks from response.body, which holds 0.');
  });

  it('takes every field at its limits, and reads them back', () => {
    const text = file(
      {
        is_streaming: true,
        body: [{ a: 1 }],
        status_code: 599,
        headers: { 'content-type': 'text/event-stream', 'x-request-id': 'r' },
        frames: [{ event: 'e', id: '1' }, { data: 'tail' }],
        line_end: '\r\n',
        timing: { headers_ms: 0, frames_ms: [1, 2], end_ms: 3 },
      },
      { repeat: 2, test_id: null },
    );
    const envelope = parseRecording(text, 'r.json');
    expect(recordedResponse(envelope)).toEqual({
      kind: 'stream',
      status: 599,
      chunks: [{ a: expect.anything() }],
      frames: [{ event: 'e', id: '1' }, { data: 'tail' }],
      lineEnd: '\r\n',
      headers: { 'content-type': 'text/event-stream', 'x-request-id': 'r' },
      timing: { headersMs: 0, framesMs: [1, 2], endMs: 3 },
    });
    expect(() => parseRecording(file({ status_code: 100 }), 'r.json')).not.toThrow();
    expect(recordedResponse(parseRecording(file({ timing: { headers_ms: 4, end_ms: 9 } }), 'r.json'))).toEqual({ kind: 'json', status: 200, data: {}, timing: { headersMs: 4, endMs: 9 } });
  });

  it('replays a streamed body that is not a list, in an error recording, as that error', () => {
    const envelope = parseRecording(file({ is_streaming: true, body: null, is_exception: true, exception_data: { status_code: 503, body: { error: 'x' } } }), 'r.json');
    expect(recordedResponse(envelope)).toMatchObject({ kind: 'error', status: 503, data: { error: 'x' } });
  });

  it('leaves out headers and timing that are not objects when replaying a hand-edited file', () => {
    const envelope = parseRecording(file({}), 'r.json');
    envelope.response['headers'] = 'x';
    envelope.response['timing'] = 'y';
    expect(recordedResponse(envelope)).toEqual({ kind: 'json', status: 200, data: {} });
  });
});
