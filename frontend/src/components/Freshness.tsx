/** Whether polled numbers are live: announced when that changes, not at every poll. */
export function Freshness({ loaded, stale }: { loaded: boolean; stale: boolean }) {
  const [state, text] = !loaded
    ? ['connecting', 'Loading…']
    : stale
      ? ['offline', 'Stale']
      : ['live', 'Live'];
  return (
    <span className={`badge badge-${state}`} role="status">
      {text}
    </span>
  );
}
