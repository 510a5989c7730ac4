import type { ReactNode } from 'react';
import { ApiContext, useSession } from '../hooks/api';
import type { Role } from '../sessions';

/** Everything below talks to the endpoint with `role`'s session (and its own WebSocket). */
export function RoleApi({ role, children }: { role: Role; children: ReactNode }) {
  const { api } = useSession(role);
  return <ApiContext.Provider value={api}>{children}</ApiContext.Provider>;
}
