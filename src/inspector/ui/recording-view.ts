import type { AnswerView, ConversationView, ImageRef, MessageView, RecordingDetail, ToolCallView } from '../api-types.js';
import { getJson } from './api.js';
import { append, badge, copyText, formatBytes, formatTime, h, plural, type Child } from './dom.js';
import { jsonTree } from './json-tree.js';
import { streamTimeline } from './timeline.js';

/** One recording as a conversation: request, answer, stream timing, the raw file. */
export async function recordingView(id: string): Promise<HTMLElement> {
  const detail = await getJson<RecordingDetail>(`api/recordings/${encodeURIComponent(id)}`);
  const root = h('section', { class: 'view recording-view' });
  root.append(header(detail));
  if (detail.invalid !== undefined) {
    root.append(h('div', { class: 'alert bad' }, `This file cannot be read as a recording: ${detail.invalid}. Run llm-replay recordings verify to check the folder.`));
    return root;
  }
  const conversation = detail.conversation!;
  append(root, warnings(detail), requestSection(conversation, detail), answerSection(conversation), conversation.reply.streaming ? timelineSection(detail) : null, rawSection(detail));
  return root;
}

function header(detail: RecordingDetail): HTMLElement {
  const c = detail.conversation;
  const other = h('input', { type: 'text', class: 'mono', placeholder: 'another id', 'aria-label': 'Id to compare with', size: 14 });
  const compare = (): void => {
    const value = other.value.trim();
    if (value !== '') location.hash = `#/diff/${detail.id}/${value}`;
  };
  other.addEventListener('keydown', (event) => {
    if (event.key === 'Enter') compare();
  });
  const copied = h('span', { class: 'muted', role: 'status' });
  const actions = h(
    'div',
    { class: 'actions' },
    detail.curl === undefined
      ? null
      : h('button', { type: 'button', class: 'primary', onclick: () => void copyText(detail.curl!).then(() => (copied.textContent = 'copied')) }, 'Copy as curl'),
    copied,
    h('span', { class: 'compare' }, other, h('button', { type: 'button', onclick: compare }, 'Compare')),
  );
  const badges: Child[] = c === undefined ? [] : [
    c.reply.streaming ? badge(`stream · ${plural(c.reply.chunks, 'chunk')}`, 'stream') : badge('not streamed'),
    badge(String(c.reply.status), c.reply.status >= 400 ? 'bad' : 'ok'),
    c.testId === undefined ? null : badge(`test ${c.testId}`),
  ];
  return h(
    'header',
    { class: 'card recording-head' },
    h('div', { class: 'title' }, h('h2', { class: 'mono' }, c === undefined ? detail.id : [h('span', { class: 'method' }, c.method), ' ', c.path]), ...badges),
    h(
      'div',
      { class: 'meta' },
      h('span', { class: 'mono' }, detail.id),
      c === undefined || c.model === '' ? null : h('span', null, 'model ', h('strong', null, c.model)),
      h('span', { class: 'mono' }, detail.file),
      h('span', null, formatBytes(detail.size)),
      h('span', null, formatTime(detail.modified)),
    ),
    actions,
    detail.curl === undefined ? null : h('details', { class: 'curl' }, h('summary', null, 'curl command'), h('pre', { class: 'mono' }, detail.curl)),
  );
}

function warnings(detail: RecordingDetail): Child[] {
  const out: Child[] = [];
  const findings = detail.findings;
  if (findings !== undefined && (findings.secrets.length > 0 || findings.headers.length > 0 || findings.query.length > 0)) {
    out.push(
      h(
        'div',
        { class: 'alert bad credentials', role: 'alert' },
        h('strong', null, 'Credentials in this file'),
        ' (what llm-replay recordings verify flags; remove them before committing):',
        h(
          'ul',
          null,
          findings.secrets.map((secret) => h('li', null, `line ${secret.line}: ${secret.kind} `, h('code', null, secret.preview))),
          findings.headers.map((name) => h('li', null, 'a stored credential header: ', h('code', null, name))),
          findings.query.map((name) => h('li', null, 'a secret query parameter in request.url: ', h('code', null, name))),
        ),
      ),
    );
  }
  if (detail.expectedId !== undefined) {
    out.push(h('div', { class: 'alert warn' }, `The file name is not the id of its request, which is ${detail.expectedId}: the proxy never serves it for this request. Run llm-replay recordings verify.`));
  }
  return out;
}

function requestSection(c: ConversationView, detail: RecordingDetail): HTMLElement {
  const section = h('section', { class: 'card' }, h('h3', null, 'Request'));
  if (c.parameters.length > 0) {
    section.append(h('div', { class: 'params' }, c.parameters.map(([key, value]) => h('span', { class: 'param' }, h('span', { class: 'muted' }, key), ' ', h('code', null, value)))));
  }
  if (c.tools.length > 0) {
    section.append(
      h(
        'details',
        { class: 'tools' },
        h('summary', null, `Tools (${c.tools.length})`),
        c.tools.map((tool) =>
          h('div', { class: 'tool' }, h('code', { class: 'tool-name' }, tool.name), tool.description === undefined ? null : h('span', { class: 'muted' }, ` ${tool.description}`), tool.parameters === undefined ? null : jsonTree(tool.parameters, { openDepth: 0 })),
        ),
      ),
    );
  }
  if (c.system !== undefined) section.append(message({ role: 'system', content: c.system, attachments: [], toolCalls: [] }, []));
  if (c.messagesFromPrompt) section.append(h('p', { class: 'muted' }, 'Messages read from the raw Llama 3 prompt:'));
  c.messages.forEach((item, index) => section.append(message(item, c.messagesFromPrompt ? [] : (detail.images?.messages[String(index)] ?? []))));
  if (!c.messagesFromPrompt) {
    for (const prompt of c.prompts) section.append(h('div', { class: 'msg user' }, h('div', { class: 'role' }, 'prompt'), h('div', { class: 'text' }, prompt)));
  }
  if (c.inputs.length > 0) {
    section.append(h('div', { class: 'msg user' }, h('div', { class: 'role' }, `input${c.inputs.length === 1 ? '' : `s (${c.inputs.length})`}`), h('ol', { class: 'inputs' }, c.inputs.map((input) => h('li', { class: 'text' }, input)))));
  }
  const requestImages = detail.images?.request ?? [];
  if (requestImages.length > 0) section.append(h('div', { class: 'msg user' }, h('div', { class: 'role' }, 'images'), images(requestImages)));
  return section;
}

function message(item: MessageView, refs: ImageRef[]): HTMLElement {
  const role = [
    item.role,
    item.name === undefined ? null : h('span', { class: 'role-extra' }, ` (${item.name})`),
    item.toolCallId === undefined ? null : h('span', { class: 'role-extra' }, ` → ${item.toolCallId}`),
  ];
  const attachmentsWithoutImage = item.attachments.filter((kind) => kind !== 'image' || refs.length === 0);
  return h(
    'div',
    { class: `msg ${roleClass(item.role)}` },
    h('div', { class: 'role' }, role),
    item.thinking === undefined ? null : h('details', { class: 'thinking' }, h('summary', null, 'thinking'), h('div', { class: 'text' }, item.thinking)),
    item.content === '' ? null : h('div', { class: 'text' }, item.content),
    refs.length === 0 ? null : images(refs),
    attachmentsWithoutImage.length === 0 ? null : h('div', { class: 'muted' }, attachmentsWithoutImage.map((kind) => `[${kind}]`).join(' ')),
    toolCalls(item.toolCalls),
  );
}

function roleClass(role: string): string {
  return ['system', 'user', 'assistant', 'tool', 'developer'].includes(role) ? role : 'other';
}

function images(refs: ImageRef[]): HTMLElement {
  return h(
    'div',
    { class: 'images' },
    refs.map((ref) =>
      ref.kind === 'data'
        ? h('img', {
            src: ref.src,
            alt: 'image sent with the message',
            loading: 'lazy',
            onerror: (event: Event) => (event.target as HTMLElement).replaceWith(h('span', { class: 'remote-image' }, '[an image the browser cannot decode]')),
          })
        : h('span', { class: 'remote-image', title: 'not loaded: the inspector loads nothing from the network' }, 'remote image ', h('code', null, ref.url)),
    ),
  );
}

function toolCalls(calls: ToolCallView[]): Child {
  if (calls.length === 0) return null;
  return h(
    'div',
    { class: 'tool-calls' },
    calls.map((call) => h('div', { class: 'tool-call' }, h('div', null, '→ call ', h('code', { class: 'tool-name' }, call.name), call.id === undefined ? null : h('span', { class: 'muted' }, ` ${call.id}`)), argumentsView(call.arguments))),
  );
}

function argumentsView(text: string): HTMLElement {
  try {
    JSON.parse(text);
    return jsonTree(text, { openDepth: 1 });
  } catch {
    return h('pre', { class: 'mono' }, text);
  }
}

function answerSection(c: ConversationView): HTMLElement {
  const reply = c.reply;
  const section = h('section', { class: 'card' }, h('h3', null, reply.streaming ? `Answer (reassembled from ${plural(reply.chunks, 'chunk')})` : 'Answer'));
  if (reply.error !== undefined) {
    section.append(h('div', { class: 'alert bad' }, h('strong', null, `${reply.error.status}${reply.error.type === undefined ? '' : ` ${reply.error.type}`}`), ` ${reply.error.message}`));
  }
  for (const answer of reply.answers) section.append(answerView(answer, reply.answers.length > 1));
  if (reply.embeddings !== undefined) section.append(h('p', null, `${plural(reply.embeddings.count, 'vector')} of ${reply.embeddings.dimensions} dimensions`));
  const facts: Child[] = [];
  if (reply.usage !== undefined) {
    const { promptTokens, completionTokens, totalTokens } = reply.usage;
    facts.push(h('div', { class: 'usage' }, h('span', { class: 'muted' }, 'tokens '), [promptTokens === undefined ? null : `prompt ${promptTokens}`, completionTokens === undefined ? null : `completion ${completionTokens}`, totalTokens === undefined ? null : `total ${totalTokens}`].filter((x) => x !== null).join(' · ')));
  }
  if (reply.timings !== undefined) facts.push(timingsTable(reply.timings));
  if (facts.length > 0) section.append(h('div', { class: 'facts' }, facts));
  if (reply.body !== undefined) section.append(jsonTree(reply.body, { openDepth: 1 }));
  return section;
}

function answerView(answer: AnswerView, numbered: boolean): HTMLElement {
  return h(
    'div',
    { class: 'msg assistant answer' },
    h('div', { class: 'role' }, numbered ? `choice ${answer.index}` : 'assistant', answer.finishReason === undefined ? null : badge(`finish: ${answer.finishReason}`)),
    answer.thinking === undefined ? null : h('details', { class: 'thinking' }, h('summary', null, 'thinking'), h('div', { class: 'text' }, answer.thinking)),
    h('div', { class: 'text answer-text' }, answer.text),
    toolCalls(answer.toolCalls),
  );
}

function timingsTable(timings: NonNullable<ConversationView['reply']['timings']>): HTMLElement {
  const ms = (ns: number | undefined): string => (ns === undefined ? '–' : `${(ns / 1e6).toFixed(1)} ms`);
  const rate = (count: number | undefined, ns: number | undefined): string => (count === undefined || ns === undefined || ns === 0 ? '' : `${(count / (ns / 1e9)).toFixed(1)} tokens/s`);
  return h(
    'table',
    { class: 'timings' },
    h('caption', null, "Ollama's timings"),
    h('tbody', null,
      h('tr', null, h('th', null, 'total'), h('td', null, ms(timings.totalDuration)), h('td', null, '')),
      h('tr', null, h('th', null, 'load'), h('td', null, ms(timings.loadDuration)), h('td', null, '')),
      h('tr', null, h('th', null, `prompt eval${timings.promptEvalCount === undefined ? '' : ` (${timings.promptEvalCount} tokens)`}`), h('td', null, ms(timings.promptEvalDuration)), h('td', null, rate(timings.promptEvalCount, timings.promptEvalDuration))),
      h('tr', null, h('th', null, `eval${timings.evalCount === undefined ? '' : ` (${timings.evalCount} tokens)`}`), h('td', null, ms(timings.evalDuration)), h('td', null, rate(timings.evalCount, timings.evalDuration))),
    ),
  );
}

function timelineSection(detail: RecordingDetail): HTMLElement {
  const section = h('section', { class: 'card' }, h('h3', null, 'Stream timeline'));
  const timing = detail.timing;
  if (timing === null || timing === undefined || timing.framesMs === null) {
    section.append(h('p', { class: 'muted' }, 'When the chunks arrived was not recorded for this stream (llama-stack and older llm-replay versions do not keep it); record it again with llm-replay to see its timeline.'));
  } else {
    section.append(streamTimeline({ headersMs: timing.headersMs, framesMs: timing.framesMs, endMs: timing.endMs }));
  }
  return section;
}

function rawSection(detail: RecordingDetail): HTMLElement {
  const details = h('details', { class: 'card raw' }, h('summary', null, h('h3', null, 'Raw file'), h('span', { class: 'muted' }, ' headers hidden')));
  let filled = false;
  details.addEventListener('toggle', () => {
    if (!details.open || filled) return;
    filled = true;
    details.append(detail.raw === null || detail.raw === undefined ? h('p', { class: 'muted' }, 'Too large to show as a tree: open the file in an editor.') : jsonTree(detail.raw, { openDepth: 3 }));
  });
  return details;
}
