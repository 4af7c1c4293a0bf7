// The fake Ollama of the test suite, run as its own process for the record-mode benchmark.
import { startFakeUpstream } from '../test/support/fake-upstream.js';

const upstream = await startFakeUpstream();
process.stdout.write(`listening on ${upstream.url}\n`);
