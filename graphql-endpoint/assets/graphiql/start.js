// Starts GraphiQL against this endpoint: queries and mutations over POST /graphql,
// subscriptions over /graphql/ws. A session from `login` or `employee_login` goes into the
// Headers tab as {"Authorization": "Bearer <token>"}: GraphiQL sends those headers with every
// HTTP request, and this page puts them in the connection_init payload of the subscriptions'
// WebSocket (a browser cannot set headers on a WebSocket). GraphiQL does not keep the headers
// in the browser's storage (its shouldPersistHeaders is off).
//
// Read your own writes: every answer names, in extensions.consistency, what the bank must
// have applied for a read to reflect it (your mutations' events, and what you read before).
// This page keeps the latest one in memory and sends it back as the open-bank-consistency
// header, so a query right after a mutation sees its effects on any endpoint replica.
(function () {
  let consistency = null;
  const consistentFetch = async (input, init) => {
    const headers = new Headers((init && init.headers) || {});
    if (consistency) headers.set('open-bank-consistency', consistency);
    const response = await window.fetch(input, { ...init, headers });
    try {
      const body = await response.clone().json();
      for (const answer of Array.isArray(body) ? body : [body]) {
        const token = answer && answer.extensions && answer.extensions.consistency;
        if (typeof token === 'string') consistency = token;
      }
    } catch (notJson) {
      // An answer that is not JSON names nothing.
    }
    return response;
  };
  const http = new URL('graphql', window.location.href);
  const ws = new URL('graphql/ws', window.location.href);
  ws.protocol = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
  let current = null;
  let currentHeaders = null;
  // A new WebSocket client when the headers change, so a new session reaches subscriptions.
  const fetcher = (params, options) => {
    const headers = (options && options.headers) || {};
    const key = JSON.stringify(headers);
    if (key !== currentHeaders) {
      current = GraphiQL.createFetcher({
        url: http.href,
        fetch: consistentFetch,
        subscriptionUrl: ws.href,
        wsConnectionParams: headers,
      });
      currentHeaders = key;
    }
    return current(params, options);
  };
  const defaultQuery = `# Open Bank on Kafka. Sign up (the first use of a username creates it, with an account):
mutation {
  get_account(username: "graphiql-user", password: "a long and uncommon passphrase") { iban token reason }
}

# Then log in for a session, and put it in the Headers tab below:
#   {"Authorization": "Bearer <token>"}
# mutation { login(username: "graphiql-user", password: "a long and uncommon passphrase") { token expires_at reason } }
#
# With the session, watch your account live:
# subscription { stream_transactions(iban: "<your iban>") { id iban changed_by direction new_balance from_to descr } }
`;
  ReactDOM.createRoot(document.getElementById('graphiql')).render(
    React.createElement(GraphiQL, { fetcher, defaultQuery, defaultEditorToolsVisibility: true }),
  );
})();
