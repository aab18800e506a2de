// The foundation's one honest path: sign up, upload 64 MiB of random bytes straight to S3
// while the progress bar moves, see the file listed, download it, compare SHA-256, sign out.
const { test, expect } = require('@playwright/test');
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const { createAccount, scratchDir, removeScratch, downloadSha256 } = require('../support');

test.afterEach(removeScratch);

const MIB = 1024 * 1024;

function sha256(file) {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

test('sign up, upload 64 MiB, download it intact, sign out', async ({ page }, testInfo) => {
  const dir = scratchDir('nexus-e2e-');
  const file = path.join(dir, 'random-64MiB.bin');
  fs.writeFileSync(file, crypto.randomBytes(64 * MIB));
  const email = `e2e-${Date.now()}@example.com`;

  await createAccount(page, email);
  await expect(page.getByRole('heading', { level: 1, name: 'My vault' })).toBeVisible();
  await expect(page.getByText('This folder is empty.')).toBeVisible();
  await page.screenshot({ path: testInfo.outputPath('vault-empty.png'), fullPage: true });

  // Pick the file; record every value the progress bar takes on its way.
  await page.getByLabel('Choose files').setInputFiles(file);
  const bar = page.getByRole('progressbar', { name: 'Upload of random-64MiB.bin' });
  await expect(bar).toBeVisible();
  const seen = new Set();
  const deadline = Date.now() + 150_000;
  while (Date.now() < deadline) {
    const now = await bar.getAttribute('aria-valuenow').catch(() => null);
    if (now !== null) seen.add(Number(now));
    if (now === '100' && (await page.getByText(/^Uploaded ·/).isVisible())) break;
    await page.waitForTimeout(50);
  }
  const values = [...seen].sort((a, b) => a - b);
  expect(values.at(-1)).toBe(100);
  expect(values.filter((v) => v > 0 && v < 100).length, `progress values seen: ${values}`).toBeGreaterThan(1);

  // Listed with its size and class.
  const row = page.getByRole('row', { name: /random-64MiB\.bin/ });
  await expect(row).toBeVisible();
  await expect(row.getByRole('cell', { name: '67 MB' })).toBeVisible();
  await expect(row.getByRole('cell', { name: 'Standard' })).toBeVisible();
  await page.screenshot({ path: testInfo.outputPath('vault-with-file.png'), fullPage: true });

  // Download through the presigned GET and compare bytes.
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    row.getByRole('link', { name: 'Download random-64MiB.bin' }).click(),
  ]);
  expect(download.suggestedFilename()).toBe('random-64MiB.bin');
  expect(await downloadSha256(download, page)).toBe(sha256(file));

  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/sign-in$/);
  await expect(page.getByRole('link', { name: 'Sign in', exact: true })).toBeVisible();
  // A page that needs a session sends to sign-in, and sign-in brings back to it.
  await page.goto('/vaults');
  await expect(page).toHaveURL(/\/sign-in\?next=\/vaults$/);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill('correct horse battery');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/vaults$/);
  await expect(page.getByRole('link', { name: 'My vault' })).toBeVisible();
  await page.screenshot({ path: testInfo.outputPath('vaults.png'), fullPage: true });
  fs.rmSync(dir, { recursive: true, force: true });
});

test('wrong password shows a clear error, and the page works at 360 px', async ({ page }, testInfo) => {
  await page.setViewportSize({ width: 360, height: 740 });
  await page.goto('/sign-in');
  await page.getByLabel('Email').fill('nobody@example.com');
  await page.getByLabel('Password').fill('wrong password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('alert')).toContainText('Email or password is incorrect.');
  await page.screenshot({ path: testInfo.outputPath('sign-in-error-360.png'), fullPage: true });
});

test('a file dropped on the upload area is uploaded and listed', async ({ page }) => {
  await createAccount(page, `drop-${Date.now()}@example.com`);
  const area = page.getByRole('region', { name: 'Upload files' });
  // A real drop carries a DataTransfer holding the file; build one in the page.
  const dataTransfer = await page.evaluateHandle(() => {
    const dt = new DataTransfer();
    dt.items.add(new File(['dropped bytes\n'.repeat(1000)], 'dropped notes.txt', { type: 'text/plain' }));
    return dt;
  });
  await area.dispatchEvent('dragover', { dataTransfer });
  await area.dispatchEvent('drop', { dataTransfer });
  await expect(page.getByText(/^Uploaded ·/)).toBeVisible();
  const row = page.getByRole('row', { name: /dropped notes\.txt/ });
  await expect(row.getByRole('cell', { name: '14 KB' })).toBeVisible();
});
