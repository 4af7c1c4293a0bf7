/**
 * A side door on a Request for whoever built it (the HTTP edge): its body as
 * bytes and single header values, without web streams or a Headers object.
 * The recorder uses it when present and the standard Request API otherwise.
 */
export interface FastRequestView {
  /** The body bytes, or undefined when there are more than `limit`. */
  readBody(request: Request, limit: number): Promise<Uint8Array | undefined>;
  /** One header value by lower-case name. */
  header(request: Request, name: string): string | undefined;
}

const FAST_VIEW = Symbol('llm-replay.fastRequestView');

/**
 * Gives `target` the view: a prototype, so its requests share one view and
 * nothing is allocated per request.
 */
export function attachFastView(target: object, view: FastRequestView): void {
  (target as { [FAST_VIEW]?: FastRequestView })[FAST_VIEW] = view;
}

export function fastViewOf(request: Request): FastRequestView | undefined {
  return (request as unknown as { [FAST_VIEW]?: FastRequestView })[FAST_VIEW];
}

export function headerOf(request: Request, name: string): string | undefined {
  const view = fastViewOf(request);
  return view === undefined ? (request.headers.get(name) ?? undefined) : view.header(request, name);
}

/** Path and query of a request URL as sent, without `new URL`'s cost or its dot-segment rewriting. */
export function pathAndSearch(url: string): { path: string; search: string } {
  const scheme = url.indexOf('://');
  const start = scheme === -1 ? 0 : url.indexOf('/', scheme + 3);
  if (start === -1) return { path: '/', search: '' };
  const query = url.indexOf('?', start);
  const hash = url.indexOf('#', start);
  const end = hash === -1 ? url.length : hash;
  return query === -1 || query > end
    ? { path: url.slice(start, end), search: '' }
    : { path: url.slice(start, query), search: url.slice(query, end) };
}
