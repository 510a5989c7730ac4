//! Queries out on `user_queries` / `bank_queries`, answers in from `user_queries_feedback` /
//! `bank_queries_feedback`, matched by query id. An answer is the JSON text of the result, or
//! the projector's reason.

use std::sync::Arc;
use std::time::Duration;

use rdkafka::producer::FutureProducer;
use topology::codec::Codec;
use topology::{BankQueryFeedback, Id, KafkaSettings, TopicMessage, UserQueryFeedback};

use super::exchange::Exchange;
use super::listen::{consumer_at_end, spawn_dispatch, ListenError};
use super::waiters::Waiters;
use super::BusError;
use crate::consistency;

/// `Ok(json)` for QuerySucceeded, `Err(reason)` for QueryFailed.
pub type Answer = Result<String, String>;

pub struct QueryBus {
    exchange: Exchange<Id, Answer>,
}

impl QueryBus {
    pub async fn start(
        settings: &KafkaSettings,
        producer: FutureProducer,
        codec: Arc<Codec>,
        timeout: Duration,
    ) -> Result<Self, ListenError> {
        let waiters: Arc<Waiters<Id, Answer>> = Arc::new(Waiters::new());
        let user = consumer_at_end::<UserQueryFeedback>(settings).await?;
        let bank = consumer_at_end::<BankQueryFeedback>(settings).await?;
        let to_user = Arc::clone(&waiters);
        let to_bank = Arc::clone(&waiters);
        let listeners = vec![
            spawn_dispatch(user, Arc::clone(&codec), move |answer, _| match answer {
                UserQueryFeedback::QuerySucceeded(s) => {
                    to_user.resolve(&s.id, Ok(s.query_result));
                }
                UserQueryFeedback::QueryFailed(f) => {
                    to_user.resolve(&f.id, Err(f.reason));
                }
            }),
            spawn_dispatch(bank, Arc::clone(&codec), move |answer, _| match answer {
                BankQueryFeedback::QuerySucceeded(s) => {
                    to_bank.resolve(&s.id, Ok(s.query_result));
                }
                BankQueryFeedback::QueryFailed(f) => {
                    to_bank.resolve(&f.id, Err(f.reason));
                }
            }),
        ];
        Ok(Self {
            exchange: Exchange::new(producer, codec, waiters, timeout, listeners),
        })
    }

    /// Sends query `id` (keyed by the id) and waits for its answer, which reflects every
    /// change this request knows of (see [`crate::consistency`]).
    pub async fn ask<M: TopicMessage>(&self, id: Id, query: &M) -> Result<Answer, BusError> {
        let read_after = consistency::read_after();
        self.exchange
            .request(id, &id.to_uuid_string(), query, Some(&read_after))
            .await
    }

    pub fn pending(&self) -> usize {
        self.exchange.pending()
    }
}
