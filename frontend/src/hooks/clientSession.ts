import { createContext, useCallback, useContext, useMemo, useState } from 'react';
import type { Api } from '../api/client';
import type { SessionStore } from '../api/sessionStore';
import type { Session, SessionEnd } from '../sessions';
import { useSession } from './api';
import { useOwnedAccounts, type OwnedAccounts } from './ownedAccounts';

export interface ClientState {
  /** Who is logged in on the client view; null while nobody is. */
  session: Session | null;
  /** Why the last session ended (logged out, expired, refused), until the next login. */
  ended: SessionEnd;
  store: SessionStore;
  /** Starts a session; with the IBAN of the account to work with, when one is known (sign-up). */
  logIn: (session: Session, iban: string | null) => void;
  /** The account the user works with; null until they pick one (then it is their oldest). */
  selected: string | null;
  select: (iban: string | null) => void;
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
 * alerts of the user's accounts must keep arriving while another view is shown. The selection is
 * kept per session: the next user starts without one.
 */
export function useClientState(): ClientState {
  const { session, ended, store, api } = useSession('customer');
  // Each session has an API of its own: the selection holds for the session it was made in.
  const [selection, setSelection] = useState<{ api: Api | null; iban: string | null }>({
    api: null,
    iban: null,
  });
  const selected = session !== null && selection.api === api ? selection.iban : null;
  const select = useCallback((iban: string | null) => setSelection({ api, iban }), [api]);
  const logIn = useCallback(
    (started: Session, iban: string | null) => {
      store.start(started);
      setSelection({ api: store.get().api, iban });
    },
    [store],
  );
  const owned = useOwnedAccounts(session?.username ?? null);
  return useMemo(
    () => ({ session, ended, store, logIn, selected, select, owned }),
    [session, ended, store, logIn, selected, select, owned],
  );
}
