import type { Plugin } from 'vite';
import { defineConfig } from 'vitest/config';

// `npm run serve` (what scripts/run.sh starts) and `npm run dev` forward /graphql and
// /graphql/ws to the GraphQL endpoint, so the app talks to its own origin, exactly as behind
// nginx in docker/; GraphiQL is forwarded too. The app can still point elsewhere: see src/config.ts.
const graphqlTarget = process.env.FRONTEND_GRAPHQL_TARGET ?? 'http://127.0.0.1:8888';
// xfwd: the endpoint learns each browser's address from X-Forwarded-For (it trusts this server's
// address, GRAPHQL_TRUSTED_PROXIES), so login throttling counts per browser, not per proxy.
const proxy = {
  '/graphql': { target: graphqlTarget, ws: true, changeOrigin: true, xfwd: true },
  '/graphiql': { target: graphqlTarget, changeOrigin: true, xfwd: true },
};

// What the browser may do with the served app, as docker/frontend.nginx.conf sends it too (keep
// both the same). No inline script or style: index.html loads /config.js and the bundle as files,
// and React and uPlot set styles through the CSSOM (element.style), which style-src does not
// govern. img-src allows data: for the empty favicon (`data:,`). connect-src: the endpoint on this
// origin (HTTP and, through 'self' and ws:/wss:, the WebSocket). When /config.js points the app at
// an endpoint on another origin, add that origin (and its ws:// or wss:// form) to connect-src.
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self' ws: wss:",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "object-src 'none'",
].join('; ');

// No feature the app does not use; notifications are not a Permissions-Policy feature (the app
// asks for them through the Notification API).
const PERMISSIONS_POLICY = [
  'accelerometer',
  'camera',
  'display-capture',
  'geolocation',
  'gyroscope',
  'hid',
  'magnetometer',
  'microphone',
  'midi',
  'payment',
  'publickey-credentials-get',
  'screen-wake-lock',
  'serial',
  'usb',
  'xr-spatial-tracking',
]
  .map((feature) => `${feature}=()`)
  .join(', ');

const SECURITY_HEADERS: Record<string, string> = {
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Permissions-Policy': PERMISSIONS_POLICY,
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
};

/**
 * The build has no source maps; without this, `vite preview` would answer a request for one with
 * index.html (its single-page fallback). A 404 says plainly that there is none.
 */
function noSourceMapsInPreview(): Plugin {
  return {
    name: 'open-bank:no-source-maps-in-preview',
    configurePreviewServer(server) {
      server.middlewares.use((request, response, next) => {
        const path = (request.url ?? '').split('?')[0] ?? '';
        if (!path.endsWith('.map')) return next();
        response.statusCode = 404;
        for (const [name, value] of Object.entries(SECURITY_HEADERS)) {
          response.setHeader(name, value);
        }
        response.end();
      });
    },
  };
}

export default defineConfig({
  plugins: [noSourceMapsInPreview()],
  server: { host: '127.0.0.1', port: 5173, proxy },
  preview: {
    host: process.env.FRONTEND_HOST ?? '127.0.0.1',
    port: Number(process.env.FRONTEND_PORT ?? 8181),
    proxy,
    // No CORS of its own: the app is on this origin, and a cross-origin request forwarded to the
    // endpoint must meet the endpoint's allow-list (Vite would otherwise answer for localhost).
    cors: false,
    // Sent with index.html and every file of the build; not with what is proxied to the
    // endpoint (GraphiQL is the endpoint's page, with needs of its own).
    headers: SECURITY_HEADERS,
  },
  // No source maps in what is served: they would hand out the source, comments and all.
  build: { target: 'es2022', sourcemap: false },
  test: { include: ['src/**/*.test.ts'], environment: 'node' },
});
