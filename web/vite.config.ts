import { defineConfig } from 'vite';
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { VitePWA } from 'vite-plugin-pwa';
import { precompress } from './precompress.js';

const api = process.env.CAIRN_DEV_API ?? 'http://localhost:8080';

export default defineConfig({
  plugins: [
    react(),
    // The installable app (docs/offline.md): a manifest and a Workbox service worker that
    // precaches the shell and every lazily loaded page, so the app opens offline after one visit.
    VitePWA({
      strategies: 'generateSW',
      // Registered from web/src/offline/register.ts with workbox-window: no inline script (CSP).
      injectRegister: false,
      registerType: 'autoUpdate',
      manifest: {
        name: 'Cairn',
        short_name: 'Cairn',
        description: 'Capture, register and share records about people',
        start_url: '/',
        scope: '/',
        display: 'standalone',
        background_color: '#ffffff',
        theme_color: '#1f3a52',
        icons: [
          { src: '/icon.svg', sizes: 'any', type: 'image/svg+xml', purpose: 'any' },
          { src: '/icon.svg', sizes: 'any', type: 'image/svg+xml', purpose: 'maskable' },
        ],
      },
      workbox: {
        // The built files only: x.br / x.gz twins (precompress.ts) and source maps stay out.
        globPatterns: ['**/*.{js,css,html,svg,woff2,webmanifest}'],
        // The participant's page is served by the gateway, another origin: not part of the app.
        globIgnores: ['gateway.html', 'assets/gateway-*'],
        navigateFallback: '/index.html',
        // The API, the certificate check page and the metrics are never answered by the worker.
        navigateFallbackDenylist: [/^\/api\//, /^\/verify\//, /^\/metrics/],
        // No runtimeCaching: an API answer is never served from a cache by the worker. What the
        // app needs offline it keeps itself, encrypted per user (web/src/offline/).
        cleanupOutdatedCaches: true,
        clientsClaim: true,
        skipWaiting: true,
        maximumFileSizeToCacheInBytes: 4 * 1024 * 1024,
      },
    }),
    precompress(),
  ],
  root: fileURLToPath(new URL('.', import.meta.url)),
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // The server's Content-Security-Policy allows scripts from 'self' only: no inline scripts.
    modulePreload: { polyfill: false },
    sourcemap: true,
    // Two pages: the app, and the remote-capture participant's page the gateway serves
    // (web/src/gateway/, docs/remote-capture.md); neither pulls the other into its first load.
    rollupOptions: { input: { main: fileURLToPath(new URL('index.html', import.meta.url)), gateway: fileURLToPath(new URL('gateway.html', import.meta.url)) } },
  },
  server: {
    port: 5173,
    proxy: {
      // SSE needs the proxy not to buffer; http-proxy streams by default.
      '/api': { target: api, changeOrigin: false },
    },
  },
});
