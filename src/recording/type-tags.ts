import { stripQuery } from './recording-id.js';

interface TagRule {
  suffix: string;
  body: string;
  chunk: string;
}

/**
 * The Python class names llama-stack tags bodies with (DESIGN 2), matched by
 * path suffix so prefixes such as `/v1/v1` or `/inference/v1` still match.
 * Order matters: `/chat/completions` before `/completions`, `/api/embeddings`
 * before `/embeddings`.
 */
const RULES: readonly TagRule[] = [
  {
    suffix: '/chat/completions',
    body: 'openai.types.chat.chat_completion.ChatCompletion',
    chunk: 'openai.types.chat.chat_completion_chunk.ChatCompletionChunk',
  },
  { suffix: '/completions', body: 'openai.types.completion.Completion', chunk: 'openai.types.completion.Completion' },
  { suffix: '/api/generate', body: 'ollama._types.GenerateResponse', chunk: 'ollama._types.GenerateResponse' },
  { suffix: '/api/chat', body: 'ollama._types.ChatResponse', chunk: 'ollama._types.ChatResponse' },
  // llama-stack records the ollama client's embed() under /api/embeddings with EmbedResponse (see the fixtures).
  { suffix: '/api/embeddings', body: 'ollama._types.EmbedResponse', chunk: 'ollama._types.EmbedResponse' },
  { suffix: '/api/embed', body: 'ollama._types.EmbedResponse', chunk: 'ollama._types.EmbedResponse' },
  { suffix: '/api/tags', body: 'ollama._types.ListResponse', chunk: 'ollama._types.ListResponse' },
  { suffix: '/api/ps', body: 'ollama._types.ProcessResponse', chunk: 'ollama._types.ProcessResponse' },
  { suffix: '/api/pull', body: 'ollama._types.ProgressResponse', chunk: 'ollama._types.ProgressResponse' },
  { suffix: '/api/show', body: 'ollama._types.ShowResponse', chunk: 'ollama._types.ShowResponse' },
  {
    suffix: '/embeddings',
    body: 'openai.types.create_embedding_response.CreateEmbeddingResponse',
    chunk: 'openai.types.create_embedding_response.CreateEmbeddingResponse',
  },
];

/**
 * The `__type__` for a response body (or, when streaming, each chunk) on this
 * path, or undefined when the body is stored untagged (model lists and
 * anything unknown).
 */
export function typeTagFor(path: string, streaming: boolean): string | undefined {
  let route = stripQuery(path);
  while (route.length > 1 && route.endsWith('/')) route = route.slice(0, -1);
  for (const rule of RULES) {
    if (route.endsWith(rule.suffix)) return streaming ? rule.chunk : rule.body;
  }
  return undefined;
}
