import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { answerText, llamaTurns, previewOf, readConversation } from '../../src/inspect/conversation.js';
import { textChange } from '../../src/inspect/diff.js';
import { collapseDoubledV1, requestPathOf } from '../../src/inspect/explain.js';
import { createRecording, parseRecording } from '../../src/recording/envelope.js';
import { parseJson } from '../../src/recording/parse-json.js';
import { GENERATE_BODY, GENERATE_LINES, LLAMA_STACK, TOOL_CHAT_BODY, TOOL_CHAT_CHUNKS, value } from './helpers.js';

const fixture = (id: string) => {
  const file = join(LLAMA_STACK, 'responses', `${id}.json`);
  return parseRecording(readFileSync(file, 'utf8'), file);
};

describe('readConversation', () => {
  it('reads every llama-stack fixture without throwing, with an answer or a body for each', () => {
    for (const name of readdirSync(join(LLAMA_STACK, 'responses'))) {
      const conversation = readConversation(fixture(name.replace(/\.json$/, '')));
      const reply = conversation.reply;
      expect(reply.answers.length > 0 || reply.embeddings !== undefined || reply.body !== undefined, name).toBe(true);
    }
  });

  it('reassembles an OpenAI SSE chat stream into its text, finish reason and chunk count', () => {
    const conversation = readConversation(fixture('325a72db5755'));
    expect(conversation.kind).toBe('chat');
    expect(conversation.reply).toMatchObject({ streaming: true, chunks: 20, status: 200 });
    expect(answerText(conversation.reply)).toBe('The capital of the United States is Washington, D.C. (short for District of Columbia).');
    expect(conversation.reply.answers[0]?.finishReason).toBe('stop');
  });

  it('reassembles streamed completions and Ollama NDJSON (generate and chat) with timings', () => {
    const completion = readConversation(fixture('3a81146f2afa'));
    expect(completion.kind).toBe('completion');
    expect(answerText(completion.reply).startsWith('Blue.\n\nThe classic rhyming couplet')).toBe(true);

    const generate = readConversation(fixture('3c3f13cb7794'));
    expect(generate.kind).toBe('ollama-generate');
    expect(answerText(generate.reply)).toBe('The Latin word for "Sun" is Sol.');
    expect(generate.reply.answers[0]?.finishReason).toBe('stop');
    expect(generate.reply.timings?.evalCount).toBe(11);
    expect(generate.reply.usage).toEqual({ promptTokens: 26, completionTokens: 11, totalTokens: 37 });
    // The raw Llama 3 prompt reads as turns.
    expect(generate.messagesFromPrompt).toBe(true);
    expect(generate.messages.map((m) => [m.role, m.content])).toEqual([['user', "What's the name of the Sun in latin?"]]);

    const chat = readConversation(fixture('ff7db0102b28'));
    expect(chat.kind).toBe('ollama-chat');
    expect(chat.reply.chunks).toBe(103);
    expect(answerText(chat.reply)).toMatch(/^The image features a close-up of a golden retriever puppy/);
    expect(chat.messages[0]?.attachments).toEqual(['image']);
    expect(previewOf(chat)).toBe('Describe what is in this image.');
  });

  it('reads tool definitions, tool calls and tool results, and merges tool-call deltas as the SDK does', () => {
    const envelope = createRecording({
      method: 'POST',
      url: 'http://localhost:11434/v1/chat/completions',
      path: '/v1/chat/completions',
      body: parseJson(TOOL_CHAT_BODY),
      response: { kind: 'stream', status: 200, chunks: TOOL_CHAT_CHUNKS },
    });
    const conversation = readConversation(envelope);
    expect(conversation.tools).toEqual([
      expect.objectContaining({ name: 'get_weather', description: 'Current weather for a city' }),
    ]);
    expect(conversation.messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'tool', 'user']);
    expect(conversation.messages[2]?.toolCalls).toEqual([{ id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' }]);
    expect(conversation.messages[3]?.toolCallId).toBe('call_1');
    expect(conversation.messages[4]).toMatchObject({ content: 'And in Rome, in celsius?', attachments: ['image'] });
    expect(conversation.parameters).toEqual([
      ['stream', true],
      ['temperature', expect.anything()],
    ]);
    const [answer] = conversation.reply.answers;
    expect(answer).toEqual({
      index: 0,
      text: 'Let me check.',
      toolCalls: [{ id: 'call_2', name: 'get_weather', arguments: '{"city": "Rome", "unit": "c"}' }],
      finishReason: 'tool_calls',
    });
    expect(conversation.reply.usage).toEqual({ promptTokens: 40, completionTokens: 12, totalTokens: 52 });
  });

  it('reads Ollama generate with its system prompt, options and timings', () => {
    const envelope = createRecording({
      method: 'POST',
      url: 'http://localhost:11434/api/generate',
      path: '/api/generate',
      body: parseJson(GENERATE_BODY),
      response: { kind: 'stream', status: 200, chunks: GENERATE_LINES },
    });
    const conversation = readConversation(envelope);
    expect(conversation.system).toBe('Answer in one line.');
    expect(conversation.prompts).toEqual(['Why is the sky blue?']);
    expect(conversation.parameters.map(([key]) => key)).toEqual(['options.temperature']);
    expect(conversation.reply.timings).toEqual({
      totalDuration: 1_500_000_000,
      loadDuration: 20_000_000,
      promptEvalCount: 14,
      promptEvalDuration: 100_000_000,
      evalCount: 3,
      evalDuration: 60_000_000,
    });
  });

  it('reads a recorded error as its status, type and message', () => {
    const envelope = createRecording({
      method: 'POST',
      url: 'http://localhost:11434/v1/chat/completions',
      path: '/v1/chat/completions',
      body: value({ model: 'nope', messages: [] }),
      response: { kind: 'error', status: 404, data: value({ error: { message: 'model "nope" not found' } }), message: 'model "nope" not found' },
    });
    expect(readConversation(envelope).reply).toMatchObject({
      status: 404,
      answers: [],
      error: { status: 404, type: 'NotFoundError', message: 'model "nope" not found' },
    });
  });

  it('counts embeddings and their dimensions (OpenAI and Ollama shapes)', () => {
    expect(readConversation(fixture('27ef1a50dc19')).reply.embeddings).toEqual({ count: 1, dimensions: 768 });
    const ollama = readConversation(fixture('6ced1d8cdaec'));
    expect(ollama.kind).toBe('embeddings');
    expect(ollama.reply.embeddings?.count).toBeGreaterThan(0);
    expect(ollama.inputs[0]).toBe('This is a test file 0');
  });
});

describe('small helpers', () => {
  it('splits a Llama 3 prompt into turns, leaving out the empty assistant slot', () => {
    const prompt = '<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n';
    expect(llamaTurns(prompt).map((m) => [m.role, m.content])).toEqual([
      ['system', 'Be brief.'],
      ['user', 'Hi'],
    ]);
    expect(llamaTurns('plain prompt')).toEqual([]);
  });

  it('finds where two texts part, on word boundaries', () => {
    expect(textChange('The sky is blue today.', 'The sky is grey today.')).toEqual({ before: 'The sky is ', old: 'blue', new: 'grey', after: ' today.' });
    expect(textChange('same', 'same')).toEqual({ before: 'same', old: '', new: '', after: '' });
  });

  it('collapses llama-stack’s doubled /v1 and reads a full URL as its path', () => {
    expect(collapseDoubledV1('/v1/v1/chat/completions')).toBe('/v1/chat/completions');
    expect(collapseDoubledV1('/inference/v1/v1/completions')).toBe('/inference/v1/completions');
    expect(collapseDoubledV1('/api/chat')).toBe('/api/chat');
    expect(requestPathOf('http://localhost:11435/v1/chat/completions?x=1')).toBe('/v1/chat/completions');
    expect(requestPathOf('/v1/embeddings?x=1')).toBe('/v1/embeddings');
  });
});
