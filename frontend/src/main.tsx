import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { createApi } from './api/client';
import { App } from './App';
import { ENDPOINT_KEY, resolveEndpoint } from './config';
import './styles.css';

declare global {
  interface Window {
    OPEN_BANK_CONFIG?: { graphqlUrl?: string };
  }
}

const { endpoint, remember } = resolveEndpoint({
  search: window.location.search,
  remembered: localStorage.getItem(ENDPOINT_KEY),
  runtime: window.OPEN_BANK_CONFIG?.graphqlUrl,
  buildTime: import.meta.env.VITE_GRAPHQL_URL as string | undefined,
  origin: window.location.origin,
});
if (remember === null) localStorage.removeItem(ENDPOINT_KEY);
else if (remember !== undefined) localStorage.setItem(ENDPOINT_KEY, remember);

const root = document.getElementById('root');
if (root === null) throw new Error('index.html has no #root element');
createRoot(root).render(
  <StrictMode>
    <App api={createApi(endpoint)} />
  </StrictMode>,
);
