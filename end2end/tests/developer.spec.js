// The Developer page as a developer uses it: the plan gate, a key made and its secret seen
// once, used against the API, revoked; a webhook endpoint added, a test event delivered to a
// real receiver (signed), and the delivery listed.
const { test, expect } = require('@playwright/test');
const crypto = require('crypto');
const http = require('http');
const { signUp, alive } = require('../support');

// A webhook receiver on a free port: keeps each request's headers and body.
function receiver() {
  const got = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      got.push({ headers: req.headers, body });
      res.writeHead(200);
      res.end('ok');
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, got, port: server.address().port })));
}

test('make a key, see it once, use it, revoke it; add a webhook and see a delivery', async ({ page, request }, testInfo) => {
  // Revoking a key and deleting an endpoint ask first: yes.
  page.on('dialog', (d) => d.accept());
  await signUp(page, 'developer');
  await page.getByRole('link', { name: 'Developer', exact: true }).click();
  await expect(page.getByRole('heading', { name: 'Developer', level: 1 })).toBeVisible();
  await alive(page);
  await expect(page.getByText('No keys yet.')).toBeVisible();

  // The Free plan has no API: the page says so and links to the plans.
  await page.getByLabel('Key name').fill('Nightly <b>backup</b>');
  await page.getByRole('button', { name: 'Create key' }).click();
  await expect(page.getByRole('alert')).toContainText('does not include API access');
  await page.getByRole('link', { name: 'See the plans' }).click();
  await page.getByRole('button', { name: 'Choose Plus' }).click();
  await page.getByRole('button', { name: 'Subscribe' }).click();
  await expect(page.getByTestId('current-plan')).toHaveText('Plus', { timeout: 30_000 });

  await page.goto('/developer');
  // Typing before the page is hydrated would be lost to it.
  await alive(page);
  await page.getByLabel('Key name').fill('Nightly <b>backup</b>');
  await page.getByRole('checkbox', { name: /files:write/ }).check();
  await page.getByRole('button', { name: 'Create key' }).click();
  const secretBox = page.getByLabel('New key secret');
  await expect(secretBox).toBeVisible();
  const secret = await secretBox.inputValue();
  expect(secret).toMatch(/^nxs_live_[0-9a-f]{64}$/);
  const row = page.getByTestId('key-row').filter({ hasText: 'Nightly <b>backup</b>' });
  await expect(row).toContainText(secret.slice(0, 17));
  await expect(row).toContainText('files:read, files:write');
  await page.screenshot({ path: testInfo.outputPath('developer-key.png'), fullPage: true });
  await page.getByRole('button', { name: 'I have copied it' }).click();
  await expect(page.getByLabel('New key secret')).toHaveCount(0);
  await page.reload();
  await alive(page);
  await expect(page.getByText(secret)).toHaveCount(0);

  // The key works against the API, and its last use shows.
  const me = await request.get('/api/v1/me', { headers: { Authorization: `Bearer ${secret}` } });
  expect(me.status()).toBe(200);
  await page.reload();
  await alive(page);
  await expect(row).not.toContainText('Never');

  // Revoked: refused at once.
  await row.getByRole('button', { name: 'Revoke' }).click();
  await expect(row).toContainText('Revoked');
  const after = await request.get('/api/v1/me', { headers: { Authorization: `Bearer ${secret}` } });
  expect(after.status()).toBe(401);

  // A webhook endpoint: a test event reaches the receiver, signed, and is listed delivered.
  const rx = await receiver();
  try {
    await page.getByLabel('Endpoint URL').fill(`http://127.0.0.1:${rx.port}/hook`);
    await page.getByRole('checkbox', { name: /file\.deleted/ }).check();
    await page.getByRole('button', { name: 'Add endpoint' }).click();
    const endpoint = page.getByTestId('endpoint');
    await expect(endpoint).toContainText(`127.0.0.1:${rx.port}/hook`);
    await expect(endpoint).toContainText('No deliveries yet.');
    await endpoint.getByRole('button', { name: 'Show' }).click();
    const signing = await endpoint.getByTestId('signing-secret').innerText();
    expect(signing).toMatch(/^whsec_/);
    await endpoint.getByRole('button', { name: 'Send a test event' }).click();
    await expect.poll(() => rx.got.length, { timeout: 20_000 }).toBe(1);
    const { headers, body } = rx.got[0];
    const [t, v1] = headers['nexus-signature'].split(',').map((p) => p.split('=')[1]);
    const expected = crypto.createHmac('sha256', signing).update(`${t}.${body}`).digest('hex');
    expect(v1).toBe(expected);
    expect(JSON.parse(body).type).toBe('ping');
    await expect(async () => {
      await endpoint.getByRole('button', { name: 'Refresh deliveries' }).click();
      await expect(endpoint.getByTestId('delivery')).toContainText('Delivered', { timeout: 1000 });
    }).toPass({ timeout: 20_000 });
    await expect(endpoint.getByTestId('delivery')).toContainText('200');
    await page.screenshot({ path: testInfo.outputPath('developer-webhook.png'), fullPage: true });
    // Redeliver: the same event once more.
    await endpoint.getByRole('button', { name: 'Redeliver' }).click();
    await expect.poll(() => rx.got.length, { timeout: 20_000 }).toBe(2);
    expect(rx.got[1].headers['nexus-event-id']).toBe(rx.got[0].headers['nexus-event-id']);
  } finally {
    rx.server.close();
  }
});

test('the API reference renders from the generated document', async ({ page }, testInfo) => {
  await page.goto('/docs/api');
  await expect(page.getByRole('heading', { name: 'Nexus Deep Storage API', level: 1 })).toBeVisible();
  await expect(page.getByRole('link', { name: 'POST /api/v1/uploads', exact: true })).toBeVisible();
  await expect(page.getByRole('heading', { name: 'Verifying webhooks' })).toBeVisible();
  await page.screenshot({ path: testInfo.outputPath('api-docs.png') });
});
