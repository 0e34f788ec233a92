// A real OpenID Connect provider for the console's sign-in tests: the npm package
// `oidc-provider` (version pinned by tests/web/oidc_provider.py), with its development
// interactions (any login and password is accepted, then a consent screen), PKCE required with
// S256, and a signing key made at start whose public half is written to the JWKS file Obhvat
// trusts. Accounts name their Obhvat organisation and roles; the `obhvat` scope puts them in the
// ID token. Usage: node oidc_provider.mjs '<json configuration>'; prints "ready <issuer>" when listening.
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';

import Provider from 'oidc-provider';

const config = JSON.parse(process.argv[2]);
const issuer = `http://127.0.0.1:${config.port}`;

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signing = { ...privateKey.export({ format: 'jwk' }), kid: 'test-idp-key', use: 'sig', alg: 'RS256' };
const { kty, n, e, kid, use, alg } = signing;
writeFileSync(config.jwksFile, JSON.stringify({ keys: [{ kty, n, e, kid, use, alg }] }));

const accounts = config.accounts;

const provider = new Provider(issuer, {
  clients: [{
    client_id: config.clientId,
    client_secret: config.clientSecret,
    redirect_uris: [config.redirectUri],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: 'RS256',
  }],
  jwks: { keys: [signing] },
  pkce: { methods: ['S256'], required: () => true },
  scopes: ['openid', 'obhvat'],
  claims: { openid: ['sub'], obhvat: ['obhvat_org', 'obhvat_roles'] },
  conformIdTokenClaims: false,
  features: { devInteractions: { enabled: true } },
  cookies: { keys: ['obhvat-test-cookie-key'] },
  async findAccount(ctx, id) {
    const account = accounts[id];
    if (!account) return undefined;
    return {
      accountId: id,
      async claims() {
        return { sub: id, obhvat_org: account.org, obhvat_roles: account.roles };
      },
    };
  },
});

provider.listen(config.port, '127.0.0.1', () => {
  process.stdout.write(`ready ${issuer}\n`);
});
