// A headless Chromium page with nabla and a WebGPU adapter (SwiftShader, a software GPU), for the
// WebGPU tests: nabla's compiled modules are bundled with esbuild (node:* imports become empty
// modules), served from a loopback server (WebGPU needs a secure context: 127.0.0.1 is one), and the
// page starts the backend. Test code runs in the page through page.evaluate with `globalThis.nb`.
// Tests skip with the reason when chromium, playwright-core or the adapter is missing.

import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const CHROMIUM = process.env.NABLA_CHROMIUM ?? '/usr/bin/chromium';

/** The page's surface the tests use (playwright's Page, narrowed). */
export interface WebGPUPage {
  evaluate<R, A>(fn: (arg: A) => R | Promise<R>, arg: A): Promise<R>;
  /** An expression evaluated in the page (awaited when it is a promise). */
  evaluate(expression: string): Promise<unknown>;
}

export interface Harness {
  page: WebGPUPage | null;
  /** Why the tests skip (null when the page is ready). */
  skip: string | null;
  /** The adapter report from nb.initWebGPU() in the page. */
  report: unknown;
  close(): Promise<void>;
}

async function bundle(): Promise<string> {
  const esbuild = await import('esbuild');
  const entry = join(process.cwd(), 'dist/src/index.js');
  const r = await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    format: 'iife',
    globalName: 'nb',
    platform: 'browser',
    write: false,
    logLevel: 'silent',
    define: { 'process.env.NODE_ENV': '"production"' },
    plugins: [
      {
        name: 'node-builtins-empty',
        setup(b) {
          const builtins = new RegExp(`^(node:.*|${builtinModules.map((m) => m.replace(/[/]/g, '\\/')).join('|')})$`);
          b.onResolve({ filter: builtins }, (a) => ({ path: a.path, namespace: 'empty' }));
          // NOTE: every export of the real builtin becomes a function returning '', so that a module-level
          // call (a path join for a data directory) does not throw in the page; the tests never use them
          b.onLoad({ filter: /.*/, namespace: 'empty' }, async (a) => {
            const names = Object.keys(await import(a.path)).filter((k) => /^[A-Za-z_$][\w$]*$/.test(k));
            const stub = (k: string) => (k === 'createRequire' ? '() => () => ({})' : "() => ''");
            return { contents: names.map((k) => `exports.${k} = ${stub(k)};`).join('\n'), loader: 'js' };
          });
        },
      },
    ],
  });
  return r.outputFiles[0].text;
}

/** Opens the page (one browser per test file); call close() in after(). */
export async function openWebGPUPage(): Promise<Harness> {
  const none = (skip: string): Harness => ({ page: null, skip, report: null, close: async () => {} });
  if (!existsSync(CHROMIUM)) return none(`${CHROMIUM} not found (install Debian's chromium)`);
  let chromium: typeof import('playwright-core').chromium;
  try {
    chromium = (await import('playwright-core')).chromium;
  } catch (e) {
    return none(`playwright-core did not load: ${(e as Error).message}`);
  }
  const js = await bundle();
  const html = '<!doctype html><meta charset="utf-8"><script src="/nabla.js"></script>';
  const server: Server = createServer((q, s) => {
    const isJs = q.url === '/nabla.js';
    s.setHeader('content-type', isJs ? 'text/javascript' : 'text/html');
    s.end(isJs ? js : html);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const dir = mkdtempSync(join(tmpdir(), 'nabla-webgpu-'));
  const ctx = await chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--enable-unsafe-webgpu',
      '--use-webgpu-adapter=swiftshader',
    ],
  });
  const close = async () => {
    await ctx.close();
    server.close();
    rmSync(dir, { recursive: true, force: true });
  };
  const page = await ctx.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`http://127.0.0.1:${port}/`);
  const report = await page.evaluate(async () => {
    const nb = (globalThis as { nb?: { initWebGPU(): Promise<{ available: boolean; reason?: string }> } }).nb;
    if (!nb) return { available: false, reason: 'the nabla bundle did not define nb' };
    return nb.initWebGPU();
  });
  const r = report as { available: boolean; reason?: string };
  if (!r.available) {
    await close();
    return none(`no WebGPU adapter in headless chromium: ${r.reason ?? 'unknown'} ${errors.join('; ')}`);
  }
  return { page: page as unknown as WebGPUPage, skip: null, report, close };
}
