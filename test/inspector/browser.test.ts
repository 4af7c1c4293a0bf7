import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { RecordingPage } from '../../src/inspector/api-types.js';
import { startServer, type RunningServer } from '../../src/server/start-server.js';
import { CHAT_PATH, chatBody, inspectorFixture, VISION_ID, type InspectorFixture } from './fixtures.js';

/** Debian's chromium; .ci/run installs it when missing. */
const CHROMIUM = '/usr/bin/chromium';
const SHOTS = join(import.meta.dirname, '../../test-output/inspector');
const BUILT_PAGE = join(import.meta.dirname, '../../dist/inspector/ui/app.js');
const ROW_HEIGHT = 34;

let fixture: InspectorFixture;
let server: RunningServer;
let browser: Browser;
let page: Page;
let base: string;
/** Errors the page raised or logged: none is expected. */
const pageErrors: string[] = [];

beforeAll(async () => {
  if (!existsSync(BUILT_PAGE)) throw new Error(`The inspector page is not built (${BUILT_PAGE} is missing): run npm run build first.`);
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium), as .ci/run does.`);
  await mkdir(SHOTS, { recursive: true });
  fixture = await inspectorFixture();
  server = await startServer({ recordings: fixture.dir, data: fixture.data, port: 0 });
  base = `${server.url}/__llm-replay/`;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.on('pageerror', (error) => pageErrors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') pageErrors.push(message.text());
  });
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await fixture?.remove();
});

async function open(hash: string): Promise<void> {
  await page.goto(`${base}${hash}`);
}

async function shot(name: string, fullPage = false): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage });
}

const post = (body: string): Promise<Response> => fetch(`${server.url}${CHAT_PATH}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });

describe('the inspector in a real browser', () => {
  it('shows every recording in the table, drawing only the rows in view', async () => {
    const count = fixture.all.length;
    // Tall enough for every row: the table draws what is in view.
    await page.setViewportSize({ width: 1400, height: count * ROW_HEIGHT + 300 });
    await open('#/recordings');
    await page.locator('.count', { hasText: `${count} recordings` }).waitFor();
    await page.locator(`.rec-row[data-id="${fixture.all.at(-1)}"]`).waitFor();
    const shown = await page.locator('.rec-row[data-id]').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-id')!));
    expect(shown.sort()).toEqual(fixture.all);

    await page.setViewportSize({ width: 1400, height: 900 });
    await page.locator('.rec-scroller').evaluate((scroller) => scroller.scrollTo(0, 0));
    await vi.waitFor(async () => expect(await page.locator('.rec-row[data-id]').count()).toBeLessThan(count));
    await shot('recordings');
    // Scrolled to the bottom, the oldest recording comes into view and the newest leaves it (newest first).
    const newest = await page.locator('.rec-row[data-id]').first().getAttribute('data-id');
    const oldest = ((await (await fetch(`${base}api/recordings?sort=time&dir=asc&limit=1`)).json()) as RecordingPage).rows[0]!.id;
    await page.locator('.rec-scroller').evaluate((scroller) => scroller.scrollTo(0, scroller.scrollHeight));
    await page.locator(`.rec-row[data-id="${oldest}"]`).waitFor();
    expect(await page.locator(`.rec-row[data-id="${newest}"]`).count()).toBe(0);
    expect(pageErrors).toEqual([]);
  });

  it('narrows the table with a search across messages and answers', async () => {
    await open('#/recordings');
    await page.locator('input.search').fill('madrid');
    await page.locator('.count', { hasText: `1 of ${fixture.all.length} recordings match` }).waitFor();
    const shown = await page.locator('.rec-row[data-id]').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-id')));
    expect(shown).toEqual([fixture.ids.spain]);
    await shot('search');
    await page.locator('input.search').fill('');
    await page.locator('.count', { hasText: `${fixture.all.length} recordings` }).waitFor();
  });

  it('shows a streamed recording as a conversation, its answer reassembled and its chunks on a timeline', async () => {
    await page.locator(`.rec-row[data-id="${fixture.ids.streamed}"]`).click();
    await page.locator('.answer-text').waitFor();
    expect(await page.locator('.answer-text').textContent()).toBe('The capital of France is Paris.');
    expect(await page.locator('.msg.user .text').textContent()).toBe('What is the capital of France?');
    expect(await page.locator('h3', { hasText: 'Answer (reassembled from 4 chunks)' }).count()).toBe(1);
    expect(await page.locator('svg.timeline .tick').count()).toBe(4);
    expect(await page.locator('.timeline-figure figcaption').textContent()).toContain('first chunk after 120 ms');
    await page.locator('.raw > summary').click();
    await page.locator('.raw .json-tree [data-path="$.request.body.temperature"]').waitFor();
    expect(await page.locator('.raw [data-path="$.request.body.temperature"] .j-num').textContent()).toBe('0.0');
    await shot('recording', true);
    expect(pageErrors).toEqual([]);
  });

  it('shows images as images, and flags credentials without showing a header', async () => {
    await open(`#/recording/${VISION_ID}`);
    const image = page.locator('.msg.user img');
    await image.waitFor();
    // Decoded: the page's policy lets inline images through.
    await vi.waitFor(async () => expect(await image.evaluate((element) => (element as unknown as { naturalWidth: number }).naturalWidth)).toBeGreaterThan(0));
    await shot('recording-image');

    await open(`#/recording/${fixture.ids.toolChat}`);
    await page.locator('.msg.tool').waitFor();
    expect(await page.locator('.recording-view .msg .role').allTextContents()).toEqual(['system', 'user', 'assistant', 'tool → call_1', 'user', 'assistantfinish: tool_calls']);
    expect(await page.locator('.tools > summary').textContent()).toBe('Tools (1)');
    expect(await page.locator('.tool-call .tool-name').allTextContents()).toEqual(['get_weather', 'get_weather']);
    // The sample's image data is not a real PNG: it is named, not shown broken.
    expect(await page.locator('.msg.user .images').count()).toBe(1);
    await shot('conversation', true);

    await open(`#/recording/${fixture.ids.secret}`);
    await page.locator('.alert.credentials').waitFor();
    expect(await page.locator('.alert.credentials').textContent()).toContain('bearer token');
    await page.locator('.raw > summary').click();
    await page.locator('.raw [data-path="$.request.headers"]').waitFor();
    const text = await page.locator('main').textContent();
    expect(text).not.toContain('abcdef0123456789');
    expect(text).not.toContain('org-hidden-from-the-page');
    await shot('credentials', true);
    expect(pageErrors).toEqual([]);
  });

  it('compares two selected recordings, the differing JSON path highlighted on both sides', async () => {
    await open('#/recordings');
    await page.locator('input.search').fill('capital of');
    for (const id of [fixture.ids.spain, fixture.ids.italy]) {
      const box = page.locator(`.rec-row[data-id="${id}"] input[type=checkbox]`);
      await box.click();
      await page.locator(`.rec-row.selected[data-id="${id}"]`).waitFor();
    }
    await page.locator('button', { hasText: 'Compare 2 selected' }).click();
    await page.locator('.diff-view').waitFor();
    expect(await page.locator('.j-leaf.diff-old').evaluateAll((nodes) => nodes.map((node) => node.getAttribute('data-path')))).toEqual(['$.messages[0].content']);
    expect(await page.locator('.j-leaf.diff-new').evaluateAll((nodes) => nodes.map((node) => node.getAttribute('data-path')))).toEqual(['$.messages[0].content']);
    expect(await page.locator('.side.old-side .diff-old').textContent()).toContain('What is the capital of Spain?');
    expect(await page.locator('.side.new-side .diff-new').textContent()).toContain('What is the capital of Italy?');
    expect(await page.locator('table.changes tr[data-path="$.messages[0].content"] del').textContent()).toBe('Spain');
    expect(await page.locator('table.changes tr[data-path="$.choices[0].text"]').count()).toBe(1);
    expect(await page.locator('.side.old-side del').textContent()).toBe('Madrid');
    expect(await page.locator('.side.new-side ins').textContent()).toBe('Rome');
    await shot('diff', true);
    expect(pageErrors).toEqual([]);
  });

  it('shows requests in live traffic as they happen, and a miss opens onto its nearest recording and differing path', async () => {
    await open('#/live');
    await page.locator('.live-view .badge.ok', { hasText: 'connected' }).waitFor();
    expect((await post(chatBody('What is the capital of Italy?'))).status).toBe(200);
    await page.locator(`tr.recording:has-text("${fixture.ids.italy}")`).waitFor({ timeout: 1_000 });
    expect((await post(chatBody('What is the capital of Italy, really?'))).status).toBe(404);
    const miss = page.locator('tr.miss').first();
    await miss.waitFor({ timeout: 1_000 });
    await miss.click();
    await page.locator(`.explain .nearest[data-id="${fixture.ids.italy}"]`).first().waitFor();
    const difference = page.locator(`.explain .nearest[data-id="${fixture.ids.italy}"] tr[data-path="$.messages[0].content"]`).first();
    await difference.waitFor();
    expect(await difference.locator('ins').textContent()).toBe(', really');
    expect(await page.locator('.explain pre').textContent()).toBe(`llm-replay serve --mode record-if-missing --upstream http://localhost:11434 --recordings ${fixture.dir}`);
    await shot('live');
    expect(pageErrors).toEqual([]);
  });

  it('lists the recordings no logged run used, without a way to delete them', async () => {
    await open('#/unused');
    await page.locator('.unused-table').waitFor();
    const listed = await page.locator('.unused-table tr[data-id]').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-id')));
    // The live traffic test replayed the Italy chat: the usage log has it.
    expect(listed).not.toContain(fixture.ids.italy);
    expect(listed).toContain(fixture.ids.spain);
    expect(listed).toHaveLength(fixture.all.length - 1);
    expect(await page.locator('.usage-view pre').textContent()).toContain('llm-replay recordings prune --unused');
    expect(await page.locator('.usage-view button', { hasText: /delete/i }).count()).toBe(0);
    await shot('unused');
    expect(pageErrors).toEqual([]);
  });

  it('refuses an id that would leave the recordings folder', async () => {
    const refused = await page.request.get(`${base}api/recordings/..%2F..%2F..%2Fetc%2Fpasswd`);
    expect(refused.status()).toBe(400);
    await open('#/recording/..%2F..%2F..%2Fetc%2Fpasswd');
    await page.locator('.alert.bad').waitFor();
    expect(await page.locator('.alert.bad').textContent()).toContain('Invalid recording id "../../../etc/passwd"');
    await shot('traversal');
    // The failed API call is the only error the page logged.
    expect(pageErrors.filter((error) => !error.includes('400'))).toEqual([]);
  });
});
