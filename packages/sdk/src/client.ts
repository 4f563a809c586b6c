import createFetchClient, { type Client } from 'openapi-fetch';
import type { paths } from './schema.js';

export type { paths, components } from './schema.js';

export interface ClientOptions {
  /** Latchkey's address, e.g. https://latchkey.internal:3000. */
  baseUrl: string;
  /** A service key ({brand}_svc_…) with the permissions the calls need. */
  serviceKey: string;
  /** Your own user who asked for the change: recorded beside the service key in Latchkey's management log (≤ 200 chars). */
  onBehalfOf?: string;
  /** A fetch to use instead of the global one (tests, proxies). */
  fetch?: typeof globalThis.fetch;
}

export type LatchkeyClient = Client<paths>;

/**
 * The typed management client: openapi-fetch over the types generated from Latchkey's /openapi.json, the
 * service key sent as Bearer on every call. `const { data, error } = await client.GET('/v1/workspaces', …)`.
 */
export function createClient(options: ClientOptions): LatchkeyClient {
  return createFetchClient<paths>({
    baseUrl: options.baseUrl.replace(/\/+$/, ''),
    headers: {
      authorization: `Bearer ${options.serviceKey}`,
      ...(options.onBehalfOf === undefined ? {} : { 'latchkey-on-behalf-of': options.onBehalfOf }),
    },
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
}
