// Run-time settings of the web app, read before it starts. Replace this file where the app is
// served to point it at another GraphQL endpoint without rebuilding, for example:
//   window.OPEN_BANK_CONFIG = { graphqlUrl: 'https://bank.example.com/graphql' };
// Subscriptions then go to the same URL with `/ws` appended (ws:// or wss://).
// Left empty, the app uses /graphql on its own origin.
window.OPEN_BANK_CONFIG = {};
