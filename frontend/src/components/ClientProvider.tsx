import type { ReactNode } from 'react';
import { AlertFeedContext, useAlertFeed } from '../hooks/alertFeed';
import { ClientContext, useClientState } from '../hooks/clientSession';

/**
 * The logged-in client, their accounts and the alerts of those accounts, for every view: alerts
 * keep arriving while the user looks at another view than the client's.
 */
export function ClientProvider({ children }: { children: ReactNode }) {
  const client = useClientState();
  const alerts = useAlertFeed(client.session?.username ?? null, client.owned.accounts);
  return (
    <ClientContext.Provider value={client}>
      <AlertFeedContext.Provider value={alerts}>{children}</AlertFeedContext.Provider>
    </ClientContext.Provider>
  );
}
