/** Every property of a Request, and every method, that a lazily-real Request must answer. */
export const REQUEST_MEMBERS = {
  properties: ['method', 'url', 'headers', 'signal', 'destination', 'referrer', 'referrerPolicy', 'mode', 'credentials', 'cache', 'redirect', 'integrity', 'keepalive', 'body', 'bodyUsed', 'duplex'],
  methods: ['clone', 'blob', 'arrayBuffer', 'text', 'json', 'formData', 'bytes'],
} as const;

/** Every property of a Response, and every method, that a lazily-real Response must answer. */
export const RESPONSE_MEMBERS = {
  properties: ['status', 'ok', 'type', 'url', 'redirected', 'statusText', 'headers', 'body', 'bodyUsed'],
  methods: ['clone', 'blob', 'arrayBuffer', 'text', 'json', 'formData', 'bytes'],
} as const;

/**
 * A prototype for objects that are a Request or Response to everyone
 * (`instanceof`, every property and method) while holding only what the hot
 * path reads: the getters in `own` answer from the object itself, and every
 * other member is handed to the real one `real` builds on first use. Node's
 * Request and Response build web streams and signals that a replay never
 * reads; no maintained library offers such a wrapper on its own.
 */
export function lazyPrototype<Self>(
  parent: object,
  members: { properties: readonly string[]; methods: readonly string[] },
  real: (self: Self) => object,
  own: Record<string, (this: Self) => unknown>,
): object {
  const prototype: object = Object.create(parent);
  for (const key of members.properties) {
    const get = own[key] ?? function (this: Self): unknown {
      return (real(this) as Record<string, unknown>)[key];
    };
    Object.defineProperty(prototype, key, { get });
  }
  for (const key of members.methods) {
    Object.defineProperty(prototype, key, {
      value(this: Self, ...args: unknown[]) {
        const target = real(this) as Record<string, (...a: unknown[]) => unknown>;
        return target[key]!.apply(target, args);
      },
    });
  }
  return prototype;
}
