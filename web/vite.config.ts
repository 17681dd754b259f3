import { defineConfig } from 'vite';
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { precompress } from './precompress.js';

const api = process.env.CAIRN_DEV_API ?? 'http://localhost:8080';

export default defineConfig({
  plugins: [react(), precompress()],
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
