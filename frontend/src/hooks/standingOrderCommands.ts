import { useCallback, useMemo } from 'react';
import { CANCEL_STANDING_ORDER, SET_STANDING_ORDER } from '../api/operations';
import type {
  CancelStandingOrderMutationVariables,
  SetStandingOrderMutationVariables,
} from '../generated/graphql';
import { interpretCancelOrder, interpretSetOrder } from '../standingOrders';
import type { TransferAnswer } from '../transfers';
import { useApi } from './api';

export interface StandingOrderCommands {
  set: (variables: SetStandingOrderMutationVariables) => Promise<TransferAnswer>;
  cancel: (variables: CancelStandingOrderMutationVariables) => Promise<TransferAnswer>;
}

/**
 * set_standing_order and cancel_standing_order for the session's user: no token goes along, the
 * session stands in for it (see api/client.ts).
 */
export function useStandingOrderCommands(): StandingOrderCommands {
  const { client, endpoint } = useApi();
  const set = useCallback(
    async (variables: SetStandingOrderMutationVariables) =>
      interpretSetOrder(
        await client.mutation(SET_STANDING_ORDER, variables).toPromise(),
        endpoint.http,
      ),
    [client, endpoint],
  );
  const cancel = useCallback(
    async (variables: CancelStandingOrderMutationVariables) =>
      interpretCancelOrder(
        await client.mutation(CANCEL_STANDING_ORDER, variables).toPromise(),
        endpoint.http,
      ),
    [client, endpoint],
  );
  return useMemo(() => ({ set, cancel }), [set, cancel]);
}
