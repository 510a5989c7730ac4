import { useCallback, useMemo } from 'react';
import { describeError } from '../api/errors';
import { GET_ACCOUNT, LOGIN } from '../api/sessionOperations';
import { explainCredentialRefusal, refusalMessage } from '../refusals';
import { sessionFromAnswer, type Session } from '../sessions';
import { useApi } from './api';

/** A session, with the account to start with when one was just opened; or what went wrong. */
export type LoginOutcome = { session: Session; iban: string | null } | { problem: string };

export interface CustomerLogin {
  logIn: (username: string, password: string) => Promise<LoginOutcome>;
  /** Opens the user's first account (creating the user), then logs in. */
  signUp: (username: string, password: string) => Promise<LoginOutcome>;
}

/**
 * `login`, and the sign-up: `get_account` then `login`, as two requests (the endpoint checks one
 * password per request). The password is only in these requests' variables; nothing keeps it.
 */
export function useCustomerLogin(): CustomerLogin {
  const { client, endpoint } = useApi();

  const logIn = useCallback(
    async (username: string, password: string): Promise<LoginOutcome> => {
      const result = await client.mutation(LOGIN, { username, password }).toPromise();
      if (result.error) return { problem: describeError(result.error, endpoint.http) };
      const answer = sessionFromAnswer(username, result.data?.login);
      return 'session' in answer
        ? { session: answer.session, iban: null }
        : { problem: refusalMessage('Could not log in', answer.reason, explainCredentialRefusal) };
    },
    [client, endpoint],
  );

  const signUp = useCallback(
    async (username: string, password: string): Promise<LoginOutcome> => {
      const what = 'Could not open an account';
      const result = await client.mutation(GET_ACCOUNT, { username, password }).toPromise();
      if (result.error)
        return { problem: `${what}: ${describeError(result.error, endpoint.http)}` };
      const iban = result.data?.get_account.iban;
      if (!iban) {
        const reason = result.data?.get_account.reason ?? 'the endpoint gave no answer';
        return { problem: refusalMessage(what, reason, explainCredentialRefusal) };
      }
      const loggedIn = await logIn(username, password);
      return 'session' in loggedIn
        ? { session: loggedIn.session, iban }
        : { problem: `Your account ${iban} is open, but logging in failed. ${loggedIn.problem}` };
    },
    [client, endpoint, logIn],
  );

  return useMemo(() => ({ logIn, signUp }), [logIn, signUp]);
}
