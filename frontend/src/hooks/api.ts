import { createContext, useContext, useSyncExternalStore } from 'react';
import type { Api, Connection } from '../api/client';

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
