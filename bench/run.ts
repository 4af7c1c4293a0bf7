// `npm run bench`: every benchmark, measured side by side in one run on this machine.
import { runProxyBench } from './proxy-bench.js';

const only = process.argv[2];
if (only === undefined || only === 'proxy') console.log(await runProxyBench());
