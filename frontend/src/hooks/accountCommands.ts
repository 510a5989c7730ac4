import { useCallback, useMemo } from 'react';
import { describeError } from '../api/errors';
import { ADD_OWNER, OPEN_ACCOUNT, REMOVE_OWNER } from '../api/operations';
import type { Outcome } from '../components/Notice';
import {
  explainLeaveRefusal,
  explainOpenRefusal,
  explainShareRefusal,
  refusalMessage,
} from '../refusals';
import { useApi } from './api';

export interface Opened {
  outcome: Outcome;
  /** The new account's IBAN, when one was opened. */
  iban: string | null;
}

export interface AccountCommands {
  openAccount: () => Promise<Opened>;
  share: (iban: string, userToAdd: string) => Promise<Outcome>;
  leave: (iban: string) => Promise<Outcome>;
}

/**
 * open_account, add_owner and remove_owner for the session's user, each answered as what to tell
 * the user.
 */
export function useAccountCommands(): AccountCommands {
  const { client, endpoint } = useApi();
  const failed = useCallback(
    (what: string, error: Parameters<typeof describeError>[0]): Outcome => ({
      kind: 'error',
      text: `${what}: ${describeError(error, endpoint.http)}`,
    }),
    [endpoint],
  );

  const openAccount = useCallback(async (): Promise<Opened> => {
    const what = 'Could not open an account';
    const result = await client.mutation(OPEN_ACCOUNT, {}).toPromise();
    if (result.error) return { outcome: failed(what, result.error), iban: null };
    const answer = result.data?.open_account;
    if (answer?.iban) {
      return {
        outcome: { kind: 'success', text: `Opened account ${answer.iban}.` },
        iban: answer.iban,
      };
    }
    const reason = answer?.reason ?? 'no answer';
    return {
      outcome: { kind: 'error', text: refusalMessage(what, reason, explainOpenRefusal) },
      iban: null,
    };
  }, [client, failed]);

  const share = useCallback(
    async (iban: string, userToAdd: string): Promise<Outcome> => {
      const what = `Could not share ${iban} with ${userToAdd}`;
      const result = await client.mutation(ADD_OWNER, { iban, user_to_add: userToAdd }).toPromise();
      if (result.error) return failed(what, result.error);
      const answer = result.data?.add_owner;
      if (answer?.success) {
        return { kind: 'success', text: `Shared ${iban} with ${userToAdd}.` };
      }
      return {
        kind: 'error',
        text: refusalMessage(what, answer?.reason ?? 'no answer', explainShareRefusal),
      };
    },
    [client, failed],
  );

  const leave = useCallback(
    async (iban: string): Promise<Outcome> => {
      const what = `Could not leave ${iban}`;
      const result = await client.mutation(REMOVE_OWNER, { iban }).toPromise();
      if (result.error) return failed(what, result.error);
      const answer = result.data?.remove_owner;
      if (answer?.success) return { kind: 'success', text: `You left ${iban}.` };
      return {
        kind: 'error',
        text: refusalMessage(what, answer?.reason ?? 'no answer', explainLeaveRefusal),
      };
    },
    [client, failed],
  );

  return useMemo(() => ({ openAccount, share, leave }), [openAccount, share, leave]);
}
