// Read your own writes. Every answer of the endpoint names, in `extensions.consistency`, the
// event positions its reads reflect and its mutations caused (`bank_events:3:1204,…`). Sent back
// as the `open-bank-consistency` header, it makes the endpoint (any replica) answer a query only
// once the read side has applied them: a list read right after a transfer holds the transfer.
// Kept in memory only, like the session; the positions are not secret, only useless elsewhere.

export const CONSISTENCY_HEADER = 'open-bank-consistency';

/** topic:partition → the offset to read up to. */
type Positions = Map<string, number>;

function parse(token: string): Positions {
  const positions: Positions = new Map();
  for (const item of token.split(',')) {
    const parts = item.trim().split(':');
    if (parts.length !== 3) continue;
    const [topic, partition, offset] = parts;
    const next = Number(offset);
    if (!Number.isSafeInteger(next)) continue;
    const key = `${topic}:${partition}`;
    positions.set(key, Math.max(next, positions.get(key) ?? 0));
  }
  return positions;
}

function format(positions: Positions): string {
  return [...positions.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, next]) => `${key}:${next}`)
    .join(',');
}

/** The positions this tab has seen answers name, merged: answers may come back out of order. */
export class ConsistencyToken {
  private positions: Positions = new Map();

  /** Takes in the token of an answer's extensions (anything else is ignored). */
  remember(extensions: unknown): void {
    const token =
      typeof extensions === 'object' && extensions !== null
        ? (extensions as { consistency?: unknown }).consistency
        : undefined;
    if (typeof token !== 'string') return;
    for (const [key, next] of parse(token)) {
      this.positions.set(key, Math.max(next, this.positions.get(key) ?? 0));
    }
  }

  /** The header for the next request; none before any answer named positions. */
  headers(): Record<string, string> {
    return this.positions.size === 0 ? {} : { [CONSISTENCY_HEADER]: format(this.positions) };
  }
}

/** One per tab: the customer's and the employee's APIs read after each other's writes too. */
export const tabConsistency = new ConsistencyToken();
