import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build, preview, type PreviewServer } from 'vite';

const WEB_ROOT = resolve(import.meta.dirname, '../../apps/web');

export interface WebBuild {
  outDir: string;
  remove(): Promise<void>;
}

/** Builds the UI into a private directory, so parallel test files never share a dist. */
export async function buildWebUi(): Promise<WebBuild> {
  const outDir = await mkdtemp(join(tmpdir(), 'streamspace-web-'));
  await build({
    root: WEB_ROOT,
    configFile: join(WEB_ROOT, 'vite.config.ts'),
    logLevel: 'warn',
    build: { outDir, emptyOutDir: true, sourcemap: false },
  });
  return { outDir, remove: () => rm(outDir, { recursive: true, force: true }) };
}

/**
 * The origin the browser should use. When the control plane serves the UI itself (the
 * production layout) that is the control plane; otherwise a Vite preview server of the same
 * build proxies /api and /vnc to it, so the UI and API still share one origin.
 */
export async function webOrigin(
  controlPlaneUrl: string,
  outDir: string,
): Promise<{ url: string; close(): Promise<void> }> {
  const page = await fetch(`${controlPlaneUrl}/`).catch(() => null);
  const html = page?.ok ? await page.text() : '';
  if (html.includes('id="root"')) return { url: controlPlaneUrl, close: async () => {} };

  const server: PreviewServer = await preview({
    root: WEB_ROOT,
    configFile: join(WEB_ROOT, 'vite.config.ts'),
    logLevel: 'warn',
    build: { outDir },
    preview: {
      host: '127.0.0.1',
      port: 0,
      strictPort: false,
      proxy: {
        '/api': { target: controlPlaneUrl },
        '/vnc': { target: controlPlaneUrl, ws: true },
      },
    },
  });
  const address = server.httpServer.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => server.close(),
  };
}
