// `npm run bench [proxy|batches|misses|cli|ids]`: every benchmark, measured side by side in one run on this machine.
import { runBatchesBench } from './batches-bench.js';
import { runCliBench } from './cli-bench.js';
import { runIdBench } from './id-bench.js';
import { runMissBench } from './miss-bench.js';
import { runProxyBench } from './proxy-bench.js';

const only = process.argv[2];
if (only !== undefined && only !== 'proxy' && only !== 'batches' && only !== 'misses' && only !== 'cli' && only !== 'ids') {
  console.error(`Unknown benchmark ${JSON.stringify(only)}: expected proxy, batches, misses, cli or ids, or nothing for all.`);
  process.exit(2);
}
if (only === undefined || only === 'proxy') console.log(await runProxyBench());
if (only === undefined || only === 'batches') console.log(await runBatchesBench());
if (only === undefined || only === 'misses') console.log(await runMissBench());
if (only === undefined || only === 'cli') console.log(await runCliBench());
if (only === undefined || only === 'ids') console.log(await runIdBench());
