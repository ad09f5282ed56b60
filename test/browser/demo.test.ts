// The demo page (`npm run demo`, examples/demo/) in headless Chromium, served by its own server: a
// digit drawn with the mouse gets a label from the CNN trained at startup, a prompt gets a story
// streamed token by token, the backend indicator shows, and a screenshot is written to a temp dir.
// Without the stories260K weights the page says where to put them.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { startDemoServer, type DemoServer } from '../../examples/demo/server.js';
import { browserSkip, launchBrowser, type Browser } from '../helpers/browser.js';
import { REPO_ROOT, SHARED_DATA, skipUnlessShared } from '../helpers/data.js';

/** Draws a stroke through `points` (canvas coordinates) with the mouse. */
async function stroke(page: Page, points: [number, number][]): Promise<void> {
  const box = (await page.locator('#pad').boundingBox())!;
  await page.mouse.move(box.x + points[0][0], box.y + points[0][1]);
  await page.mouse.down();
  for (const [x, y] of points.slice(1)) await page.mouse.move(box.x + x, box.y + y, { steps: 4 });
  await page.mouse.up();
}

describe('the demo page', { skip: browserSkip() }, () => {
  let browser: Browser, demo: DemoServer, shots: string;

  before(async () => {
    const r = spawnSync(process.execPath, [join(REPO_ROOT, 'scripts', 'build-browser.mjs')], { encoding: 'utf8' });
    assert.equal(r.status, 0, `build-browser failed: ${r.stderr}`);
    demo = await startDemoServer({ data: SHARED_DATA });
    browser = await launchBrowser();
    shots = mkdtempSync(join(tmpdir(), 'nabla-demo-'));
  });

  after(async () => {
    await browser?.close();
    await demo?.close();
    if (shots) rmSync(shots, { recursive: true, force: true });
  });

  test('a drawn digit gets a label and a prompt streams a story; screenshot', {
    skip: skipUnlessShared('stories260K.bin', 'tok512.bin'),
  }, async () => {
    const { page, errors } = await browser.page();
    await page.setViewportSize({ width: 1100, height: 640 });
    await page.goto(`${demo.url}?epochs=2`);
    await page.waitForFunction(() => document.getElementById('backend')?.textContent !== '…', null, {
      timeout: 30_000,
    });
    assert.match((await page.locator('#backend').textContent()) ?? '', /^WASM threads \(\d+\)$/);
    await page.waitForSelector('#digit-status[data-trained="true"]', { timeout: 120_000 });
    assert.match((await page.locator('#digit-status').textContent()) ?? '', /trained 2 epochs .*% on the 297 held-out/);
    // A "7": the top bar, then the diagonal down to the bottom left.
    await stroke(page, [
      [50, 40],
      [175, 40],
      [150, 100],
      [110, 190],
    ]);
    const label = await page.locator('#label').getAttribute('data-label');
    assert.match(label ?? '', /^[0-9]$/, 'the drawn digit got no label');
    assert.equal(await page.locator('#bars > div').count(), 10);

    await page.waitForSelector('#go:not([disabled])', { timeout: 60_000 });
    await page.fill('#prompt', 'Once upon a time');
    await page.fill('#temp', '0');
    await page.fill('#ntok', '40');
    await page.click('#go');
    await page.waitForSelector('#story[data-done="true"]', { timeout: 60_000 });
    const tokens = Number(await page.locator('#story').getAttribute('data-tokens'));
    const text = (await page.locator('#story').textContent()) ?? '';
    assert.ok(tokens > 5, `only ${tokens} tokens streamed`);
    assert.ok(text.startsWith('Once upon a time') && text.length > 'Once upon a time'.length + 10, text);
    assert.match((await page.locator('#lm-status').textContent()) ?? '', /\d+ tokens in [\d.]+ s/);

    const shot = join(shots, 'demo.png');
    await page.screenshot({ path: shot, fullPage: true });
    assert.ok(statSync(shot).size > 10_000, 'the screenshot is empty');
    console.log(`demo: digit drawn as 7 labelled ${label}; ${tokens} tokens: ${JSON.stringify(text.slice(0, 120))}`);
    assert.deepEqual(errors, []);
  });

  test('without the stories260K weights the page says where to put them', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'nabla-demo-nodata-'));
    const bare = await startDemoServer({ data: empty });
    try {
      const { page } = await browser.page();
      await page.goto(`${bare.url}?epochs=1`);
      await page.waitForSelector('#lm-status[data-missing="true"]', { timeout: 30_000 });
      const msg = (await page.locator('#lm-status').textContent()) ?? '';
      assert.match(msg, /put stories260K\.bin and tok512\.bin .* in \.\.\/shared\/data/);
      assert.match(msg, /HTTP 404/);
      assert.equal(await page.locator('#go').isDisabled(), true);
      await page.close();
    } finally {
      await bare.close();
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
