// shot.mjs — the Playwright half of tests/bench/browser_screenshot.py.
// playwright-core launches the same Chromium binary the worker uses (over
// --remote-debugging-pipe, as the worker does), opens one page at the given
// viewport, then for every line on stdin does page.goto(url) (waits for
// `load`, as sandq's goto does) and page.screenshot() of the viewport to a
// PNG file, and prints the milliseconds it took. "ready" once launched.
import { chromium } from 'playwright-core';
import { createInterface } from 'node:readline';

const [bin, url, outdir, width, height] = process.argv.slice(2);
const browser = await chromium.launch({ executablePath: bin, headless: true, args: ['--no-sandbox'] });
const page = await browser.newPage({ viewport: { width: Number(width), height: Number(height) } });
console.log('ready');
let i = 0;
for await (const line of createInterface({ input: process.stdin })) {
  if (line.trim() !== 'go') break;
  const t0 = performance.now();
  await page.goto(url, { waitUntil: 'load' });
  await page.screenshot({ path: `${outdir}/playwright-${i++}.png` });
  console.log((performance.now() - t0).toFixed(2));
}
await browser.close();
