// What a money_transfer answer means for the user, and whether a retry may reuse its uuid; the
// same for the commands decided at once (hold_money, void_hold, set_standing_order, …).

import { graphQLErrorsOf, messageWithCode } from './api/auth';
import { describeError, type ReportedError } from './api/errors';
import type { MoneyTransferMutation } from './generated/graphql';

export type TransferAnswer =
  | { kind: 'done' }
  /** The transfer ended without moving money; a new attempt is a new transfer. */
  | { kind: 'refused'; reason: string }
  /** No outcome known (no answer, or the endpoint stopped waiting): retry with the same uuid. */
  | { kind: 'unknown'; reason: string };

export interface TransferResult {
  data?: MoneyTransferMutation | null | undefined;
  error?: ReportedError | undefined;
}

/** What every answer that waits for a transfer's end says: money_transfer's, capture_hold's. */
export type EndedTransfer = MoneyTransferMutation['money_transfer'];

export function interpretTransfer(result: TransferResult, endpoint: string): TransferAnswer {
  return interpretEnded(result.error, result.data?.money_transfer, endpoint);
}

/** The answer of a request that waits for a transfer's end, or the error instead of one. */
export function interpretEnded(
  error: ReportedError | undefined,
  answer: EndedTransfer | null | undefined,
  endpoint: string,
): TransferAnswer {
  if (error) {
    const reason = describeError(error, endpoint);
    // A GraphQL error means the endpoint refused the request before sending anything.
    return error.graphQLErrors.length > 0
      ? { kind: 'refused', reason }
      : { kind: 'unknown', reason };
  }
  if (!answer) return { kind: 'unknown', reason: 'the endpoint gave no answer' };
  if (answer.success) return { kind: 'done' };
  const reason = answer.reason ?? 'the transfer failed';
  // `ended` is false when the endpoint stopped waiting before the saga ended.
  return answer.ended ? { kind: 'refused', reason } : { kind: 'unknown', reason };
}

/**
 * The endpoint stopped waiting for the command handler (a TIMEOUT error): the command may still
 * be decided, so the outcome is unknown; null for any other error.
 */
export function timedOut(
  error: ReportedError | undefined,
  endpoint: string,
): TransferAnswer | null {
  if (messageWithCode(graphQLErrorsOf(error), 'TIMEOUT') === null || !error) return null;
  return { kind: 'unknown', reason: describeError(error, endpoint) };
}

/**
 * The answer of a command that is decided at once (a CommandResult: hold_money, void_hold,
 * set_standing_order, …), or the error instead of one.
 */
export function interpretCommand(
  error: ReportedError | undefined,
  answer: { success: boolean; reason: string | null } | null | undefined,
  endpoint: string,
): TransferAnswer {
  const timeout = timedOut(error, endpoint);
  if (timeout) return timeout;
  if (error) return interpretEnded(error, undefined, endpoint);
  if (!answer) return { kind: 'unknown', reason: 'the endpoint gave no answer' };
  if (answer.success) return { kind: 'done' };
  return { kind: 'refused', reason: answer.reason ?? 'refused' };
}
