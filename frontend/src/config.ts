// Where the GraphQL endpoint is. The first of these that is set wins:
//   1. in a development build only (`npm run dev`): `?endpoint=<url>` in the page's address
//      (remembered in localStorage for later visits; `?endpoint=` with nothing forgets it), then
//      what was remembered,
//   2. `graphqlUrl` in /config.js, which whoever serves the app can replace,
//   3. VITE_GRAPHQL_URL when the app was built,
//   4. /graphql on the app's own origin (what nginx in docker/ and `npm run serve` proxy).
// A production build takes no endpoint from its address: a crafted link could otherwise send a
// user's password and session to any server. It neither reads nor keeps a remembered one, and
// forgets one a development build left behind.
// Subscriptions use the same URL with `/ws` appended, over ws:// or wss://.

export const ENDPOINT_KEY = 'open-bank.endpoint';
export const DEFAULT_PATH = '/graphql';

export interface Endpoint {
  http: string;
  ws: string;
}

export interface EndpointSources {
  /** A development build (`import.meta.env.DEV`): only then do the address and memory count. */
  development: boolean;
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

/** The endpoint the address asks for (development only): a URL, '' to forget, null for none. */
function fromAddress(sources: EndpointSources): string | null {
  if (!sources.development) return null;
  const asked = new URLSearchParams(sources.search).get('endpoint');
  return asked === null ? null : asked.trim();
}

export function resolveEndpoint(sources: EndpointSources): ResolvedEndpoint {
  const asked = fromAddress(sources);
  const remember = !sources.development ? null : asked === null ? undefined : asked || null;
  const chosen =
    [sources.development ? (asked ?? sources.remembered) : null, sources.runtime, sources.buildTime]
      .map((value) => value?.trim())
      .find((value): value is string => Boolean(value)) ?? DEFAULT_PATH;
  const http = new URL(chosen, sources.origin);
  const ws = new URL(http.href);
  ws.protocol = http.protocol === 'https:' ? 'wss:' : 'ws:';
  ws.pathname = `${ws.pathname.replace(/\/$/, '')}/ws`;
  return { endpoint: { http: http.href, ws: ws.href }, remember };
}
