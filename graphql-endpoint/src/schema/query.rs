use std::sync::Arc;

use async_graphql::{Context, Object, Result};
use topology::Id;

use super::errors::{graphql_error, invalid};
use super::types::{Transaction, TransferStatus};
use crate::bank::{Bank, RequestError};
use crate::validation::{self, InvalidInput};

pub struct QueryRoot;

#[Object(rename_fields = "snake_case", rename_args = "snake_case")]
impl QueryRoot {
    /// The transaction with this id (ids count 1, 2, … over the whole bank).
    async fn transaction_by_id(&self, ctx: &Context<'_>, id: i32) -> Result<Transaction> {
        let bank = ctx.data::<Arc<Bank>>()?;
        let read = bank
            .queries
            .transaction_by_id(id)
            .await
            .map_err(|e| graphql_error(e.into()))?;
        Ok(Transaction::from_read(&read))
    }

    /// The newest transactions of an account, newest first, at most `max_items` (1–1000).
    async fn transactions_by_iban(
        &self,
        ctx: &Context<'_>,
        iban: String,
        max_items: i32,
    ) -> Result<Vec<Transaction>> {
        validation::max_items(max_items).map_err(invalid)?;
        let bank = ctx.data::<Arc<Bank>>()?;
        let reads = bank
            .queries
            .transactions_by_iban(&iban, max_items)
            .await
            .map_err(|e| graphql_error(e.into()))?;
        Ok(reads.iter().map(Transaction::from_read).collect())
    }

    /// The newest transaction of every account, sorted by IBAN.
    async fn all_last_transactions(&self, ctx: &Context<'_>) -> Result<Vec<Transaction>> {
        let bank = ctx.data::<Arc<Bank>>()?;
        let reads = bank
            .queries
            .all_last_transactions()
            .await
            .map_err(|e| graphql_error(e.into()))?;
        Ok(reads.iter().map(Transaction::from_read).collect())
    }

    /// Where the transfer with this uuid stands: for a client whose `money_transfer` answer
    /// got lost.
    async fn transfer_status(&self, ctx: &Context<'_>, uuid: String) -> Result<TransferStatus> {
        let id: Id = uuid
            .parse()
            .map_err(|_| invalid(InvalidInput(format!("uuid `{uuid}` is not a valid UUID"))))?;
        let bank = ctx.data::<Arc<Bank>>()?;
        let status = bank
            .queries
            .transfer_status(id)
            .await
            .map_err(|e| graphql_error(e.into()))?;
        match status {
            Some(status) => Ok(TransferStatus {
                uuid: id.to_uuid_string(),
                status: status.status,
                reason: status.reason,
            }),
            None => Err(graphql_error(RequestError::Read(
                crate::reads::ReadError::Refused(crate::reads::TRANSFER_UNKNOWN.into()),
            ))),
        }
    }
}
