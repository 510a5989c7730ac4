// Where the GraphQL endpoint is. The first of these that is set wins:
//   1. `?endpoint=<url>` in the page's address (remembered in localStorage for later visits;
//      `?endpoint=` with nothing forgets it),
//   2. what was remembered,
//   3. `graphqlUrl` in /config.js, which whoever serves the app can replace,
//   4. VITE_GRAPHQL_URL when the app was built,
//   5. /graphql on the app's own origin (what nginx in docker/ and `npm run serve` proxy).
// Subscriptions use the same URL with `/ws` appended, over ws:// or wss://.

export const ENDPOINT_KEY = 'open-bank.endpoint';
export const DEFAULT_PATH = '/graphql';

export interface Endpoint {
  http: string;
  ws: string;
}

export interface EndpointSources {
  /** The page's query string, as in `location.search`. */
  search: string;
  remembered: string | null;
  runtime: string | null | undefined;
  buildTime: string | null | undefined;
  origin: string;
}

export interface ResolvedEndpoint {
  endpoint: Endpoint;
  /** What to remember: a string to store, null to forget, undefined to leave as it is. */
  remember: string | null | undefined;
}

export function resolveEndpoint(sources: EndpointSources): ResolvedEndpoint {
  const fromAddress = new URLSearchParams(sources.search).get('endpoint');
  const remember = fromAddress === null ? undefined : fromAddress.trim() || null;
  const chosen =
    [fromAddress === null ? sources.remembered : remember, sources.runtime, sources.buildTime]
      .map((value) => value?.trim())
      .find((value): value is string => Boolean(value)) ?? DEFAULT_PATH;
  const http = new URL(chosen, sources.origin);
  const ws = new URL(http.href);
  ws.protocol = http.protocol === 'https:' ? 'wss:' : 'ws:';
  ws.pathname = `${ws.pathname.replace(/\/$/, '')}/ws`;
  return { endpoint: { http: http.href, ws: ws.href }, remember };
}
