// The baseline for the replay benchmark: a bare node:http server that answers
// each path with fixed headers and bytes (llm-replay's own answer), as fast as Node can. Usage: node bare-server.mjs SPEC.json
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';

const spec = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const routes = new Map(Object.entries(spec).map(([path, { headers, body }]) => [path, { headers, body: Buffer.from(body, 'base64') }]));
const server = createServer({ keepAliveTimeout: 30_000 }, (req, res) => {
  req.resume();
  req.on('end', () => {
    const route = routes.get(req.url);
    if (route === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, route.headers);
    res.end(route.body);
  });
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`listening on http://127.0.0.1:${server.address().port}\n`);
});
