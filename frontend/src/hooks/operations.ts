import { OPERATIONS } from '../api/operations';
import { POLL_INTERVAL_MS, type Operations } from '../operations';
import { usePolledQuery } from './polledQuery';

export interface OperationsState {
  /** The last answer; kept while later polls fail, marked by `stale`. */
  operations: Operations | null;
  /** When it arrived, by the browser's clock. */
  receivedAt: number | null;
  /** Why the last poll brought nothing, or null when it did. */
  error: string | null;
  /** True once the last answer is older than STALE_AFTER_MS (see isStale). */
  stale: boolean;
}

/**
 * The `operations` query, asked over HTTP every `intervalMs` with the employee's session (the
 * employee views' API sends it; a refused session ends there, and with it this view).
 */
export function useOperations(intervalMs = POLL_INTERVAL_MS): OperationsState {
  const { data, receivedAt, error, stale } = usePolledQuery(OPERATIONS, { intervalMs });
  return { operations: data?.operations ?? null, receivedAt, error, stale };
}
