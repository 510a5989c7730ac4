// Starts GraphiQL against this endpoint: queries and mutations over POST /graphql,
// subscriptions over /graphql/ws. A session from `login` or `employee_login` goes into the
// Headers tab as {"Authorization": "Bearer <token>"}: GraphiQL sends those headers with every
// HTTP request, and this page puts them in the connection_init payload of the subscriptions'
// WebSocket (a browser cannot set headers on a WebSocket). GraphiQL does not keep the headers
// in the browser's storage (its shouldPersistHeaders is off).
(function () {
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
