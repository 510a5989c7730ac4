import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { SessionStore } from './api/sessionStore';
import { App } from './App';
import { ENDPOINT_KEY, resolveEndpoint } from './config';
import './styles.css';

declare global {
  interface Window {
    OPEN_BANK_CONFIG?: { graphqlUrl?: string };
  }
}

const development = import.meta.env.DEV;
const { endpoint, remember } = resolveEndpoint({
  development,
  search: window.location.search,
  // A production build never reads a remembered endpoint (see config.ts).
  remembered: development ? localStorage.getItem(ENDPOINT_KEY) : null,
  runtime: window.OPEN_BANK_CONFIG?.graphqlUrl,
  buildTime: import.meta.env.VITE_GRAPHQL_URL as string | undefined,
  origin: window.location.origin,
});
if (remember === null) localStorage.removeItem(ENDPOINT_KEY);
else if (remember !== undefined) localStorage.setItem(ENDPOINT_KEY, remember);

// Earlier versions kept the sessions (with the customer's password) in sessionStorage; sessions
// now live in memory only, and what is left of those is removed.
for (const retired of ['open-bank.session', 'open-bank.employee-session']) {
  sessionStorage.removeItem(retired);
}

const sessions = {
  customer: new SessionStore('customer', endpoint),
  employee: new SessionStore('employee', endpoint),
};

const root = document.getElementById('root');
if (root === null) throw new Error('index.html has no #root element');
createRoot(root).render(
  <StrictMode>
    <App sessions={sessions} endpoint={endpoint} development={development} />
  </StrictMode>,
);
