import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.map': 'application/json; charset=utf-8',
};

/**
 * What the page may load: its own scripts, styles and inline images, and
 * nothing from anywhere else (no CDN, no remote image a recording names).
 */
const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export const PAGE_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};

interface Asset {
  bytes: Uint8Array;
  type: string;
}

/**
 * The page's files, compiled by `npm run build` into dist/inspector/ui/ next
 * to this module. From the sources (tests run them), that folder is
 * src/inspector/ui/, which holds TypeScript: the built copy in dist/ is used.
 */
function uiFolder(): string | undefined {
  for (const candidate of ['./ui/', '../../dist/inspector/ui/']) {
    const folder = fileURLToPath(new URL(candidate, import.meta.url));
    if (existsSync(join(folder, 'app.js'))) return folder;
  }
  return undefined;
}

/**
 * The page's files by name, read once on first use. Only the names found
 * in the folder are served: no path from a request reaches the file system.
 */
export class StaticFiles {
  private assets: Map<string, Asset> | undefined;

  /** The file called `name` (`index.html`, `app.js`, …), or undefined. */
  get(name: string): Response | undefined {
    const asset = this.load().get(name);
    if (asset === undefined) return undefined;
    return new Response(asset.bytes, { headers: { ...PAGE_HEADERS, 'content-type': asset.type } });
  }

  /** True when the page was built. */
  built(): boolean {
    return this.load().has('app.js');
  }

  private load(): Map<string, Asset> {
    if (this.assets !== undefined) return this.assets;
    const assets = new Map<string, Asset>();
    const folder = uiFolder();
    if (folder !== undefined) {
      for (const name of readdirSync(folder)) {
        const type = CONTENT_TYPES[extname(name)];
        if (type !== undefined) assets.set(name, { bytes: readFileSync(join(folder, name)), type });
      }
    }
    this.assets = assets;
    return assets;
  }
}
