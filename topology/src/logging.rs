//! Log set-up shared by every binary: `RUST_LOG` filters, colours only on a terminal (log files
//! and `docker logs` get plain text), output on stderr so stdout stays for a tool's answer.
//!
//! Services also get OpenTelemetry spans ([`init_service`], see [`crate::trace_context`]):
//! exported over OTLP/HTTP to `OTEL_EXPORTER_OTLP_ENDPOINT` when it is set, else only used
//! for the trace ids in logs and record headers.

use std::io::IsTerminal;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing::Subscriber;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// Installs the global subscriber for a tool; `default_filter` applies when `RUST_LOG` is not
/// set.
pub fn init(default_filter: &str) {
    tracing_subscriber::registry()
        .with(fmt_layer(default_filter))
        .init();
}

fn fmt_layer<S>(default_filter: &str) -> impl Layer<S>
where
    S: Subscriber + for<'span> LookupSpan<'span>,
{
    tracing_subscriber::fmt::layer()
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .with_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter)),
        )
}

/// Keeps the span exporter of [`init_service`]; dropping it sends what is left.
pub struct Telemetry(SdkTracerProvider);

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Err(error) = self.0.shutdown() {
            tracing::debug!(%error, "flushing the span exporter");
        }
    }
}

/// [`init`] plus OpenTelemetry spans for `service` (its `service.name`). The spans have their
/// own filter (info and up), so `RUST_LOG=warn` quiets the logs but keeps traces whole.
/// `OPEN_BANK_TELEMETRY=off` leaves the spans out (see [`crate::telemetry::enabled`]).
pub fn init_service(default_filter: &str, service: &'static str) -> Telemetry {
    let exporter = std::env::var_os("OTEL_EXPORTER_OTLP_ENDPOINT")
        .is_some()
        .then(span_exporter)
        .flatten();
    let exporting = exporter.is_some();
    let provider = tracer_provider(exporter, service);
    let spans = crate::telemetry::enabled().then(|| otel_layer_of(&provider));
    tracing_subscriber::registry()
        .with(fmt_layer(default_filter))
        .with(spans)
        .init();
    if exporting {
        tracing::info!(service, "exporting spans over OTLP/HTTP");
    }
    Telemetry(provider)
}

fn span_exporter() -> Option<opentelemetry_otlp::SpanExporter> {
    use opentelemetry_otlp::WithHttpConfig;
    let built = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_http_client(BlockingHttp(reqwest::blocking::Client::new()))
        .build();
    match built {
        Ok(exporter) => Some(exporter),
        Err(error) => {
            eprintln!("OTEL_EXPORTER_OTLP_ENDPOINT is set, but no span exporter: {error}");
            None
        }
    }
}

fn tracer_provider(
    exporter: Option<opentelemetry_otlp::SpanExporter>,
    service: &'static str,
) -> SdkTracerProvider {
    let resource = opentelemetry_sdk::Resource::builder()
        .with_service_name(service)
        .build();
    let builder = SdkTracerProvider::builder().with_resource(resource);
    match exporter {
        // The batch processor exports from a thread of its own, off the services' loops.
        Some(exporter) => builder.with_batch_exporter(exporter).build(),
        None => builder.build(),
    }
}

fn otel_layer_of<S>(provider: &SdkTracerProvider) -> impl Layer<S>
where
    S: Subscriber + for<'span> LookupSpan<'span>,
{
    tracing_opentelemetry::layer()
        .with_tracer(provider.tracer("open-bank"))
        .with_filter(LevelFilter::INFO)
}

/// The OpenTelemetry layer alone, exporting nowhere: for tests of trace propagation.
pub fn otel_layer<S>(service: Option<&'static str>) -> impl Layer<S>
where
    S: Subscriber + for<'span> LookupSpan<'span>,
{
    otel_layer_of(&tracer_provider(None, service.unwrap_or("test")))
}

/// OTLP/HTTP over reqwest's blocking client: the batch processor exports from its own
/// thread, outside any async runtime.
#[derive(Debug)]
struct BlockingHttp(reqwest::blocking::Client);

#[async_trait::async_trait]
impl opentelemetry_http::HttpClient for BlockingHttp {
    async fn send_bytes(
        &self,
        request: opentelemetry_http::Request<opentelemetry_http::Bytes>,
    ) -> Result<
        opentelemetry_http::Response<opentelemetry_http::Bytes>,
        opentelemetry_http::HttpError,
    > {
        let (parts, body) = request.into_parts();
        let mut sent = self
            .0
            .request(parts.method, parts.uri.to_string())
            .timeout(std::time::Duration::from_secs(10))
            .body(body.to_vec());
        for (name, value) in &parts.headers {
            sent = sent.header(name.as_str(), value.as_bytes());
        }
        let response = sent.send()?;
        let mut answer = opentelemetry_http::Response::builder().status(response.status().as_u16());
        let bytes = response.bytes()?;
        answer = answer.header("content-length", bytes.len());
        Ok(answer.body(opentelemetry_http::Bytes::from(bytes.to_vec()))?)
    }
}
