//! Connection settings from the environment, shared by every service and tool.
//!
//! - `KAFKA_BROKERS` (default `localhost:9092`) → `bootstrap.servers`.
//! - `SCHEMA_REGISTRY_URL` (default `http://localhost:8081/apis/ccompat/v7`), the Confluent REST
//!   API of the registry.
//! - Any other `KAFKA_<NAME>` becomes the rdkafka setting `<name>` with `_` read as `.`, e.g.
//!   `KAFKA_SECURITY_PROTOCOL=SASL_SSL`, `KAFKA_SASL_MECHANISMS=PLAIN`,
//!   `KAFKA_SSL_CA_LOCATION=/etc/ca.pem`. JVM launcher variables (`KAFKA_HEAP_OPTS`, `KAFKA_OPTS`,
//!   anything ending in `_OPTS`) and `KAFKA_HOME` are skipped: they belong to a Java broker.
//! - `KAFKA_<NAME>_FILE` reads the setting `<name>` from a file (trailing newline dropped), for
//!   secrets mounted as files (`KAFKA_SASL_PASSWORD_FILE=/run/secrets/kafka/password`): a
//!   password in a file stays out of the container's definition and `docker inspect`.

use std::collections::BTreeMap;

pub const DEFAULT_KAFKA_BROKERS: &str = "localhost:9092";
pub const DEFAULT_SCHEMA_REGISTRY_URL: &str = "http://localhost:8081/apis/ccompat/v7";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub kafka: KafkaSettings,
    pub registry: RegistrySettings,
}

#[derive(Clone, PartialEq, Eq)]
pub struct KafkaSettings {
    pub brokers: String,
    /// Extra rdkafka settings from `KAFKA_*` variables.
    pub overrides: BTreeMap<String, String>,
}

/// Whether an rdkafka setting holds a secret (`sasl.password`, `ssl.key.password`,
/// `ssl.key.pem`, `sasl.oauthbearer.client.secret`, ...), which must never reach a log.
fn is_secret(setting: &str) -> bool {
    ["password", "secret", "key.pem", "sasl.jaas", "token"]
        .iter()
        .any(|word| setting.contains(word))
}

impl std::fmt::Debug for KafkaSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let overrides: BTreeMap<&str, &str> = self
            .overrides
            .iter()
            .map(|(setting, value)| {
                let shown = if is_secret(setting) {
                    "<redacted>"
                } else {
                    value
                };
                (setting.as_str(), shown)
            })
            .collect();
        f.debug_struct("KafkaSettings")
            .field("brokers", &self.brokers)
            .field("overrides", &overrides)
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrySettings {
    pub url: String,
}

impl Settings {
    pub fn from_env() -> Self {
        Self::from_vars(std::env::vars().map(|(name, value)| match name.strip_suffix("_FILE") {
            Some(setting) if setting.starts_with("KAFKA_") => {
                let secret = match std::fs::read_to_string(&value) {
                    Ok(text) => text.trim_end_matches(['\r', '\n']).to_string(),
                    Err(error) => {
                        // Connecting without it fails with the broker's reason, after this one.
                        tracing::error!(variable = %name, file = %value, %error, "cannot read the setting's file");
                        String::new()
                    }
                };
                (setting.to_string(), secret)
            }
            _ => (name, value),
        }))
    }

    pub fn from_vars(vars: impl IntoIterator<Item = (String, String)>) -> Self {
        let mut brokers = None;
        let mut registry_url = None;
        let mut overrides = BTreeMap::new();
        for (name, value) in vars {
            match name.as_str() {
                "KAFKA_BROKERS" => brokers = Some(value),
                "SCHEMA_REGISTRY_URL" => registry_url = Some(value),
                "KAFKA_HOME" => {}
                _ if name.ends_with("_OPTS") => {}
                _ => {
                    if let Some(setting) = name.strip_prefix("KAFKA_") {
                        if !setting.is_empty() {
                            overrides.insert(setting.to_lowercase().replace('_', "."), value);
                        }
                    }
                }
            }
        }
        Settings {
            kafka: KafkaSettings {
                brokers: brokers
                    .filter(|b| !b.trim().is_empty())
                    .unwrap_or_else(|| DEFAULT_KAFKA_BROKERS.to_string()),
                overrides,
            },
            registry: RegistrySettings {
                url: registry_url
                    .filter(|u| !u.trim().is_empty())
                    .map(|u| u.trim_end_matches('/').to_string())
                    .unwrap_or_else(|| DEFAULT_SCHEMA_REGISTRY_URL.to_string()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_without_environment() {
        let settings = Settings::from_vars(vars(&[("PATH", "/bin")]));
        assert_eq!(settings.kafka.brokers, DEFAULT_KAFKA_BROKERS);
        assert!(settings.kafka.overrides.is_empty());
        assert_eq!(settings.registry.url, DEFAULT_SCHEMA_REGISTRY_URL);
    }

    #[test]
    fn passes_kafka_settings_through_and_skips_jvm_variables() {
        let settings = Settings::from_vars(vars(&[
            ("KAFKA_BROKERS", "b1:9092,b2:9092"),
            ("SCHEMA_REGISTRY_URL", "http://sr:8081/"),
            ("KAFKA_SECURITY_PROTOCOL", "SASL_SSL"),
            ("KAFKA_SASL_MECHANISMS", "PLAIN"),
            ("KAFKA_SSL_CA_LOCATION", "/etc/ca.pem"),
            ("KAFKA_HEAP_OPTS", "-Xmx1g"),
            ("KAFKA_OPTS", "-Dx"),
            ("KAFKA_HOME", "/opt/kafka"),
        ]));
        assert_eq!(settings.kafka.brokers, "b1:9092,b2:9092");
        assert_eq!(settings.registry.url, "http://sr:8081");
        let expected: BTreeMap<String, String> = [
            ("sasl.mechanisms", "PLAIN"),
            ("security.protocol", "SASL_SSL"),
            ("ssl.ca.location", "/etc/ca.pem"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(settings.kafka.overrides, expected);
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let settings = Settings::from_vars(
            [
                ("KAFKA_SASL_USERNAME", "projector"),
                ("KAFKA_SASL_PASSWORD", "hunter2-correct-horse"),
                ("KAFKA_SSL_KEY_PASSWORD", "other-secret-value"),
            ]
            .map(|(name, value)| (name.to_string(), value.to_string())),
        );
        let shown = format!("{settings:?}");
        assert!(shown.contains("projector"), "{shown}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(!shown.contains("other-secret"), "{shown}");
    }

    #[test]
    fn a_setting_can_come_from_a_file() {
        let dir = std::env::temp_dir().join(format!("settings-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let file = dir.join("password");
        std::fs::write(&file, "from-the-file\n").expect("written");
        // from_env reads the process's variables; this is the only test that sets one.
        std::env::set_var("KAFKA_SASL_PASSWORD_FILE", &file);
        let settings = Settings::from_env();
        std::env::remove_var("KAFKA_SASL_PASSWORD_FILE");
        assert_eq!(
            settings
                .kafka
                .overrides
                .get("sasl.password")
                .map(String::as_str),
            Some("from-the-file")
        );
        assert!(!settings.kafka.overrides.contains_key("sasl.password.file"));
    }
}
