// `npm run bench [proxy|batches]`: every benchmark, measured side by side in one run on this machine.
import { runBatchesBench } from './batches-bench.js';
import { runProxyBench } from './proxy-bench.js';

const only = process.argv[2];
if (only !== undefined && only !== 'proxy' && only !== 'batches') {
  console.error(`Unknown benchmark ${JSON.stringify(only)}: expected proxy or batches, or nothing for both.`);
  process.exit(2);
}
if (only === undefined || only === 'proxy') console.log(await runProxyBench());
if (only === undefined || only === 'batches') console.log(await runBatchesBench());
