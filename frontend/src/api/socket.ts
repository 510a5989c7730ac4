// The WebSocket of one role's API. It opens at start while there is a session (so views can show
// whether they are live) and reconnects for ever; views reload what they show after a reconnect,
// since events during the gap were not streamed. Without a session it opens only if something
// subscribes: every stream needs a session.
//
// The session goes in the `connection_init` payload, read at every connect, so a reconnect sends
// the newest token. The endpoint judges the socket's subscriptions by the socket's token, which a
// `ping` carrying `{"Authorization": "Bearer <token>"}` replaces with a refreshed token of the same
// session: a refresh is sent that way within seconds, and the streams go on. Should the socket's
// token still run out (the ping lost), the endpoint ends each subscription with an UNAUTHENTICATED
// error, and such a subscription is started again, transparently, on a socket that connects anew
// with the current token; a refusal of the current token itself ends the session (see
// SessionAccess.refused). A subscription the endpoint ends with RESYNC (it fell behind the live
// feed and records were dropped for it) is started again at once, and the connection reports a
// gap, so that views reload what they show as after a reconnect: nothing is missed silently.

import type { ExecutionResult, SubscriptionForwarder } from '@urql/core';
import { createClient as createWsClient, type Client as WsClient, type Sink } from 'graphql-ws';
import { connectionInitPayload, isResync, unauthenticatedMessage } from './auth';
import type { ConnectionStore, SessionAccess } from './client';

export interface SessionSocket {
  forward: SubscriptionForwarder;
  dispose: () => void;
}

/** Waits 1, 2, 4 … up to 10 seconds between tries, with jitter. */
function retryWait(retries: number): Promise<void> {
  return new Promise((resolve) =>
    setTimeout(resolve, Math.min(10_000, 1000 * 2 ** retries) + Math.random() * 300),
  );
}

/** How often a refreshed token is looked for, to hand it to the open socket. */
export const RENEW_CHECK_MS = 5_000;

export function createSessionSocket(
  url: string,
  access: SessionAccess,
  connection: ConnectionStore,
  createClient: typeof createWsClient = createWsClient,
): SessionSocket {
  // The token the socket connected with (or last handed over), as the endpoint knows it.
  let connectedWith: string | null = null;
  let renewing = false;
  let open: WebSocket | null = null;
  const ws: WsClient = createClient({
    url,
    lazy: access.token() === null,
    connectionParams: () => {
      connectedWith = access.token();
      return connectionInitPayload(connectedWith);
    },
    retryAttempts: Number.MAX_SAFE_INTEGER,
    retryWait,
    shouldRetry: () => true,
    on: {
      connecting: () => connection.set('connecting'),
      connected: (socket) => {
        renewing = false;
        open = socket as WebSocket;
        connection.set('live');
      },
      closed: () => {
        open = null;
        connection.set('offline');
      },
    },
  });

  // A refreshed token goes to the open socket in a ping, so its streams outlive the old token.
  const renewal = setInterval(() => {
    const token = access.token();
    if (open === null || open.readyState !== 1 || token === null || token === connectedWith) return;
    open.send(JSON.stringify({ type: 'ping', payload: connectionInitPayload(token) }));
    connectedWith = token;
  }, RENEW_CHECK_MS);

  /**
   * Whether `reported` refuses the socket's token while the session has a newer one: then the
   * socket connects again (once, however many subscriptions report it) and the caller subscribes
   * again. Any other refusal is the subscriber's to show, and ends the session when it is due.
   */
  function outdated(reported: unknown): boolean {
    const message = unauthenticatedMessage(reported);
    if (message === null || access.refused(message, connectedWith) !== 'outdated') return false;
    if (!renewing) {
      renewing = true;
      ws.terminate();
    }
    return true;
  }

  const forward: SubscriptionForwarder = (request) => {
    const payload = { ...request, query: request.query ?? '' };
    return {
      subscribe(sink) {
        let stopped = false;
        let stop = () => {};
        const start = () => {
          let restarted = false;
          const restart = () => {
            restarted = true;
            stop();
            if (!stopped) start();
          };
          const wrapped: Sink<ExecutionResult> = {
            next: (value) => {
              if (outdated(value)) restart();
              else if (isResync(value)) {
                restart();
                connection.gap();
              } else sink.next(value);
            },
            error: (error) => (outdated(error) ? restart() : sink.error(error)),
            complete: () => {
              if (!restarted) sink.complete();
            },
          };
          stop = ws.subscribe(payload, wrapped);
        };
        start();
        return {
          unsubscribe: () => {
            stopped = true;
            stop();
          },
        };
      },
    };
  };

  return {
    forward,
    dispose: () => {
      clearInterval(renewal);
      void ws.dispose();
    },
  };
}
