// Teams as people use them: an owner makes a team (its name with markup stays text) and
// invites a viewer by email; the viewer opens the link without an account, creates one,
// comes back to the invitation and joins; the header's switcher shows the team; the viewer
// can list the team's vault but not upload into it; the switcher goes back to their own.
const { test, expect } = require('@playwright/test');
const { alive, createAccount, lastMailLink } = require('../support');

test('invite, accept, switch workspace, and a viewer cannot upload', async ({ page, browser }, testInfo) => {
  const stamp = Date.now();
  const owner = `owner-${stamp}@example.com`;
  const viewer = `viewer-${stamp}@example.com`;
  const name = `Acme <b>${stamp}</b>`;
  const dialogs = [];
  page.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss(); });
  await createAccount(page, owner);

  await page.goto('/team');
  await page.getByLabel('Team name').fill(name);
  await page.getByRole('button', { name: 'Make the team' }).click();
  await expect(page).toHaveURL(/\/team$/);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(name);
  await expect(page.locator('#workspace-switch option:checked')).toHaveText(name);
  await alive(page);

  await page.getByLabel('Email', { exact: true }).fill(viewer);
  await page.getByLabel('Role', { exact: true }).selectOption('viewer');
  await page.getByRole('button', { name: 'Send invitation' }).click();
  await expect(page.getByText(`Invitation sent to ${viewer}`)).toBeVisible();
  await expect(page.getByTestId('invite-row')).toContainText(viewer);
  await page.screenshot({ path: testInfo.outputPath('team.png'), fullPage: true });

  // The invited person has no account yet.
  const ctx = await browser.newContext();
  const p2 = await ctx.newPage();
  p2.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss(); });
  await p2.goto(lastMailLink(viewer));
  await expect(p2.getByText('You are invited to the team')).toContainText(name);
  await p2.getByRole('link', { name: 'Create an account' }).click();
  await expect(p2).toHaveURL(/\/sign-up\?next=/);
  await p2.getByLabel('Email').fill(viewer);
  await p2.getByLabel('Password').fill('correct horse battery');
  await p2.getByRole('button', { name: 'Create account' }).click();
  await expect(p2).toHaveURL(/\/sign-in\?signed_up=1&next=/);
  await p2.getByLabel('Email').fill(viewer);
  await p2.getByLabel('Password', { exact: true }).fill('correct horse battery');
  await p2.getByRole('button', { name: 'Sign in' }).click();
  await expect(p2).toHaveURL(/\/invite\?token=/);
  await p2.getByRole('button', { name: 'Join the team' }).click();
  await expect(p2).toHaveURL(/\/vaults$/);
  await expect(p2.locator('#workspace-switch option:checked')).toHaveText(name);
  await expect(p2.getByRole('link', { name: 'Team vault' })).toBeVisible();
  await expect(p2.getByRole('link', { name: 'My vault' })).toHaveCount(0);

  // A viewer lists the team's vault but is offered no upload, and the server refuses one.
  await p2.getByRole('link', { name: 'Team vault' }).click();
  await expect(p2.getByText('This folder is empty.')).toBeVisible();
  await expect(p2.getByTestId('viewer-note')).toContainText('You are a viewer');
  await expect(p2.getByLabel('Choose files')).toHaveCount(0);
  await expect(p2.getByRole('button', { name: 'Delete vault' })).toHaveCount(0);
  await expect(p2.getByRole('button', { name: 'New folder' })).toHaveCount(0);
  const vaultId = new URL(p2.url()).pathname.split('/').pop();
  const refused = await p2.request.post('/api/start_upload', {
    headers: { Origin: new URL(p2.url()).origin },
    data: { req: { vault_id: vaultId, name: 'nope.txt', size: 10, content_type: 'text/plain', folder_path: '', last_modified: 0 } },
  });
  expect(refused.status()).toBe(403);
  expect(await refused.text()).toContain('needs the member role');
  await p2.screenshot({ path: testInfo.outputPath('viewer.png'), fullPage: true });

  // The owner sees the viewer as a member now.
  await page.reload();
  await expect(page.getByTestId('member-row').filter({ hasText: viewer })).toContainText('Viewer');

  // Back to their own workspace with the switcher.
  await p2.locator('#workspace-switch').selectOption({ index: 0 });
  await p2.getByRole('button', { name: 'Switch' }).click();
  await expect(p2).toHaveURL(/\/vaults$/);
  await expect(p2.getByRole('link', { name: 'My vault' })).toBeVisible();
  await expect(p2.getByRole('link', { name: 'Team vault' })).toHaveCount(0);
  expect(dialogs).toEqual([]);
  await ctx.close();
});
