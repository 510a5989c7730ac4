import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { ReportedError } from '../api/errors';
import { ALERT_RULES, REMOVE_ALERT, SET_ALERT } from '../api/operations';
import { describeRule, sortRules, type AlertRule, type RulesExpectation } from '../alerts';
import type { Outcome } from '../components/Notice';
import type { RemoveAlertMutation, SetAlertMutation } from '../generated/graphql';
import { errorMessage, explainAlertRefusal, refusalMessage } from '../refusals';
import { useApi } from './api';
import { CATCH_UP_PAUSE_MS, CATCH_UP_TRIES } from './ownedAccounts';

export interface AlertRules {
  /** In the form's order; null until the first answer. */
  rules: AlertRule[] | null;
  error: string | null;
  /**
   * Loads the rules again; with an expectation, a few times until the answer meets it: the list
   * is read from the read model, which follows the command's answer by a moment.
   */
  reload: (until?: RulesExpectation) => void;
}

/** The alert rules of one of the user's accounts, as alert_rules answers them. */
export function useAlertRules(iban: string): AlertRules {
  const { client, endpoint } = useApi();
  const [rules, setRules] = useState<AlertRule[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [reloads, setReloads] = useState(0);
  const expectation = useRef<{ until: RulesExpectation; triesLeft: number } | null>(null);
  const catchUpTimer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const reload = useCallback((until?: RulesExpectation) => {
    clearTimeout(catchUpTimer.current);
    expectation.current = until ? { until, triesLeft: CATCH_UP_TRIES } : null;
    setReloads((n) => n + 1);
  }, []);
  useEffect(() => () => clearTimeout(catchUpTimer.current), []);

  useEffect(() => {
    let stale = false;
    void client
      .query(ALERT_RULES, { iban })
      .toPromise()
      .then((result) => {
        if (stale) return;
        if (result.error) {
          setError(
            errorMessage(
              'Your alerts could not be loaded',
              result.error,
              endpoint.http,
              explainAlertRefusal,
            ),
          );
          return;
        }
        const answer = result.data?.alert_rules ?? [];
        setError(null);
        setRules(sortRules(answer));
        const wanted = expectation.current;
        if (wanted && !wanted.until(answer) && wanted.triesLeft > 0) {
          wanted.triesLeft -= 1;
          catchUpTimer.current = setTimeout(() => setReloads((n) => n + 1), CATCH_UP_PAUSE_MS);
        } else {
          expectation.current = null;
        }
      });
    return () => {
      stale = true;
    };
  }, [client, endpoint, iban, reloads]);

  return { rules, error, reload };
}

export interface AlertCommands {
  setAlert: (iban: string, rule: AlertRule) => Promise<Outcome>;
  removeAlert: (iban: string, rule: AlertRule) => Promise<Outcome>;
}

/** set_alert and remove_alert, each answered as what to tell the user. */
export function useAlertCommands(): AlertCommands {
  const { client, endpoint } = useApi();

  const outcomeOf = useCallback(
    (
      what: string,
      done: string,
      result: {
        error?: ReportedError | undefined;
        answer: SetAlertMutation['set_alert'] | RemoveAlertMutation['remove_alert'] | null;
      },
    ): Outcome => {
      if (result.error) {
        return {
          kind: 'error',
          text: errorMessage(what, result.error, endpoint.http, explainAlertRefusal),
        };
      }
      if (result.answer?.success) return { kind: 'success', text: done };
      const reason = result.answer?.reason ?? 'no answer';
      return { kind: 'error', text: refusalMessage(what, reason, explainAlertRefusal) };
    },
    [endpoint],
  );

  const setAlert = useCallback(
    async (iban: string, rule: AlertRule): Promise<Outcome> => {
      // ANY_CREDIT takes no threshold at all: the argument is left out rather than sent as null.
      const variables = {
        iban,
        kind: rule.kind,
        ...(rule.threshold === null ? {} : { threshold: rule.threshold }),
      };
      const result = await client.mutation(SET_ALERT, variables).toPromise();
      return outcomeOf('Could not set the alert', `Alert set: ${describeRule(rule)}.`, {
        error: result.error,
        answer: result.data?.set_alert ?? null,
      });
    },
    [client, outcomeOf],
  );

  const removeAlert = useCallback(
    async (iban: string, rule: AlertRule): Promise<Outcome> => {
      const result = await client.mutation(REMOVE_ALERT, { iban, kind: rule.kind }).toPromise();
      return outcomeOf('Could not remove the alert', `Alert removed: ${describeRule(rule)}.`, {
        error: result.error,
        answer: result.data?.remove_alert ?? null,
      });
    },
    [client, outcomeOf],
  );

  return useMemo(() => ({ setAlert, removeAlert }), [setAlert, removeAlert]);
}
