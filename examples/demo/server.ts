// `npm run demo`: serves the browser demo (index.html, app.js, lm_worker.js next to this file's source)
// with the browser build (dist/browser/: nabla.js, its WASM modules and pool worker), the bundled digits
// and the stories260K weights, on loopback, with the cross-origin isolation headers (COOP same-origin,
// COEP require-corp) that give a page SharedArrayBuffer, so the WASM backend runs on threads. Prints the
// URL; Ctrl-C stops it.
//
//   npm run demo                       http://127.0.0.1:8080/
//   PORT=9000 npm run demo             another port
//   NABLA_DEMO_DATA=/dir npm run demo  stories260K.bin and tok512.bin from /dir (default ../shared/data)
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
};

/** URL path -> file. The data folder is read at each request, so weights copied in later are found. */
function routes(data: string): Record<string, string> {
  const page = join(ROOT, 'examples', 'demo');
  return {
    '/': join(page, 'index.html'),
    '/app.js': join(page, 'app.js'),
    '/lm_worker.js': join(page, 'lm_worker.js'),
    '/nabla.js': join(ROOT, 'dist', 'browser', 'nabla.js'),
    // the WASM backend, beside nabla.js as scripts/build-browser.mjs writes it (app.js awaits nb.ready())
    '/worker.js': join(ROOT, 'dist', 'browser', 'worker.js'),
    '/nabla.wasm': join(ROOT, 'dist', 'browser', 'nabla.wasm'),
    '/nabla-st.wasm': join(ROOT, 'dist', 'browser', 'nabla-st.wasm'),
    '/digits/images': join(ROOT, 'data', 'digits', 'digits-images-idx3-ubyte'),
    '/digits/labels': join(ROOT, 'data', 'digits', 'digits-labels-idx1-ubyte'),
    '/data/stories260K.bin': join(data, 'stories260K.bin'),
    '/data/tok512.bin': join(data, 'tok512.bin'),
  };
}

export interface DemoServer {
  url: string;
  /** Where the stories260K weights are looked for. */
  data: string;
  server: Server;
  close(): Promise<void>;
}

export async function startDemoServer(opts: { port?: number; data?: string } = {}): Promise<DemoServer> {
  const data = resolve(opts.data ?? process.env.NABLA_DEMO_DATA ?? join(ROOT, '..', 'shared', 'data'));
  const files = routes(data);
  if (!existsSync(files['/nabla.js'])) {
    throw new Error('demo: dist/browser/nabla.js is missing: run `npm run build:browser` (npm run demo does)');
  }
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
    res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
    res.setHeader('Cache-Control', 'no-store');
    const file = files[path];
    if (!file || !existsSync(file)) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end(`not found: ${path}`);
      return;
    }
    const body = readFileSync(file);
    const type = TYPES[extname(file)] ?? 'application/octet-stream';
    res.writeHead(200, { 'Content-Type': type, 'Content-Length': body.length }).end(body);
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(opts.port ?? 0, '127.0.0.1', () => ok());
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const close = () =>
    new Promise<void>((ok) => {
      server.closeAllConnections();
      server.close(() => ok());
    });
  return { url, data, server, close };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const port = Number(process.env.PORT ?? 8080);
  const s = await startDemoServer({ port });
  console.log(`nabla demo: ${s.url}`);
  const have = existsSync(join(s.data, 'stories260K.bin')) && existsSync(join(s.data, 'tok512.bin'));
  console.log(
    have
      ? `stories260K from ${s.data}`
      : `no stories260K.bin / tok512.bin in ${s.data}: the story part will say where to put them`,
  );
}
