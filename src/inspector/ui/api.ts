import type { ApiError } from '../api-types.js';

/** A failed API call: the server's message, and its status. */
export class ApiFailure extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** GETs an API route (relative to the page) and parses its JSON; throws ApiFailure with the server's message. */
export async function getJson<T>(route: string): Promise<T> {
  const response = await fetch(route, { headers: { accept: 'application/json' } });
  const text = await response.text();
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    try {
      message = (JSON.parse(text) as ApiError).error.message;
    } catch {
      // Not our JSON error: keep the status line.
    }
    throw new ApiFailure(message, response.status);
  }
  return JSON.parse(text) as T;
}

/** A query string from the set values of `params`. */
export function query(params: Record<string, string | number | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== undefined && value !== '') search.set(key, String(value));
  const text = search.toString();
  return text === '' ? '' : `?${text}`;
}
