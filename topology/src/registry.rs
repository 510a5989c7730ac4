//! The schema-registry calls the synchronizer needs, over the Confluent REST API.

use std::time::Duration;

use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::json;

use crate::settings::RegistrySettings;

const CONTENT_TYPE: &str = "application/vnd.schemaregistry.v1+json";

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("schema registry at {url} is not reachable: {source}")]
    Unreachable { url: String, source: reqwest::Error },
    #[error("schema registry: {subject}: schema is incompatible: {reason}")]
    Incompatible { subject: String, reason: String },
    #[error("schema registry: {subject}: HTTP {status}: {message}")]
    Rejected {
        subject: String,
        status: u16,
        message: String,
    },
    #[error("schema registry: unexpected answer for {subject}: {source}")]
    BadAnswer {
        subject: String,
        source: reqwest::Error,
    },
}

/// A schema version as the registry stores it under one subject.
#[derive(Debug, Clone, Deserialize)]
pub struct SubjectVersion {
    pub id: u32,
    pub version: u32,
    pub schema: String,
}

#[derive(Debug, Deserialize)]
struct RegisteredId {
    id: u32,
}

#[derive(Debug, Deserialize)]
struct ErrorBody {
    #[serde(default)]
    message: String,
}

pub struct RegistryClient {
    url: String,
    http: reqwest::Client,
}

impl RegistryClient {
    pub fn new(settings: &RegistrySettings) -> Result<Self, reqwest::Error> {
        Ok(Self {
            url: settings.url.clone(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()?,
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    fn unreachable(&self, source: reqwest::Error) -> RegistryError {
        RegistryError::Unreachable {
            url: self.url.clone(),
            source,
        }
    }

    async fn rejected(subject: &str, response: reqwest::Response) -> RegistryError {
        let status = response.status().as_u16();
        let message = match response.text().await {
            Ok(text) => serde_json::from_str::<ErrorBody>(&text)
                .map(|body| body.message)
                .unwrap_or(text),
            Err(e) => e.to_string(),
        };
        if status == StatusCode::CONFLICT.as_u16() {
            RegistryError::Incompatible {
                subject: subject.to_string(),
                reason: message,
            }
        } else {
            RegistryError::Rejected {
                subject: subject.to_string(),
                status,
                message,
            }
        }
    }

    /// A 404 where the Confluent API always answers: the URL points elsewhere.
    fn no_api(&self, subject: &str) -> RegistryError {
        RegistryError::Rejected {
            subject: subject.to_string(),
            status: StatusCode::NOT_FOUND.as_u16(),
            message: format!(
                "no Confluent-compatible API at {} (Apicurio serves it under /apis/ccompat/v7)",
                self.url
            ),
        }
    }

    /// Sends `request` and reads the JSON answer; `None` when the registry answers 404.
    async fn call<T: DeserializeOwned>(
        &self,
        subject: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<Option<T>, RegistryError> {
        let response = request.send().await.map_err(|e| self.unreachable(e))?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !response.status().is_success() {
            return Err(Self::rejected(subject, response).await);
        }
        response
            .json()
            .await
            .map(Some)
            .map_err(|source| RegistryError::BadAnswer {
                subject: subject.into(),
                source,
            })
    }

    /// Every subject the registry knows.
    pub async fn subjects(&self) -> Result<Vec<String>, RegistryError> {
        let request = self.http.get(format!("{}/subjects", self.url));
        self.call("/subjects", request)
            .await?
            .ok_or_else(|| self.no_api("/subjects"))
    }

    /// The latest version under `subject`, or `None` when the subject does not exist.
    pub async fn latest(&self, subject: &str) -> Result<Option<SubjectVersion>, RegistryError> {
        let request = self
            .http
            .get(format!("{}/subjects/{subject}/versions/latest", self.url));
        self.call(subject, request).await
    }

    /// Registers `schema` under `subject` (a no-op returning the same id when it is already
    /// there); an incompatible change is refused by the registry.
    pub async fn register(&self, subject: &str, schema: &str) -> Result<u32, RegistryError> {
        let request = self
            .http
            .post(format!("{}/subjects/{subject}/versions", self.url))
            .header(reqwest::header::CONTENT_TYPE, CONTENT_TYPE)
            .body(json!({ "schema": schema, "schemaType": "AVRO" }).to_string());
        self.call::<RegisteredId>(subject, request)
            .await?
            .map(|registered| registered.id)
            .ok_or_else(|| self.no_api(subject))
    }
}
