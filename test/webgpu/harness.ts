// A headless Chromium page with nabla and a WebGPU adapter (SwiftShader, a software GPU), for the
// WebGPU tests, on the shared browser harness (test/helpers/browser.ts): the browser bundle served
// from a loopback server (WebGPU needs a secure context: 127.0.0.1 is one), Chromium with WebGPU
// turned on, and a page that starts the backend. The CPU side of the page stays on the JS backend,
// the oracle. Test code runs in the page through page.evaluate with `globalThis.nb`.
// Tests skip with the reason when chromium, playwright-core or the adapter is missing.

import {
  type Browser,
  type StaticServer,
  browserSkip,
  bundleBrowser,
  harnessPage,
  launchBrowser,
  serve,
} from '../helpers/browser.js';

/** Chromium flags for WebGPU on SwiftShader (a software adapter, so it runs on any machine). */
export const WEBGPU_ARGS = ['--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader'];

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

/** Opens the page (one browser per test file); call close() in after(). */
export async function openWebGPUPage(): Promise<Harness> {
  const none = (skip: string): Harness => ({ page: null, skip, report: null, close: async () => {} });
  const why = browserSkip();
  if (why) return none(why);
  try {
    await import('playwright-core');
  } catch (e) {
    return none(`playwright-core did not load: ${(e as Error).message}`);
  }
  const { code } = await bundleBrowser();
  const server: StaticServer = await serve({
    '/': { body: harnessPage('/nabla.js', { wasm: false }), type: 'text/html; charset=utf-8' },
    '/nabla.js': { body: code, type: 'text/javascript; charset=utf-8' },
  });
  const browser: Browser = await launchBrowser(WEBGPU_ARGS);
  const close = async () => {
    await browser.close();
    await server.close();
  };
  const { page, errors } = await browser.page();
  await page.goto(`${server.url}/`);
  await page.waitForFunction(() => (globalThis as { nbReady?: boolean }).nbReady === true);
  const report = (await page.evaluate(() => {
    const nb = (globalThis as { nb?: { initWebGPU(): Promise<unknown> } }).nb;
    return nb ? nb.initWebGPU() : { available: false, reason: 'the nabla bundle did not define nb' };
  })) as { available: boolean; reason?: string };
  if (!report.available) {
    await close();
    return none(`no WebGPU adapter in headless chromium: ${report.reason ?? 'unknown'} ${errors.join('; ')}`);
  }
  return { page: page as unknown as WebGPUPage, skip: null, report, close };
}
