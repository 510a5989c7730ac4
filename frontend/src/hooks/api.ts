import { createContext, useContext, useSyncExternalStore } from 'react';
import type { Api, Connection } from '../api/client';
import type { SessionState, SessionStore } from '../api/sessionStore';
import type { Role } from '../sessions';

/** The API of the role whose views are below: the customer's, or the employee's. */
export const ApiContext = createContext<Api | null>(null);

export function useApi(): Api {
  const api = useContext(ApiContext);
  if (api === null) throw new Error('useApi needs an ApiContext provider');
  return api;
}

export function useConnection(): Connection {
  const { connection } = useApi();
  return useSyncExternalStore(connection.subscribe, connection.get);
}

/** The tab's two sessions: a customer and an employee may be logged in at once. */
export type SessionStores = Record<Role, SessionStore>;

export const SessionsContext = createContext<SessionStores | null>(null);

export function useSessionStore(role: Role): SessionStore {
  const stores = useContext(SessionsContext);
  if (stores === null) throw new Error('useSessionStore needs a SessionsContext provider');
  return stores[role];
}

/** The role's session, why the last one ended, and its API; re-rendered when any changes. */
export function useSession(role: Role): SessionState & { store: SessionStore } {
  const store = useSessionStore(role);
  const state = useSyncExternalStore(store.subscribe, store.get);
  return { ...state, store };
}
