// The Free plan's limits as a person meets them: a file bigger than the plan's storage is
// refused before any byte moves, with the reason and a way to the plans; Expedited restores
// are shown as not included. (The e2e server runs on the default Free plan.)
const { test, expect } = require('@playwright/test');
const { signUp, scratchDir, removeScratch, downloadSha256 } = require('../support');

test.afterEach(removeScratch);
const fs = require('fs');
const path = require('path');

const row = (page, name) => page.getByRole('row', { name: new RegExp(name.replace('.', '\\.')) });

test('an upload past the Free plan and an Expedited restore are refused up front', async ({ page }, testInfo) => {
  const dir = scratchDir('nexus-limits-');
  // 11 GiB without writing 11 GiB: a sparse file.
  const big = path.join(dir, 'whole-disk.img');
  fs.closeSync(fs.openSync(big, 'w'));
  fs.truncateSync(big, 11 * 1024 ** 3);
  fs.writeFileSync(path.join(dir, 'letter.txt'), 'a small file');
  await signUp(page, 'limits');

  await page.getByLabel('Choose files').setInputFiles(big);
  await expect(page.getByText('would take you past the 10 GB of the Free plan')).toBeVisible();
  await expect(page.getByRole('link', { name: 'See the plans' }).first()).toBeVisible();
  await expect(page.getByTestId('queue-status')).toContainText('1 failed');
  await page.screenshot({ path: testInfo.outputPath('over-quota.png') });

  await page.getByLabel('Choose files').setInputFiles(path.join(dir, 'letter.txt'));
  await expect(row(page, 'letter.txt')).toBeVisible();
  await row(page, 'letter.txt').locator('td').nth(3).click();
  await page.getByRole('button', { name: 'Change class…' }).click();
  const classes = page.getByRole('dialog', { name: 'Change storage class' });
  await classes.getByLabel('Glacier Flexible Retrieval').check();
  await classes.getByRole('button', { name: 'Move to Glacier Flexible Retrieval' }).click();
  await expect(row(page, 'letter.txt')).toContainText('Archived: restore to download');
  await row(page, 'letter.txt').locator('td').nth(3).click();
  await page.getByRole('button', { name: 'Restore…' }).click();
  const dialog = page.getByRole('dialog', { name: 'Restore from archive' });
  await expect(dialog.getByRole('row', { name: /Expedited/ })).toContainText('Not part of the Free plan.');
  await expect(dialog.getByLabel('Expedited')).toBeDisabled();
  await expect(dialog.getByLabel('Standard')).toBeEnabled();
  fs.rmSync(dir, { recursive: true, force: true });
});
