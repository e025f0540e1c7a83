import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// The control plane serves the built UI and the API on one port; in development the Vite
// server proxies to it so cookies stay same-origin.
const CONTROL_PLANE = process.env.STREAMSPACE_CONTROL_PLANE_URL ?? 'http://127.0.0.1:8080';

// eslint-disable-next-line no-restricted-syntax -- Vite loads the config's default export.
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  plugins: [react()],
  // noVNC 1.7 uses top-level await, which needs ES2022 output.
  build: {
    target: 'es2022',
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: true,
  },
  // noVNC is plain ESM; pre-bundling it would only re-process its top-level await.
  optimizeDeps: { exclude: ['@novnc/novnc'] },
  server: {
    port: 5173,
    proxy: {
      '/api': { target: CONTROL_PLANE, changeOrigin: false },
      '/vnc': { target: CONTROL_PLANE, ws: true, changeOrigin: false },
      '/metrics': { target: CONTROL_PLANE },
    },
  },
});
