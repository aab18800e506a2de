// One app upload in headless Chromium, for bench/upload: signs up, uploads FILE through the
// page, and prints JSON: seconds (first start_upload sent → complete_upload answered), bytes
// the page sent to the app server, the page's peak JS heap.
// Usage: node upload-app.js <app url> <file>
const path = require('path');
const { chromium } = require(path.join(__dirname, '..', 'end2end', 'node_modules', 'playwright-core'));

(async () => {
  const [base, file] = process.argv.slice(2);
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--enable-precise-memory-info'],
  });
  const page = await browser.newPage();
  await page.goto(`${base}/sign-up`);
  await page.getByLabel('Email').fill(`bench-${Date.now()}@example.com`);
  await page.getByLabel('Password').fill('bench password 1234');
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.waitForURL(/\/vaults\/[0-9a-f-]+$/);
  await page.getByText('This folder is empty.').waitFor();

  let appBytes = 0; let t0 = null; let t1 = null;
  const origin = new URL(base).origin;
  page.on('request', async (r) => {
    if (!r.url().startsWith(origin)) return;
    if (r.url().includes('/api/start_upload') && t0 === null) t0 = Date.now();
    const headers = await r.allHeaders().catch(() => ({}));
    appBytes += r.method().length + r.url().length - origin.length + 12
      + Object.entries(headers).reduce((n, [k, v]) => n + k.length + v.length + 4, 0)
      + (r.postDataBuffer() ? r.postDataBuffer().length : 0);
  });
  page.on('response', (r) => { if (r.url().includes('/api/complete_upload') && r.status() === 200) t1 = Date.now(); });
  let peak = 0;
  const poll = setInterval(async () => {
    const h = await page.evaluate(() => performance.memory && performance.memory.usedJSHeapSize).catch(() => 0);
    if (h > peak) peak = h;
  }, 250);
  await page.getByLabel('Choose files').setInputFiles(file);
  await page.getByText(/^Uploaded ·/).waitFor({ timeout: 900_000 });
  clearInterval(poll);
  console.log(JSON.stringify({ seconds: (t1 - t0) / 1000, app_bytes: appBytes, peak_heap: peak }));
  await browser.close();
})().catch((e) => { console.error(e); process.exit(1); });
