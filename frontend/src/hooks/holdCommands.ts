import { useCallback, useMemo } from 'react';
import { CAPTURE_HOLD, HOLD_MONEY, VOID_HOLD } from '../api/operations';
import type {
  CaptureHoldMutationVariables,
  HoldMoneyMutationVariables,
  VoidHoldMutationVariables,
} from '../generated/graphql';
import { interpretCapture, interpretHold, interpretVoid } from '../holds';
import type { TransferAnswer } from '../transfers';
import { useApi } from './api';

export interface HoldCommands {
  hold: (variables: HoldMoneyMutationVariables) => Promise<TransferAnswer>;
  /** Waits for the end of the hold's transfer, as a transfer does. */
  capture: (variables: CaptureHoldMutationVariables) => Promise<TransferAnswer>;
  release: (variables: VoidHoldMutationVariables) => Promise<TransferAnswer>;
}

/**
 * hold_money, capture_hold and void_hold for the session's user: no token goes along, the
 * session stands in for it (see api/client.ts).
 */
export function useHoldCommands(): HoldCommands {
  const { client, endpoint } = useApi();
  const hold = useCallback(
    async (variables: HoldMoneyMutationVariables) =>
      interpretHold(await client.mutation(HOLD_MONEY, variables).toPromise(), endpoint.http),
    [client, endpoint],
  );
  const capture = useCallback(
    async (variables: CaptureHoldMutationVariables) =>
      interpretCapture(await client.mutation(CAPTURE_HOLD, variables).toPromise(), endpoint.http),
    [client, endpoint],
  );
  const release = useCallback(
    async (variables: VoidHoldMutationVariables) =>
      interpretVoid(await client.mutation(VOID_HOLD, variables).toPromise(), endpoint.http),
    [client, endpoint],
  );
  return useMemo(() => ({ hold, capture, release }), [hold, capture, release]);
}
