import { useCallback } from 'react';
import { MONEY_TRANSFER } from '../api/operations';
import type { MoneyTransferMutationVariables } from '../generated/graphql';
import { interpretTransfer, type TransferAnswer } from '../transfers';
import { useApi } from './api';

/** Sends a transfer and waits for its end, as money_transfer does. */
export function useMoneyTransfer(): (
  variables: MoneyTransferMutationVariables,
) => Promise<TransferAnswer> {
  const { client, endpoint } = useApi();
  return useCallback(
    async (variables) => {
      const result = await client.mutation(MONEY_TRANSFER, variables).toPromise();
      return interpretTransfer(result, endpoint.http);
    },
    [client, endpoint],
  );
}
