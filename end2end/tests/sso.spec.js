// Single sign-on against a real OpenID Connect provider (the `oidc-provider` package from npm,
// started by scripts/test at NEXUS_E2E_OIDC): an owner sets up their team's provider on the
// team page (a wrong issuer is refused with the reason); someone new from the domain signs in
// through the provider (its login and consent pages), gets an account, joins the team and
// lands in its vault; their SSO session reaches the team only (the account page says why it
// cannot manage the account); a replayed callback, an address the provider has not verified
// and an address outside the domain are all refused with a sentence on the sign-in page.
const { test, expect } = require('@playwright/test');
const { alive, createAccount } = require('../support');

const issuer = process.env.NEXUS_E2E_OIDC;

// Signs in at the provider's development pages (any password), and consents.
async function providerSignIn(page, login) {
  await expect(page).toHaveURL(new RegExp(`^${issuer}/interaction/`));
  await page.locator('input[name="login"]').fill(login);
  await page.locator('input[name="password"]').fill('anything');
  await page.getByRole('button', { name: 'Sign-in' }).click();
  await expect(page).toHaveURL(new RegExp(`^${issuer}/interaction/`));
  await page.getByRole('button', { name: 'Continue' }).click();
}

test('an owner sets up SSO; someone new signs in through the provider and joins', async ({ page, browser }, testInfo) => {
  expect(issuer, 'NEXUS_E2E_OIDC names the test provider').toBeTruthy();
  const stamp = Date.now();
  const domain = `sso-${stamp}.test`;
  const owner = `owner-${stamp}@example.com`;
  const team = `SSO <i>team</i> ${stamp}`;
  await createAccount(page, owner);
  await page.goto('/team');
  await page.getByLabel('Team name').fill(team);
  await page.getByRole('button', { name: 'Make the team' }).click();
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(team);
  await alive(page);

  const panel = page.locator('section.sso-panel');
  await expect(panel.getByTestId('sso-redirect-uri')).toHaveText(/\/sso\/callback$/);
  const signInUrl = await panel.getByTestId('sso-sign-in-url').textContent();
  // A wrong issuer: refused, with what went wrong.
  await panel.getByLabel('Issuer URL').fill('http://127.0.0.1:9/nowhere');
  await panel.getByLabel('Client id').fill('nexus');
  await panel.getByLabel('Client secret').fill('nexus-test-secret');
  await panel.getByLabel('Email domain').fill(domain);
  await panel.getByRole('button', { name: 'Set up SSO' }).click();
  await expect(panel.getByRole('alert')).toContainText('Could not read the provider');
  // The right one.
  await panel.getByLabel('Issuer URL').fill(issuer);
  await panel.getByRole('button', { name: 'Set up SSO' }).click();
  await expect(panel.getByText('Saved. The provider answered.')).toBeVisible();
  await expect(panel.getByRole('button', { name: 'Turn SSO off' })).toBeVisible();
  await expect(panel.getByLabel('Client secret')).toHaveValue('');
  await page.screenshot({ path: testInfo.outputPath('sso-settings.png'), fullPage: true });

  // Someone new from the domain, in another browser.
  const ana = `ana@${domain}`;
  const ctx = await browser.newContext();
  const p2 = await ctx.newPage();
  await p2.goto('/sign-in');
  await p2.getByRole('link', { name: "Use your company's single sign-on (SSO)" }).click();
  await expect(p2).toHaveURL(/\/sign-in\/sso/);
  await p2.getByLabel('Work email').fill(ana);
  let callback = null;
  p2.on('request', (r) => { if (r.url().includes('/sso/callback?')) callback = r.url(); });
  await p2.getByRole('button', { name: 'Continue' }).click();
  await providerSignIn(p2, ana);
  await expect(p2).toHaveURL(/\/vaults$/);
  await expect(p2.locator('header')).toContainText(ana);
  await expect(p2.locator('#workspace-switch option')).toHaveCount(1);
  await expect(p2.locator('#workspace-switch option:checked')).toHaveText(team);
  await expect(p2.getByRole('link', { name: 'Team vault' })).toBeVisible();
  await p2.screenshot({ path: testInfo.outputPath('sso-signed-in.png'), fullPage: true });

  // The SSO session does not manage the account.
  await p2.goto('/account');
  await expect(p2.getByText('signed in through your company').first()).toBeVisible();

  // The owner sees the newcomer as a member, and the sign-in in the audit log.
  await page.goto('/team');
  await expect(page.getByTestId('member-row').filter({ hasText: ana })).toContainText('Member');
  await page.goto('/audit');
  await expect(page.getByText(`SSO (${issuer})`).first()).toBeVisible();

  // The callback again (its state is used): refused, no session made.
  expect(callback).toBeTruthy();
  await p2.goto(callback);
  await expect(p2).toHaveURL(/\/sign-in\/sso\?error=state$/);
  await expect(p2.getByTestId('sso-error')).toContainText('Start it again');

  // Not verified by the provider; then an address outside the domain (through the team's link).
  const ctx3 = await browser.newContext();
  const p3 = await ctx3.newPage();
  await p3.goto('/sign-in/sso');
  await p3.getByLabel('Work email').fill(`unverified-bo@${domain}`);
  await p3.getByRole('button', { name: 'Continue' }).click();
  await providerSignIn(p3, `unverified-bo@${domain}`);
  await expect(p3).toHaveURL(/\/sign-in\/sso\?error=unverified$/);
  await expect(p3.getByTestId('sso-error')).toContainText('has not verified your email');
  // (A new browser: the provider remembers who signed in to it.)
  const ctx4 = await browser.newContext();
  const p4 = await ctx4.newPage();
  await p4.goto(new URL(signInUrl).pathname + new URL(signInUrl).search);
  await providerSignIn(p4, `eve-${stamp}@elsewhere.test`);
  await expect(p4).toHaveURL(/\/sign-in\/sso\?error=domain$/);
  await expect(p4.getByTestId('sso-error')).toContainText('not in the domain');
  await p4.screenshot({ path: testInfo.outputPath('sso-refused.png'), fullPage: true });
  for (const p of [p3, p4]) {
    await p.goto('/vaults');
    await expect(p).toHaveURL(/\/sign-in\?next=/);
  }
  await ctx.close();
  await ctx3.close();
  await ctx4.close();
});
