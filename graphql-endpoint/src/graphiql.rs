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
pub async fn page() -> Html<&'static str> {
    Html(PAGE)
}

/// `GET /graphiql/assets/{name}`.
pub async fn asset(Path(name): Path<String>, headers: HeaderMap) -> Response {
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
  <style>html, body, #graphiql { height: 100%; margin: 0; }</style>
</head>
<body>
  <div id="graphiql">Loading GraphiQL…</div>
  <script src="graphiql/assets/react.production.min.js"></script>
  <script src="graphiql/assets/react-dom.production.min.js"></script>
  <script src="graphiql/assets/graphiql.min.js"></script>
  <script>
    const http = new URL('graphql', window.location.href);
    const ws = new URL('graphql/ws', window.location.href);
    ws.protocol = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
    const fetcher = GraphiQL.createFetcher({ url: http.href, subscriptionUrl: ws.href });
    const defaultQuery = `# Open Bank on Kafka. Log in (the first login creates the account):
mutation {
  get_account(username: "graphiql-user", password: "a long password") { iban token reason }
}

# Then, in another tab, watch the company account:
# subscription { stream_transactions(iban: "NL66OPEN0000000000") { id iban changed_by direction new_balance from_to descr } }
`;
    ReactDOM.createRoot(document.getElementById('graphiql')).render(
      React.createElement(GraphiQL, { fetcher, defaultQuery, defaultEditorToolsVisibility: true }),
    );
  </script>
</body>
</html>
"#;
