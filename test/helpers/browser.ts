// The browser test harness: the browser bundle (esbuild, platform 'browser'), a loopback static server
// that makes pages cross-origin isolated (COOP same-origin + COEP require-corp, so SharedArrayBuffer
// exists), and Debian's headless Chromium driven by playwright-core, started once per test file.
// Tests skip with a visible reason when chromium is not installed.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import * as esbuild from 'esbuild';
import type { BrowserContext, Page } from 'playwright-core';
import { REPO_ROOT } from './data.js';

/** The Chromium to drive: CHROMIUM_PATH, else Debian's /usr/bin/chromium, else `which chromium`. */
export function chromiumPath(): string | undefined {
  const env = process.env.CHROMIUM_PATH;
  if (env) return existsSync(env) ? env : undefined;
  if (existsSync('/usr/bin/chromium')) return '/usr/bin/chromium';
  try {
    return execFileSync('which', ['chromium'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Why the browser tests skip, or false when they run. */
export function browserSkip(): string | false {
  return chromiumPath() ? false : 'chromium is not installed (apt-get install chromium, or set CHROMIUM_PATH)';
}

/**
 * The library bundled for the browser, as the build does (scripts/build-browser.mjs): esbuild,
 * platform 'browser', from the compiled entry. Returns the ES module's text and the bundled inputs.
 */
export async function bundleBrowser(entry = join(REPO_ROOT, 'dist', 'src', 'index.js')): Promise<{
  code: string;
  inputs: string[];
}> {
  const r = await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  return { code: r.outputFiles[0].text, inputs: Object.keys(r.metafile.inputs) };
}

/** What a route answers: a file on disk, bytes or text, or a handler of its own. */
export type Route = { file: string } | { body: string | Uint8Array; type?: string } | Handler;
type Handler = (req: IncomingMessage, res: ServerResponse) => void;

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.png': 'image/png',
  '.wasm': 'application/wasm',
};

/** Headers that make a page cross-origin isolated (self.crossOriginIsolated, SharedArrayBuffer). */
export const ISOLATION_HEADERS: Record<string, string> = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

export interface StaticServer {
  /** http://127.0.0.1:PORT (no trailing slash). */
  url: string;
  close(): Promise<void>;
}

/**
 * The WASM backend's files at the root, as dist/browser/ has them beside nabla.js (scripts/build-browser.mjs):
 * the pool worker and both modules, which a page loads with `await nb.ready({ wasmBaseUrl })`.
 */
export function wasmRoutes(): Record<string, Route> {
  return {
    '/worker.js': { file: join(REPO_ROOT, 'dist', 'src', 'backend', 'wasm', 'worker.js') },
    '/nabla.wasm': { file: join(REPO_ROOT, 'native', 'wasm', 'nabla.wasm') },
    '/nabla-st.wasm': { file: join(REPO_ROOT, 'native', 'wasm', 'nabla-st.wasm') },
  };
}

/**
 * A static server on 127.0.0.1 (a free port) answering `routes` by exact path, every answer with the
 * isolation headers (unless `isolated` is false) and no caching; anything else is a 404.
 */
export async function serve(routes: Record<string, Route>, port = 0, isolated = true): Promise<StaticServer> {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    if (isolated) for (const [k, v] of Object.entries(ISOLATION_HEADERS)) res.setHeader(k, v);
    res.setHeader('Cache-Control', 'no-store');
    const route = routes[path];
    if (!route) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end(`not found: ${path}`);
      return;
    }
    if (typeof route === 'function') return route(req, res);
    let body: string | Uint8Array, type: string;
    if ('file' in route) {
      if (!existsSync(route.file)) {
        res.writeHead(404, { 'Content-Type': 'text/plain' }).end(`not found: ${path}`);
        return;
      }
      body = readFileSync(route.file);
      type = TYPES[extname(route.file)] ?? 'application/octet-stream';
    } else {
      body = route.body;
      type = route.type ?? TYPES[extname(path)] ?? 'application/octet-stream';
    }
    res.writeHead(200, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) }).end(body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const { port: p } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${p}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Chromium flags for this machine's closed network (its background connections are refused). */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export interface Browser {
  context: BrowserContext;
  /** A new page whose console errors and uncaught exceptions are collected in `errors`. */
  page(): Promise<{ page: Page; errors: string[]; logs: string[] }>;
  close(): Promise<void>;
}

/** Starts headless Chromium with a fresh profile (removed on close). */
export async function launchBrowser(extraArgs: string[] = []): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  const executablePath = chromiumPath();
  if (!executablePath) throw new Error(`launchBrowser: ${browserSkip()}`);
  const profile = mkdtempSync(join(tmpdir(), 'nabla-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    args: [...CHROMIUM_ARGS, ...extraArgs],
  });
  return {
    context,
    async page() {
      const page = await context.newPage();
      const errors: string[] = [],
        logs: string[] = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      page.on('console', (m) => (m.type() === 'error' ? errors : logs).push(m.text()));
      return { page, errors, logs };
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * A minimal page that imports the bundle as `window.nb`, awaits `nb.ready()` (the WASM backend from
 * the server's root, wasmRoutes), keeps its report as `window.nbReport` and sets `window.nbReady`.
 * With wasm false it skips nb.ready(): the CPU backend stays the JS one (the oracle of parity tests).
 */
export function harnessPage(bundlePath = '/nabla.js', opts: { wasm?: boolean } = {}): string {
  const ready = opts.wasm === false ? 'null' : "await nb.ready({ wasmBaseUrl: new URL('/', location.href) })";
  return `<!doctype html><meta charset="utf-8"><title>nabla test</title><link rel="icon" href="data:,">
<script type="module">
import * as nb from '${bundlePath}';
window.nb = nb;
window.nbReport = ${ready};
window.nbReady = true;
</script>`;
}
