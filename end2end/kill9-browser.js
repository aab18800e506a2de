// A person's upload in Chromium while the server is killed (driven by
// server/tests/faults/test_kill9.py, which kills and restarts the server — and with it the
// embedded S3 endpoint the parts go to). Signs up, picks the file with its parts slowed so
// the kill lands mid-upload, prints "uploading", waits for "restarted" on stdin, then waits
// for the upload to finish: by the page's own retries, or — if they gave up — as a person
// would after a failure: reload the page and pick the file again (only missing parts go).
// Prints "resumed by itself" or "resumed after reload", then "done".
// Usage: node kill9-browser.js <app url> <file> [screenshot.png]
const { chromium } = require('playwright-core');
const readline = require('readline');

const [url, file, shot] = process.argv.slice(2);
const stdin = readline.createInterface({ input: process.stdin });
const nextLine = () => new Promise((resolve) => stdin.once('line', resolve));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

(async () => {
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
  const page = await browser.newPage({ baseURL: url, viewport: { width: 1280, height: 900 } });
  page.setDefaultTimeout(60_000);
  page.on('dialog', (d) => d.accept().catch(() => {})); // "leave while uploading?" — yes
  const email = `browser-k9-${Date.now()}@example.com`;
  await page.goto('/sign-up');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill('correct horse battery');
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.waitForURL(/\/sign-in\?signed_up=1/);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill('correct horse battery');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/\/vaults$/);
  await page.getByRole('link', { name: 'My vault' }).click();
  await page.getByText('This folder is empty.').waitFor();
  await page.route(/partNumber=/, async (route) => {
    await sleep(300);
    await route.continue().catch(() => {}); // the page may be gone by then
  });
  await page.getByLabel('Choose files').setInputFiles(file);
  console.log('uploading');
  await nextLine();
  await page.unrouteAll({ behavior: 'ignoreErrors' });
  const done = page.getByText(/^Uploaded · /);
  try {
    await done.waitFor({ timeout: 90_000 });
    console.log('resumed by itself');
  } catch {
    await page.reload();
    await page.getByLabel('Choose files').setInputFiles(file);
    await done.waitFor({ timeout: 120_000 });
    console.log('resumed after reload');
  }
  if (shot) await page.screenshot({ path: shot, fullPage: true });
  console.log('done');
  await browser.close();
  process.exit(0);
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
