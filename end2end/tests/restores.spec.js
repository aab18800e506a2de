// A restore as a person lives it: upload real bytes, move the file to Deep Archive, see the
// download refused with the reason, compare the tiers in the restore dialog and pick Bulk,
// follow it on the Restores page until the (fast, embedded) restore is ready, get the
// notification and the mail (outbox page), download, and check the SHA-256.
const { test, expect } = require('@playwright/test');
const { signUp, scratchDir, removeScratch, downloadSha256, bodySha256 } = require('../support');

test.afterEach(removeScratch);
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');

const row = (page, name) => page.getByRole('row', { name: new RegExp(name.replace('.', '\\.')) });
const clickRow = (page, name) => row(page, name).locator('td').nth(3).click();

test('upload, Deep Archive, refused download, Bulk restore with its estimate, notified, download, same SHA-256', async ({ page }, testInfo) => {
  const dir = scratchDir('nexus-restore-');
  const bytes = crypto.randomBytes(3 * 1024 * 1024 + 123);
  const sha = crypto.createHash('sha256').update(bytes).digest('hex');
  fs.writeFileSync(path.join(dir, 'scan-1998.tif'), bytes);

  await signUp(page, 'restore');
  await page.getByLabel('Choose files').setInputFiles(path.join(dir, 'scan-1998.tif'));
  await expect(page.getByTestId('queue-status')).toContainText('Finished · 1 of 1 file');

  // Into Deep Archive.
  await clickRow(page, 'scan-1998.tif');
  await page.getByRole('button', { name: 'Change class…' }).click();
  const classes = page.getByRole('dialog', { name: 'Change storage class' });
  await classes.getByLabel('Glacier Deep Archive').check();
  await classes.getByRole('button', { name: 'Move to Glacier Deep Archive' }).click();
  await expect(row(page, 'scan-1998.tif')).toContainText('Archived: restore to download');

  // The download is refused, with the reason.
  const href = await row(page, 'scan-1998.tif').getByRole('link', { name: 'scan-1998.tif' }).getAttribute('href');
  const id = new URL(href, page.url()).searchParams.get('file');
  const refused = await page.request.get(`/files/${id}/download`, { maxRedirects: 0 });
  expect(refused.status()).toBe(409);
  expect(await refused.text()).toContain('archived in Glacier Deep Archive: restore it before downloading');

  // The restore dialog compares the tiers for exactly this file.
  await clickRow(page, 'scan-1998.tif');
  await page.getByRole('button', { name: 'Restore…' }).click();
  const dialog = page.getByRole('dialog', { name: 'Restore from archive' });
  await expect(dialog.getByTestId('restore-summary')).toHaveText('1 archived file to restore · 3.1 MB.');
  await expect(dialog.getByRole('row', { name: /Expedited/ })).toContainText('Glacier Deep Archive does not offer Expedited restores.');
  await expect(dialog.getByLabel('Expedited')).toBeDisabled();
  const bulk = dialog.getByRole('row', { name: /Bulk/ });
  await expect(bulk).toContainText('at the latest');
  await expect(bulk).toContainText('<$0.01');
  await dialog.getByLabel('Keep the restored copy for').fill('3');
  await dialog.getByLabel('Keep the restored copy for').dispatchEvent('change');
  await dialog.getByLabel('Bulk').check();
  await page.screenshot({ path: testInfo.outputPath('restore-dialog.png') });
  await dialog.getByRole('button', { name: 'Restore with Bulk' }).click();
  await expect(page.getByText('1 file asked to come back')).toBeVisible();
  await expect(row(page, 'scan-1998.tif')).toContainText('Restoring: download when ready');

  // The Restores page follows it until it is ready (it looks again by itself).
  await page.getByRole('link', { name: 'Restores', exact: true }).click();
  await expect(page).toHaveURL(/\/restores$/);
  const request = page.getByTestId('restore-row').first();
  await expect(request).toContainText('scan-1998.tif');
  await expect(request).toContainText('Bulk');
  await expect(request.getByTestId('restore-state')).toHaveText('In progress');
  await expect(request.getByTestId('restore-state')).toHaveText('Ready', { timeout: 60_000 });
  await page.screenshot({ path: testInfo.outputPath('restores-page.png') });

  // Notified in the app (the header's count) and by mail (the development outbox).
  await expect(page.getByTestId('unread-count')).toHaveText('1', { timeout: 15_000 });
  await page.getByRole('link', { name: /Notifications/ }).click();
  await expect(page.getByTestId('notification').first()).toContainText('Restore ready: scan-1998.tif');
  await page.goto('/outbox');
  await expect(page.getByTestId('mail').first()).toContainText('Restore ready: scan-1998.tif');
  await expect(page.getByTestId('mail').first()).toContainText('/restores?request=');

  // From the notification to the request's files, and the bytes back, equal.
  await page.goto('/notifications');
  await page.getByRole('link', { name: 'Restore ready: scan-1998.tif' }).click();
  await expect(page).toHaveURL(/\/restores\?request=/);
  const files = page.getByRole('region', { name: 'Files of this restore' });
  await expect(files).toContainText('restored until');
  const link = files.getByRole('link', { name: 'Download scan-1998.tif' });
  const dl = await page.request.get(await link.getAttribute('href'));
  expect(dl.status()).toBe(200);
  expect(await bodySha256(page, dl)).toBe(sha);

  // The vault says so too.
  await page.goBack();
  await page.goBack();
  await page.goto(href.split('?')[0]);
  await expect(row(page, 'scan-1998.tif')).toContainText('Restored until');
  await expect(row(page, 'scan-1998.tif').getByRole('link', { name: 'Download scan-1998.tif' })).toBeVisible();
  fs.rmSync(dir, { recursive: true, force: true });
});
