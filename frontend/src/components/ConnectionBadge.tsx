import { useConnection } from '../hooks/api';

const TEXT = {
  connecting: 'Connecting…',
  live: 'Live',
  offline: 'Offline, reconnecting…',
} as const;

/** Whether transactions are streaming in right now. */
export function ConnectionBadge() {
  const { state } = useConnection();
  return (
    <span className={`badge badge-${state}`} role="status">
      {TEXT[state]}
    </span>
  );
}
