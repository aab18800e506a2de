// A real OpenID Connect provider for the tests: the certified `oidc-provider` package from
// npm (not a hand-made fake), with its development login pages (any login name and password
// sign in; the login name is the person's email and subject — except one starting with
// "unverified", whose email the provider says it has not verified).
//
//   node end2end/oidc-provider.mjs <port> <redirect uri>...
//
// Clients: `nexus` / `nexus-test-secret`, and `nexus-b` / `nexus-b-secret` (a second team).
// Authorization code with PKCE (S256) only; ID tokens signed RS256 with a key made at start.
import crypto from 'node:crypto';
import Provider from 'oidc-provider';

const port = Number(process.argv[2]);
const redirect_uris = process.argv.slice(3);
if (!port || redirect_uris.length === 0) {
  console.error('usage: oidc-provider.mjs <port> <redirect uri>...');
  process.exit(2);
}
const issuer = `http://127.0.0.1:${port}`;
const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const key = { ...privateKey.export({ format: 'jwk' }), kid: 'nexus-test', use: 'sig', alg: 'RS256' };

const client = (client_id, client_secret) => ({
  client_id,
  client_secret,
  redirect_uris,
  grant_types: ['authorization_code'],
  response_types: ['code'],
  token_endpoint_auth_method: 'client_secret_basic',
});

const provider = new Provider(issuer, {
  clients: [client('nexus', 'nexus-test-secret'), client('nexus-b', 'nexus-b-secret')],
  jwks: { keys: [key] },
  pkce: { methods: ['S256'], required: () => true },
  claims: { openid: ['sub'], email: ['email', 'email_verified'] },
  // The ID token carries the email (the app reads it there, not from userinfo).
  conformIdTokenClaims: false,
  cookies: {
    keys: [crypto.randomBytes(32).toString('hex')],
    long: { sameSite: 'lax' },
    short: { sameSite: 'lax' },
  },
  features: { devInteractions: { enabled: true } },
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() {
        return { sub: id, email: id, email_verified: !id.startsWith('unverified') };
      },
    };
  },
});
provider.on('server_error', (ctx, err) => console.error('server_error', err));
provider.listen(port, '127.0.0.1', () => console.log(`oidc-provider at ${issuer}`));
