// The Content-Security-Policy as a person's browser applies it: the app hydrates, uploads
// (presigned PUTs to the object store), stores and shows an image preview, and reports no
// violation; a vault named with markup shows its name as the tab's title and runs nothing.
const { test, expect } = require('@playwright/test');
const path = require('path');
const fs = require('fs');
const { signUp, scratchDir, removeScratch } = require('../support');

test.afterEach(removeScratch);

// A 2×2 PNG.
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFklEQVR4nGP8z8DAwMDAxMDAwMDAAAANHQEDasKb6QAAAABJRU5ErkJggg==',
  'base64',
);

test('the app works under its CSP, and a vault named with markup stays text', async ({ page }, testInfo) => {
  const violations = [];
  page.on('console', (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) violations.push(m.text());
  });
  const dialogs = [];
  page.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss(); });

  await signUp(page, 'csp');
  const csp = (await page.request.get(page.url())).headers()['content-security-policy'];
  expect(csp).toContain("script-src 'self' 'wasm-unsafe-eval' 'nonce-");

  // An upload with a preview: the part PUT, the preview PUT and the preview's <img> all go
  // to the object store's origin, which the policy names.
  const dir = scratchDir('nexus-csp-');
  const png = path.join(dir, 'dot.png');
  fs.writeFileSync(png, PNG);
  await page.getByLabel('Choose files').setInputFiles(png);
  await expect(page.getByTestId('queue-status')).toContainText('Finished · 1 of 1 file');
  await page.reload();
  const row = page.getByRole('row', { name: /dot\.png/ });
  const thumb = row.locator('img');
  await expect(thumb).toBeVisible();
  await expect.poll(() => thumb.evaluate((img) => img.complete && img.naturalWidth)).toBeGreaterThan(0);

  // Rename the vault to markup (through the server function, as the page's own code would).
  const vaultId = page.url().split('/vaults/')[1].split('?')[0];
  const name = '</title><img src=x onerror=alert(document.domain)>';
  const renamed = await page.request.post('/api/rename_vault', {
    form: { vault_id: vaultId, name },
    headers: { origin: new URL(page.url()).origin },
  });
  expect(renamed.status()).toBe(200);
  await page.reload();
  await expect(page.getByRole('heading', { level: 1, name })).toBeVisible();
  await expect(page).toHaveTitle(`${name} — Nexus Deep Storage`);
  // Hydrated: the list reacts to a click.
  await row.getByRole('checkbox').check();
  await expect(page.getByTestId('selected-count')).toHaveText('1 selected');
  await page.screenshot({ path: testInfo.outputPath('markup-vault.png'), fullPage: true });

  expect(dialogs).toEqual([]);
  expect(violations).toEqual([]);
});
