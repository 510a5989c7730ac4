//! Typed encode/decode in the Confluent wire format (magic byte 0, 4-byte schema id, Avro
//! binary), with subjects named by the TopicRecordNameStrategy: `<topic>-<record full name>`.
//!
//! Schemas are looked up, never registered: the synchronizer owns registration. Lookups are
//! cached by `schema_registry_converter`, so steady-state encoding and decoding do no HTTP.

use schema_registry_converter::async_impl::avro::{AvroDecoder, AvroEncoder};
use schema_registry_converter::async_impl::schema_registry::SrSettings;
use schema_registry_converter::error::SRCError;
use schema_registry_converter::schema_registry_common::SubjectNameStrategy;

use crate::avro::{AvroShapeError, TopicMessage};
use crate::settings::RegistrySettings;

#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("schema registry settings: {0}")]
    Settings(SRCError),
    #[error("encoding {record} for topic {topic}: {source}")]
    Encode {
        topic: &'static str,
        record: &'static str,
        source: SRCError,
    },
    #[error("decoding a record from topic {topic}: {source}")]
    Decode {
        topic: &'static str,
        source: SRCError,
    },
    #[error("decoding a record from topic {topic}: the payload is empty (a tombstone)")]
    Empty { topic: &'static str },
    #[error("decoding a record from topic {topic}: the writer schema is not a record")]
    NotARecord { topic: &'static str },
    #[error("decoding a record from topic {topic}: {source}")]
    Shape {
        topic: &'static str,
        source: AvroShapeError,
    },
}

/// Encoder and decoder for every topic; cheap to share behind an `Arc`.
pub struct Codec {
    encoder: AvroEncoder,
    decoder: AvroDecoder,
}

impl Codec {
    pub fn new(settings: &RegistrySettings) -> Result<Self, CodecError> {
        let sr_settings = SrSettings::new_builder(settings.url.clone())
            .build()
            .map_err(CodecError::Settings)?;
        Ok(Self {
            encoder: AvroEncoder::new(sr_settings.clone()),
            decoder: AvroDecoder::new(sr_settings),
        })
    }

    /// The wire bytes of `message` for its topic.
    pub async fn encode<M: TopicMessage>(&self, message: &M) -> Result<Vec<u8>, CodecError> {
        let record = message.full_name();
        let strategy =
            SubjectNameStrategy::TopicRecordNameStrategy(M::TOPIC.to_string(), record.to_string());
        self.encoder
            .encode_value(message.to_avro(), &strategy)
            .await
            .map_err(|source| {
                // A subject that is missing now may be registered by the synchronizer later.
                self.encoder.remove_errors_from_cache();
                CodecError::Encode {
                    topic: M::TOPIC,
                    record,
                    source,
                }
            })
    }

    /// The record inside wire bytes read from `M`'s topic.
    pub async fn decode<M: TopicMessage>(&self, payload: Option<&[u8]>) -> Result<M, CodecError> {
        let Some(payload) = payload.filter(|p| !p.is_empty()) else {
            return Err(CodecError::Empty { topic: M::TOPIC });
        };
        let decoded = self.decoder.decode(Some(payload)).await.map_err(|source| {
            self.decoder.remove_errors_from_cache();
            CodecError::Decode {
                topic: M::TOPIC,
                source,
            }
        })?;
        let name = decoded
            .name
            .ok_or(CodecError::NotARecord { topic: M::TOPIC })?;
        M::from_avro(&name.fullname(None), decoded.value).map_err(|source| CodecError::Shape {
            topic: M::TOPIC,
            source,
        })
    }
}
