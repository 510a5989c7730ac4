//! GraphiQL served entirely by this service, so it works without internet access.
//!
//! The page uses GraphiQL 3.8.3's UMD bundle (which includes the graphql-ws client for
//! subscriptions) with React 18.3.1's UMD builds, taken from their npm packages
//! (`npm pack graphiql@3.8.3 react@18.3.1 react-dom@18.3.1`), gzip-compressed and embedded at
//! build time from `assets/graphiql/` (see its README). They are sent gzip-encoded as stored;
//! the rare client that does not accept gzip gets them decompressed.

use std::io::Read;

use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use flate2::read::GzDecoder;

struct Asset {
    name: &'static str,
    content_type: &'static str,
    gzipped: &'static [u8],
}

/// The page's own script and style, files rather than inline so that the page's
/// Content-Security-Policy can forbid inline script.
const START_SCRIPT: &str = include_str!("../assets/graphiql/start.js");
const PAGE_STYLE: &str = "html, body, #graphiql { height: 100%; margin: 0; }\n";

/// What the GraphiQL page may load: its own files, and requests to this endpoint (HTTP and
/// WebSocket). GraphiQL's editor sets inline styles from script, hence 'unsafe-inline' for
/// styles only.
const PAGE_POLICY: &str =
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; font-src 'self' data:; connect-src 'self' ws: wss:; \
     frame-ancestors 'none'; base-uri 'none'; form-action 'none'; object-src 'none'";

const ASSETS: [Asset; 4] = [
    Asset {
        name: "react.production.min.js",
        content_type: "text/javascript; charset=utf-8",
        gzipped: include_bytes!("../assets/graphiql/react.production.min.js.gz"),
    },
    Asset {
        name: "react-dom.production.min.js",
        content_type: "text/javascript; charset=utf-8",
        gzipped: include_bytes!("../assets/graphiql/react-dom.production.min.js.gz"),
    },
    Asset {
        name: "graphiql.min.js",
        content_type: "text/javascript; charset=utf-8",
        gzipped: include_bytes!("../assets/graphiql/graphiql.min.js.gz"),
    },
    Asset {
        name: "graphiql.min.css",
        content_type: "text/css; charset=utf-8",
        gzipped: include_bytes!("../assets/graphiql/graphiql.min.css.gz"),
    },
];

/// `GET /graphiql`. Every URL is relative, so the page also works behind a path prefix.
pub async fn page() -> Response {
    let policy = (
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(PAGE_POLICY),
    );
    ([policy], Html(PAGE)).into_response()
}

/// `GET /graphiql/assets/{name}`.
pub async fn asset(Path(name): Path<String>, headers: HeaderMap) -> Response {
    let own = |content_type: &'static str, text: &'static str| {
        (
            [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))],
            text,
        )
            .into_response()
    };
    match name.as_str() {
        "start.js" => return own("text/javascript; charset=utf-8", START_SCRIPT),
        "page.css" => return own("text/css; charset=utf-8", PAGE_STYLE),
        _ => {}
    }
    let Some(asset) = ASSETS.iter().find(|a| a.name == name) else {
        return (StatusCode::NOT_FOUND, "no such asset").into_response();
    };
    let accepts_gzip = headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .any(|value| value.contains("gzip"));
    let content_type = (
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    // The bundles are versioned by this binary: a day of caching saves the 1 MB per visit.
    let cache = (
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=86400"),
    );
    if accepts_gzip {
        let encoding = (header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        return ([content_type, encoding, cache], asset.gzipped).into_response();
    }
    let mut plain = Vec::new();
    match GzDecoder::new(asset.gzipped).read_to_end(&mut plain) {
        Ok(_) => ([content_type, cache], plain).into_response(),
        Err(error) => {
            tracing::error!(asset = asset.name, %error, "an embedded asset does not decompress");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

const PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Open Bank · GraphiQL</title>
  <link rel="stylesheet" href="graphiql/assets/graphiql.min.css">
  <link rel="stylesheet" href="graphiql/assets/page.css">
</head>
<body>
  <div id="graphiql">Loading GraphiQL…</div>
  <script src="graphiql/assets/react.production.min.js"></script>
  <script src="graphiql/assets/react-dom.production.min.js"></script>
  <script src="graphiql/assets/graphiql.min.js"></script>
  <script src="graphiql/assets/start.js"></script>
</body>
</html>
"#;
