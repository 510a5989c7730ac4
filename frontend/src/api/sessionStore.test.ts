import type { Client } from '@urql/core';
import { describe, expect, it, vi } from 'vitest';
import type { Endpoint } from '../config';
import type { Session } from '../sessions';
import { ConnectionStore, type DisposableApi, type SessionAccess } from './client';
import { SessionStore } from './sessionStore';

const endpoint: Endpoint = {
  http: 'http://127.0.0.1:8181/graphql',
  ws: 'ws://127.0.0.1:8181/graphql/ws',
};
const NOW = Date.parse('2025-11-29T13:00:00Z');
const alice: Session = {
  username: 'alice-demo',
  token: 'token-1',
  expiresAt: '2025-11-29T13:15:00Z',
};

interface Sent {
  operation: string;
  token: string | null;
}

/** A store whose APIs answer mutations from `answers`, in order, and note what they sent. */
function storeWith(answers: unknown[]) {
  const sent: Sent[] = [];
  const made: { access: SessionAccess; dispose: ReturnType<typeof vi.fn> }[] = [];
  const store = new SessionStore('customer', endpoint, (_endpoint, access) => {
    const client = {
      mutation: (document: { definitions: { name?: { value: string } }[] }) => {
        sent.push({
          operation: document.definitions[0]?.name?.value ?? '?',
          token: access.token(),
        });
        return { toPromise: () => Promise.resolve(answers.shift()) };
      },
    } as unknown as Client;
    const dispose = vi.fn();
    made.push({ access, dispose });
    const api: DisposableApi = {
      client,
      connection: new ConnectionStore(),
      endpoint,
      fetchWithSession: vi.fn(),
      dispose,
    };
    return api;
  });
  return { store, sent, made };
}

describe('SessionStore', () => {
  it('gives every new session an API of its own, and closes the one before', () => {
    const { store, made } = storeWith([]);
    const anonymous = store.get().api;
    store.start(alice, NOW);
    expect(store.get().session).toBe(alice);
    expect(store.get().api).not.toBe(anonymous);
    expect(made[0]?.dispose).toHaveBeenCalledOnce();
    expect(made[1]?.access.token()).toBe('token-1');
  });

  it('ends the session when its own token is refused, and says why', () => {
    const { store } = storeWith([]);
    store.start(alice, NOW);
    expect(store.refused('session ended', 'an-older-token')).toBe('outdated');
    expect(store.get().session).toBe(alice);
    expect(store.refused('session ended', 'token-1')).toBe('ended');
    expect(store.get().session).toBeNull();
    expect(store.get().ended?.kind).toBe('expired');
    expect(store.get().ended?.text).toMatch(/^Your session (ended: session ended|expired at)/);
    expect(store.refused('login required', null)).toBe('none');
  });

  it('refreshes at most once a minute, and sends the new token from then on', async () => {
    const fresh = { token: 'token-2', expires_at: '2025-11-29T13:16:00Z', reason: null };
    const { store, sent, made } = storeWith([{ data: { refresh_session: fresh } }]);
    store.start(alice, NOW);
    const api = store.get().api;
    await store.refresh(NOW + 59_000);
    expect(sent).toEqual([]);
    await store.refresh(NOW + 60_000);
    expect(sent).toEqual([{ operation: 'RefreshSession', token: 'token-1' }]);
    expect(store.get().session).toEqual({
      ...alice,
      token: 'token-2',
      expiresAt: fresh.expires_at,
    });
    // The same API (no reconnect, no reload); its requests now carry the new token.
    expect(store.get().api).toBe(api);
    expect(made[1]?.access.token()).toBe('token-2');
    // An answer with the refreshed-away token does not end the session.
    expect(store.refused('session expired', 'token-1')).toBe('outdated');
  });

  it('drops a refresh answered after the session ended', async () => {
    const fresh = { token: 'token-2', expires_at: '2025-11-29T13:16:00Z', reason: null };
    let answer: (value: unknown) => void = () => {};
    const { store } = storeWith([]);
    store.start(alice, NOW);
    const client = store.get().api.client as unknown as { mutation: () => unknown };
    client.mutation = () => ({ toPromise: () => new Promise((resolve) => (answer = resolve)) });
    const refreshing = store.refresh(NOW + 60_000);
    store.refused('session ended', 'token-1');
    answer({ data: { refresh_session: fresh } });
    await refreshing;
    expect(store.get().session).toBeNull();
  });

  it('logs out at the endpoint with the session, then here', async () => {
    const { store, sent } = storeWith([{ data: { logout: { success: true, reason: null } } }]);
    store.start(alice, NOW);
    await store.logOut();
    expect(sent).toEqual([{ operation: 'Logout', token: 'token-1' }]);
    expect(store.get().session).toBeNull();
    expect(store.get().ended).toEqual({ kind: 'loggedOut', text: 'You logged out.' });
  });

  it('logs out here even when the endpoint does not confirm it', async () => {
    const { store } = storeWith([{ data: { logout: { success: false, reason: 'busy' } } }]);
    store.start(alice, NOW);
    await store.logOut();
    expect(store.get().session).toBeNull();
    expect(store.get().ended?.text).toContain('could not confirm it (busy)');
  });

  it('counts a logout of a session the endpoint no longer knows as done', async () => {
    const refused = {
      error: {
        graphQLErrors: [{ message: 'session expired', extensions: { code: 'UNAUTHENTICATED' } }],
      },
    };
    const { store } = storeWith([refused]);
    store.start(alice, NOW);
    await store.logOut();
    expect(store.get().ended).toEqual({ kind: 'loggedOut', text: 'You logged out.' });
  });

  it('expires only the session whose time is up', () => {
    const { store } = storeWith([]);
    store.start(alice, NOW);
    store.expire(alice, Date.parse(alice.expiresAt) - 1);
    expect(store.get().session).toBe(alice);
    store.expire({ ...alice }, Date.parse(alice.expiresAt));
    expect(store.get().session).toBe(alice);
    store.expire(alice, Date.parse(alice.expiresAt));
    expect(store.get().session).toBeNull();
    expect(store.get().ended?.text).toMatch(/^Your session expired at .+\. Log in again\.$/);
  });
});
