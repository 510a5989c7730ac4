// Who is logged in on the client view. Kept in sessionStorage: a reload keeps the user logged
// in, closing the tab logs out. The token is what money_transfer asks for; the password is
// never stored.

export interface Session {
  username: string;
  token: string;
  iban: string;
}

export const SESSION_KEY = 'open-bank.session';

export function parseSession(stored: string | null): Session | null {
  if (stored === null) return null;
  try {
    const value: unknown = JSON.parse(stored);
    if (typeof value !== 'object' || value === null) return null;
    const { username, token, iban } = value as Record<string, unknown>;
    if (typeof username === 'string' && typeof token === 'string' && typeof iban === 'string') {
      return { username, token, iban };
    }
  } catch {
    // a damaged entry means nobody is logged in
  }
  return null;
}
