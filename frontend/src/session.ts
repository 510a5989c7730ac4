// Who is logged in on the client view, and which of their accounts they work with. Kept in
// sessionStorage: a reload keeps the user logged in, closing the tab logs out. The token is what
// money_transfer asks for. The password is kept too, in the tab's sessionStorage only (never
// localStorage): my_accounts and open_account take the username and password, and the endpoint
// has no login session for clients that could stand in for them.

export interface Session {
  username: string;
  password: string;
  /** The account the user works with. */
  iban: string;
  /** The user's token for that account. */
  token: string;
}

/** An account and the user's key to it: all that moving its money needs. */
export type AccountAccess = Pick<Session, 'username' | 'iban' | 'token'>;

export const SESSION_KEY = 'open-bank.session';

export function parseSession(stored: string | null): Session | null {
  if (stored === null) return null;
  try {
    const value: unknown = JSON.parse(stored);
    if (typeof value !== 'object' || value === null) return null;
    const { username, password, token, iban } = value as Record<string, unknown>;
    if (
      typeof username === 'string' &&
      typeof password === 'string' &&
      typeof token === 'string' &&
      typeof iban === 'string'
    ) {
      return { username, password, token, iban };
    }
  } catch {
    // a damaged entry means nobody is logged in
  }
  // So does one stored before the password was kept.
  return null;
}
