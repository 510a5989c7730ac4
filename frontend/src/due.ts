// When to look again for something the bank does by itself at its time (a hold released when it
// expires, a standing order's run): the app is told nothing, so it loads the list again a moment
// after that time, and again, less and less often, while the list still shows it undone.

import { MAX_TIMER_MS } from './sessions';

/** Something due at `at` (RFC 3339), to look for again then. */
export interface Due {
  uuid: string;
  at: string;
}

/**
 * The soonest of `items`, and how long until the list should be loaded again to show it done:
 * a moment (`graceMs`) after its time, as the bank looks every second. One overdue but still
 * listed is looked for again after half the time it is overdue, from `minimumMs` up to
 * `maximumMs` (the bank may be away). Null without items (an unreadable time counts as none),
 * and when the soonest is further off than a timer can wait (no session lasts as long).
 */
export function nextDue(
  items: readonly Due[],
  now: number,
  { graceMs = 1_500, minimumMs = 1_000, maximumMs = 60_000 } = {},
): { uuid: string; inMs: number } | null {
  let soonest: { uuid: string; at: number } | null = null;
  for (const item of items) {
    const at = Date.parse(item.at);
    if (!Number.isNaN(at) && (soonest === null || at < soonest.at)) {
      soonest = { uuid: item.uuid, at };
    }
  }
  if (soonest === null) return null;
  const due = soonest.at + graceMs - now;
  const inMs =
    due > 0 ? Math.max(minimumMs, due) : Math.min(maximumMs, Math.max(minimumMs, -due / 2));
  return inMs > MAX_TIMER_MS ? null : { uuid: soonest.uuid, inMs };
}
