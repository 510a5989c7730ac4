// The API of one role (customer or employee) for one session: queries and mutations over HTTP,
// subscriptions over a WebSocket of its own (graphql-transport-ws protocol, the graphql-ws
// library). A customer and an employee may be logged in in the same tab; each role has its own
// API, so a request never carries the other role's session. A new session (a login) or none (a
// logout) gets a new API: every view that uses it loads and subscribes again, and the new socket
// sends the new session in its `connection_init`. A refreshed token of the same session goes with
// the next request without any of that.

import {
  Client,
  fetchExchange,
  makeOperation,
  mapExchange,
  subscriptionExchange,
} from '@urql/core';
import type { Endpoint } from '../config';
import type { RefusalEffect } from '../sessions';
import { authorizationHeaders, unauthenticatedMessage } from './auth';
import { type ConsistencyToken, tabConsistency } from './consistency';
import { createSessionSocket } from './socket';

export type ConnectionState = 'connecting' | 'live' | 'offline';

export interface Connection {
  state: ConnectionState;
  /**
   * Counts the times the live stream may have had a gap: every connect of the socket, and every
   * stream the endpoint ended with RESYNC (it fell behind). Views reload what they show on a change.
   */
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

  /** A stream missed records (RESYNC) and was started again: views reload, as after a connect. */
  gap(): void {
    this.publish({ ...this.current, connects: this.current.connects + 1 });
  }

  set(state: ConnectionState): void {
    const connects = state === 'live' ? this.current.connects + 1 : this.current.connects;
    if (state === this.current.state && connects === this.current.connects) return;
    this.publish({ state, connects });
  }

  private publish(next: Connection): void {
    this.current = next;
    for (const listener of this.listeners) listener();
  }
}

export interface Api {
  client: Client;
  connection: ConnectionStore;
  endpoint: Endpoint;
  /** `GET url` with the session, for the endpoint's files (statements). */
  fetchWithSession: (url: string) => Promise<Response>;
}

/** What an API needs from the session it was made for. */
export interface SessionAccess {
  /** The token to send now (the newest of the session), or null without a session. */
  token: () => string | null;
  /** The endpoint answered UNAUTHENTICATED to a request sent with `tokenUsed`. */
  refused: (message: string, tokenUsed: string | null) => RefusalEffect;
}

export interface DisposableApi extends Api {
  /** Closes the socket for good; HTTP requests still on their way are answered. */
  dispose: () => void;
}

/**
 * Puts the session on every HTTP request as it is sent (`Authorization: Bearer …`), and tells
 * the session about an UNAUTHENTICATED answer, with the token that request carried: an answer to
 * a token that was refreshed since does not end the session. Every request also carries the
 * positions earlier answers named, and every answer's are kept (read your own writes, see
 * `./consistency`).
 */
function sessionExchange(access: SessionAccess, consistency: ConsistencyToken) {
  return mapExchange({
    onOperation(operation) {
      if (operation.kind === 'teardown' || operation.kind === 'subscription') return operation;
      const token = access.token();
      return makeOperation(operation.kind, operation, {
        ...operation.context,
        sessionToken: token,
        fetchOptions: {
          headers: { ...authorizationHeaders(token), ...consistency.headers() },
        },
      });
    },
    onResult(result) {
      // Subscriptions are answered on the socket, which handles their refusals itself.
      if (result.operation.kind === 'subscription') return;
      consistency.remember(result.extensions);
      const refusal = unauthenticatedMessage(result.error);
      const tokenUsed = (result.operation.context.sessionToken as string | null) ?? null;
      if (refusal !== null) access.refused(refusal, tokenUsed);
    },
  });
}

export function createApi(
  endpoint: Endpoint,
  access: SessionAccess,
  consistency: ConsistencyToken = tabConsistency,
): DisposableApi {
  const connection = new ConnectionStore();
  const socket = createSessionSocket(endpoint.ws, access, connection);
  const client = new Client({
    url: endpoint.http,
    requestPolicy: 'network-only',
    // The endpoint takes GraphQL over POST only (as application/json).
    preferGetMethod: false,
    exchanges: [
      sessionExchange(access, consistency),
      fetchExchange,
      subscriptionExchange({ forwardSubscription: socket.forward }),
    ],
  });
  const fetchWithSession = (url: string) =>
    fetch(url, {
      headers: { ...authorizationHeaders(access.token()), ...consistency.headers() },
      credentials: 'omit',
    });
  return { client, connection, endpoint, fetchWithSession, dispose: socket.dispose };
}
