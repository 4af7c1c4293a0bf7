import { AzureOpenAI } from 'openai';
import type OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { answerTo } from '../support/api-fakes/http-fake.js';
import { startOpenAIFake } from '../support/api-fakes/openai-fake.js';
import { expectSameDirectAndLive, recordThenReplay, savedRecordings, type ClientCase } from '../support/api-fakes/round-trip.js';

const DEPLOYMENT = 'gpt-4o-mini';
const VERSIONS = ['2024-02-01', '2024-10-21'] as const;

async function chatAt(baseUrl: string, apiVersion: string): Promise<{ completion: OpenAI.ChatCompletion; requestId: string | null | undefined }> {
  const azure = new AzureOpenAI({ endpoint: baseUrl, apiKey: 'azure-test-key-0123456789', apiVersion, deployment: DEPLOYMENT, maxRetries: 0 });
  const completion = await azure.chat.completions.create({ model: DEPLOYMENT, messages: [{ role: 'user', content: 'same body' }] });
  return { completion, requestId: completion._request_id };
}

const bothVersions: ClientCase<Array<Awaited<ReturnType<typeof chatAt>>>> = {
  name: 'AzureOpenAI chat at two api-versions',
  run: (baseUrl) => Promise.all(VERSIONS.map((version) => chatAt(baseUrl, version))),
  check(seen, fake) {
    expect(fake.requests.slice(-2).map((request) => `${request.path}${request.search}`).sort()).toEqual(
      VERSIONS.map((version) => `/openai/deployments/${DEPLOYMENT}/chat/completions?api-version=${version}`),
    );
    expect(seen.map((answer) => answer.completion.choices[0]?.message.content)).toEqual([answerTo('same body'), answerTo('same body')]);
    expect(seen[0]!.completion.id).not.toBe(seen[1]!.completion.id);
  },
};

describe('Azure OpenAI api-versions', () => {
  it('reach the fake as Azure sends them, directly and through a live proxy', async () => {
    await expectSameDirectAndLive(() => startOpenAIFake(), bothVersions);
  });

  it('give the same body at api-version 2024-02-01 and 2024-10-21 two recordings, each replaying its own answer', async () => {
    const trip = await recordThenReplay(() => startOpenAIFake(), bothVersions.run);
    bothVersions.check(trip.live, trip.fake);
    expect(await savedRecordings(trip.recordings)).toHaveLength(2);
    expect(trip.replayed).toEqual(trip.live);
  });
});
