import { useEffect, useMemo, useRef, useState } from 'react';
import { AlertToasts } from './components/AlertToasts';
import { ClientProvider } from './components/ClientProvider';
import { RoleApi } from './components/RoleApi';
import type { Endpoint } from './config';
import { SessionsContext, type SessionStores } from './hooks/api';
import { PreferencesContext } from './hooks/preferences';
import { useSessionUpkeep } from './hooks/sessionUpkeep';
import { parsePreferences, PREFERENCES_KEY, type Preferences } from './preferences';
import { ROUTES, useRoute } from './routes';
import { ClientView } from './views/ClientView';
import { EmployeeView } from './views/EmployeeView';
import { HomeView } from './views/HomeView';
import { OperationsView } from './views/OperationsView';

function usePreferencesState() {
  const [preferences, setPreferences] = useState<Preferences>(() =>
    parsePreferences(localStorage.getItem(PREFERENCES_KEY)),
  );
  useEffect(
    () => localStorage.setItem(PREFERENCES_KEY, JSON.stringify(preferences)),
    [preferences],
  );
  return useMemo(() => ({ preferences, setPreferences }), [preferences]);
}

interface Props {
  sessions: SessionStores;
  endpoint: Endpoint;
  /** A development build: the footer tells how to point the app elsewhere. */
  development: boolean;
}

export function App({ sessions, endpoint, development }: Props) {
  const route = useRoute();
  const preferences = usePreferencesState();
  useSessionUpkeep(sessions.customer);
  useSessionUpkeep(sessions.employee);
  const main = useRef<HTMLElement>(null);
  const firstRoute = useRef(true);

  // After a navigation, focus goes to the new view's heading, so screen readers announce it.
  useEffect(() => {
    if (firstRoute.current) {
      firstRoute.current = false;
      return;
    }
    main.current?.querySelector<HTMLElement>('h1')?.focus();
  }, [route]);

  return (
    <SessionsContext.Provider value={sessions}>
      <PreferencesContext.Provider value={preferences}>
        {/* The customer's API for the app; the employee views have their own (see RoleApi). */}
        <RoleApi role="customer">
          <ClientProvider>
            <a
              className="skip-link"
              href="#main"
              onClick={(event) => {
                event.preventDefault();
                main.current?.querySelector<HTMLElement>('h1')?.focus();
              }}
            >
              Skip to content
            </a>
            <header className="site-header">
              <span className="brand">Open Bank</span>
              <nav aria-label="Views">
                <ul>
                  {ROUTES.map((item) => (
                    <li key={item.route}>
                      <a href={item.hash} aria-current={item.route === route ? 'page' : undefined}>
                        {item.label}
                      </a>
                    </li>
                  ))}
                </ul>
              </nav>
            </header>
            <main id="main" ref={main}>
              {route === 'client' ? (
                <ClientView />
              ) : route === 'employee' ? (
                <EmployeeView />
              ) : route === 'operations' ? (
                <OperationsView />
              ) : (
                <HomeView />
              )}
            </main>
            <AlertToasts />
            <footer className="site-footer">
              GraphQL endpoint: <code data-testid="endpoint">{endpoint.http}</code>
              {development && (
                <>
                  {' '}
                  (change it with <code>?endpoint=&lt;url&gt;</code>)
                </>
              )}{' '}
              · try queries in <a href={graphiqlUrl(endpoint.http)}>GraphiQL</a>
            </footer>
          </ClientProvider>
        </RoleApi>
      </PreferencesContext.Provider>
    </SessionsContext.Provider>
  );
}

function graphiqlUrl(graphql: string): string {
  return graphql.replace(/\/graphql\/?$/, '/graphiql');
}
