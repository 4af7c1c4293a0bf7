import { KEY_HEADERS } from '../web/headers.js';
import { HOP_BY_HOP } from './hop-by-hop.js';

const keyValue = (name: string, key: string): string => (name === 'authorization' ? `Bearer ${key}` : key);

export interface UpstreamCredentials {
  /** Sent in place of the client's key, in the header the client used (`Authorization: Bearer` when it used none). */
  apiKey?: string | undefined;
  /** The client's key headers hold the proxy's own token: never forward them. */
  clientKeysAreToken?: boolean;
}

/** The headers a request goes upstream with: the client's, less hop-by-hop ones, with the key set as configured. */
export function outgoingHeaders(headers: Headers, credentials: UpstreamCredentials): Headers {
  const outgoing = new Headers({ 'accept-encoding': 'identity' });
  let keyed = false;
  headers.forEach((value, name) => {
    if (HOP_BY_HOP.has(name)) return;
    if (!KEY_HEADERS.includes(name)) outgoing.append(name, value);
    else if (credentials.apiKey !== undefined) {
      outgoing.set(name, keyValue(name, credentials.apiKey));
      keyed = true;
    } else if (credentials.clientKeysAreToken !== true) outgoing.append(name, value);
  });
  if (credentials.apiKey !== undefined && !keyed) outgoing.set('authorization', `Bearer ${credentials.apiKey}`);
  return outgoing;
}
