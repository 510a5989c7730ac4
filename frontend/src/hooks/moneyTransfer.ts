import { useCallback } from 'react';
import { MONEY_TRANSFER, type MoneyTransferVariables } from '../api/operations';
import { interpretTransfer, type TransferAnswer } from '../transfers';
import { useApi } from './api';

/** Sends a transfer and waits for its end, as money_transfer does. */
export function useMoneyTransfer(): (variables: MoneyTransferVariables) => Promise<TransferAnswer> {
  const { client, endpoint } = useApi();
  return useCallback(
    async (variables) => {
      const result = await client.mutation(MONEY_TRANSFER, variables).toPromise();
      return interpretTransfer(result, endpoint.http);
    },
    [client, endpoint],
  );
}
