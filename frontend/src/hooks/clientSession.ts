import { createContext, useCallback, useContext, useMemo, useState } from 'react';
import { parseSession, SESSION_KEY, type Session } from '../session';
import { useOwnedAccounts, type OwnedAccounts } from './ownedAccounts';

export interface ClientState {
  /** Who is logged in on the client view; null while nobody is. */
  session: Session | null;
  setSession: (session: Session | null) => void;
  /** Every account of the logged-in user, balances live; no accounts while nobody is logged in. */
  owned: OwnedAccounts;
}

export const ClientContext = createContext<ClientState | null>(null);

export function useClient(): ClientState {
  const client = useContext(ClientContext);
  if (client === null) throw new Error('useClient needs a ClientContext provider');
  return client;
}

/**
 * The client's session and accounts for the whole app rather than the client view alone: the
 * alerts of the user's accounts must keep arriving while another view is shown.
 */
export function useClientState(): ClientState {
  const [session, setStoredSession] = useState(() =>
    parseSession(sessionStorage.getItem(SESSION_KEY)),
  );
  const setSession = useCallback((next: Session | null) => {
    if (next === null) sessionStorage.removeItem(SESSION_KEY);
    else sessionStorage.setItem(SESSION_KEY, JSON.stringify(next));
    setStoredSession(next);
  }, []);
  const owned = useOwnedAccounts(session);
  return useMemo(() => ({ session, setSession, owned }), [session, setSession, owned]);
}
