import { defineConfig } from 'vitest/config';

// `npm run serve` (what scripts/run.sh starts) and `npm run dev` forward /graphql and
// /graphql/ws to the GraphQL endpoint, so the app talks to its own origin, exactly as behind
// nginx in docker/; GraphiQL is forwarded too. The app can still point anywhere else: see src/config.ts.
const graphqlTarget = process.env.FRONTEND_GRAPHQL_TARGET ?? 'http://127.0.0.1:8888';
const proxy = {
  '/graphql': { target: graphqlTarget, ws: true, changeOrigin: true },
  '/graphiql': { target: graphqlTarget, changeOrigin: true },
};

export default defineConfig({
  server: { host: '127.0.0.1', port: 5173, proxy },
  preview: {
    host: process.env.FRONTEND_HOST ?? '127.0.0.1',
    port: Number(process.env.FRONTEND_PORT ?? 8181),
    proxy,
  },
  build: { target: 'es2022', sourcemap: true },
  test: { include: ['src/**/*.test.ts'], environment: 'node' },
});
