import type { ExecutionResult } from '@urql/core';
import type { ClientOptions, Client as WsClient, Sink } from 'graphql-ws';
import { describe, expect, it, vi } from 'vitest';
import type { RefusalEffect } from '../sessions';
import { ConnectionStore } from './client';
import { createSessionSocket, RENEW_CHECK_MS } from './socket';

const unauthenticated = {
  data: null,
  errors: [{ message: 'session expired', extensions: { code: 'UNAUTHENTICATED' } }],
};

/** A stand-in for graphql-ws: keeps the subscriptions, and connects when told to. */
function fakeWs() {
  const subscriptions: { sink: Sink; disposed: boolean }[] = [];
  let options: ClientOptions | null = null;
  const client = {
    subscribe: (_payload: unknown, sink: Sink) => {
      const entry = { sink, disposed: false };
      subscriptions.push(entry);
      return () => (entry.disposed = true);
    },
    terminate: vi.fn(),
    dispose: vi.fn(),
  };
  const create = ((given: ClientOptions) => {
    options = given;
    return client as unknown as WsClient;
  }) as (options: ClientOptions) => WsClient;
  /** The socket a connect opens: what the app sends on it directly. */
  const socket = { readyState: 1, send: vi.fn() };
  /** What the socket sends in connection_init, as a connect would. */
  const connect = async () => {
    const params = options?.connectionParams;
    const payload = typeof params === 'function' ? await params() : params;
    (options?.on?.connected as ((socket: unknown) => void) | undefined)?.(socket);
    return payload;
  };
  return { client, create, subscriptions, connect, socket, options: () => options };
}

function setUp(token: { current: string | null }, effect: RefusalEffect) {
  const ws = fakeWs();
  const refused = vi.fn((): RefusalEffect => effect);
  const socket = createSessionSocket(
    'ws://127.0.0.1:8181/graphql/ws',
    { token: () => token.current, refused },
    new ConnectionStore(),
    ws.create,
  );
  const sink = { next: vi.fn(), error: vi.fn(), complete: vi.fn() };
  const request = { query: 'subscription { alerts(iban: "x") { kind } }', variables: {} };
  const subscription = socket.forward(request as never, {} as never).subscribe(sink);
  return { ws, refused, sink, subscription };
}

describe('createSessionSocket', () => {
  it('connects with the newest token of the session, and at once only with one', async () => {
    const token = { current: 'token-1' as string | null };
    const { ws } = setUp(token, 'ended');
    expect(ws.options()?.lazy).toBe(false);
    expect(await ws.connect()).toEqual({ Authorization: 'Bearer token-1' });
    token.current = 'token-2';
    expect(await ws.connect()).toEqual({ Authorization: 'Bearer token-2' });
    expect(setUp({ current: null }, 'none').ws.options()?.lazy).toBe(true);
  });

  it('hands a refreshed token to the open socket in a ping, once', async () => {
    vi.useFakeTimers();
    try {
      const token = { current: 'token-1' as string | null };
      const { ws } = setUp(token, 'outdated');
      await ws.connect();
      vi.advanceTimersByTime(RENEW_CHECK_MS);
      expect(ws.socket.send).not.toHaveBeenCalled();
      token.current = 'token-2';
      vi.advanceTimersByTime(RENEW_CHECK_MS);
      expect(ws.socket.send).toHaveBeenCalledExactlyOnceWith(
        JSON.stringify({ type: 'ping', payload: { Authorization: 'Bearer token-2' } }),
      );
      vi.advanceTimersByTime(RENEW_CHECK_MS);
      expect(ws.socket.send).toHaveBeenCalledOnce();
    } finally {
      vi.useRealTimers();
    }
  });

  it('passes data and the end of a subscription on', () => {
    const { ws, sink } = setUp({ current: 'token-1' }, 'ended');
    const result: ExecutionResult = { data: { alerts: { kind: 'ANY_CREDIT' } } };
    ws.subscriptions[0]?.sink.next(result);
    ws.subscriptions[0]?.sink.complete();
    expect(sink.next).toHaveBeenCalledWith(result);
    expect(sink.complete).toHaveBeenCalledOnce();
  });

  it('subscribes again on a fresh socket when the socket’s token was refreshed away', async () => {
    const token = { current: 'token-1' as string | null };
    const { ws, refused, sink } = setUp(token, 'outdated');
    await ws.connect();
    token.current = 'token-2';
    ws.subscriptions[0]?.sink.next(unauthenticated);
    ws.subscriptions[0]?.sink.complete();
    expect(refused).toHaveBeenCalledWith('session expired', 'token-1');
    expect(ws.client.terminate).toHaveBeenCalledOnce();
    expect(ws.subscriptions).toHaveLength(2);
    expect(ws.subscriptions[0]?.disposed).toBe(true);
    // The subscriber sees neither the refusal nor an end.
    expect(sink.next).not.toHaveBeenCalled();
    expect(sink.complete).not.toHaveBeenCalled();
    expect(await ws.connect()).toEqual({ Authorization: 'Bearer token-2' });
  });

  it('terminates the socket once however many subscriptions report the old token', async () => {
    const { ws } = setUp({ current: 'token-1' }, 'outdated');
    ws.subscriptions[0]?.sink.next(unauthenticated);
    ws.subscriptions[1]?.sink.error(unauthenticated.errors);
    expect(ws.client.terminate).toHaveBeenCalledOnce();
    expect(ws.subscriptions).toHaveLength(3);
    await ws.connect();
    ws.subscriptions[2]?.sink.next(unauthenticated);
    expect(ws.client.terminate).toHaveBeenCalledTimes(2);
  });

  it('hands a refusal of the current session to the subscriber', () => {
    const { ws, sink } = setUp({ current: 'token-1' }, 'ended');
    ws.subscriptions[0]?.sink.next(unauthenticated);
    expect(sink.next).toHaveBeenCalledWith(unauthenticated);
    expect(ws.client.terminate).not.toHaveBeenCalled();
  });

  it('subscribes again on the same socket after a RESYNC, and reports a gap so views reload', () => {
    const ws = fakeWs();
    const connection = new ConnectionStore();
    const socket = createSessionSocket(
      'ws://127.0.0.1:8181/graphql/ws',
      { token: () => 'token-1', refused: () => 'ended' },
      connection,
      ws.create,
    );
    const sink = { next: vi.fn(), error: vi.fn(), complete: vi.fn() };
    const request = { query: 'subscription { stream_transactions { id } }', variables: {} };
    socket.forward(request as never, {} as never).subscribe(sink);
    const before = connection.get().connects;
    const resync = {
      data: null,
      errors: [{ message: 'this stream fell behind', extensions: { code: 'RESYNC', skipped: 9 } }],
    };
    ws.subscriptions[0]?.sink.next(resync);
    ws.subscriptions[0]?.sink.complete();
    expect(ws.subscriptions).toHaveLength(2);
    expect(ws.subscriptions[0]?.disposed).toBe(true);
    expect(ws.client.terminate).not.toHaveBeenCalled();
    expect(connection.get().connects).toBe(before + 1);
    // The subscriber sees neither the RESYNC nor an end, and goes on receiving.
    expect(sink.next).not.toHaveBeenCalled();
    expect(sink.complete).not.toHaveBeenCalled();
    const result: ExecutionResult = { data: { stream_transactions: { id: 7 } } };
    ws.subscriptions[1]?.sink.next(result);
    expect(sink.next).toHaveBeenCalledWith(result);
  });

  it('does not subscribe again once the subscriber left', () => {
    const { ws, subscription } = setUp({ current: 'token-1' }, 'outdated');
    subscription.unsubscribe();
    expect(ws.subscriptions[0]?.disposed).toBe(true);
    ws.subscriptions[0]?.sink.next(unauthenticated);
    expect(ws.subscriptions).toHaveLength(1);
  });
});
