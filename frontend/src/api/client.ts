// The one urql client of the app: queries and mutations over HTTP, subscriptions over one
// WebSocket (graphql-transport-ws protocol, the graphql-ws library). The socket opens at start
// and reconnects for ever; views watch its state to show whether they are live, and reload
// what they show after a reconnect, since events during the gap were not streamed.

import { Client, fetchExchange, subscriptionExchange } from '@urql/core';
import { createClient as createWsClient, type Client as WsClient } from 'graphql-ws';
import type { Endpoint } from '../config';

export type ConnectionState = 'connecting' | 'live' | 'offline';

export interface Connection {
  state: ConnectionState;
  /** Counts the times the socket connected; a change means the live stream may have a gap. */
  connects: number;
}

type Listener = () => void;

/** The socket's state as an external store for React's useSyncExternalStore. */
export class ConnectionStore {
  private current: Connection = { state: 'connecting', connects: 0 };
  private readonly listeners = new Set<Listener>();

  get = (): Connection => this.current;

  subscribe = (listener: Listener): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  set(state: ConnectionState): void {
    const connects = state === 'live' ? this.current.connects + 1 : this.current.connects;
    if (state === this.current.state && connects === this.current.connects) return;
    this.current = { state, connects };
    for (const listener of this.listeners) listener();
  }
}

export interface Api {
  client: Client;
  connection: ConnectionStore;
  endpoint: Endpoint;
}

export function createApi(endpoint: Endpoint): Api {
  const connection = new ConnectionStore();
  const ws: WsClient = createWsClient({
    url: endpoint.ws,
    lazy: false,
    retryAttempts: Number.MAX_SAFE_INTEGER,
    // Waits 1, 2, 4 … up to 10 seconds between tries, with jitter.
    retryWait: (retries) =>
      new Promise((resolve) =>
        setTimeout(resolve, Math.min(10_000, 1000 * 2 ** retries) + Math.random() * 300),
      ),
    shouldRetry: () => true,
    on: {
      connecting: () => connection.set('connecting'),
      connected: () => connection.set('live'),
      closed: () => connection.set('offline'),
    },
  });
  const client = new Client({
    url: endpoint.http,
    requestPolicy: 'network-only',
    // The endpoint takes GraphQL over POST only.
    preferGetMethod: false,
    exchanges: [
      fetchExchange,
      subscriptionExchange({
        forwardSubscription(request) {
          const input = { ...request, query: request.query ?? '' };
          return {
            subscribe(sink) {
              const unsubscribe = ws.subscribe(input, sink);
              return { unsubscribe };
            },
          };
        },
      }),
    ],
  });
  return { client, connection, endpoint };
}
