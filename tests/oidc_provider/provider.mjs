// A real OpenID Connect provider for Sextant's single sign-on browser test: panva's certified
// `oidc-provider` (https://github.com/panva/node-oidc-provider, docs/README.md "Configuration options"),
// not a mock.  It serves discovery (/.well-known/openid-configuration), the authorization endpoint with
// its own sign-in and consent pages (the library's devInteractions), the token endpoint
// (client_secret_basic / client_secret_post), userinfo and the JWKS the ID tokens are signed with.
//
// Started by tests/e2e/test_sso_browser.py as `node provider.mjs` with one JSON object on stdin:
//   {"client_id": ..., "client_secret": ..., "redirect_uris": [...], "accounts": {"login": {claims}}}
// It binds 127.0.0.1 on a port the OS chooses and prints one line {"issuer": "http://127.0.0.1:PORT"}.
// Installed by tools/test_prereqs.sh (npm ci in this folder).
import http from 'node:http';
import { text } from 'node:stream/consumers';

import Provider from 'oidc-provider';

const config = JSON.parse(await text(process.stdin));

const server = http.createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: [{
    client_id: config.client_id,
    client_secret: config.client_secret,
    redirect_uris: config.redirect_uris,
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_post',
  }],
  // The account's claims, released by scope: `groups` is the claim Sextant maps to a role and teams.
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'given_name', 'family_name', 'preferred_username'],
    groups: ['groups'],
  },
  async findAccount(ctx, sub) {
    const claims = config.accounts[sub];
    if (!claims) return undefined;
    return { accountId: sub, async claims() { return { sub, ...claims }; } };
  },
  cookies: { keys: ['sextant-test-oidc-provider-cookie-key'] },
  features: { devInteractions: { enabled: true } },
  pkce: { required: () => false },
});
provider.proxy = false;

server.on('request', provider.callback());
process.stdout.write(`${JSON.stringify({ issuer })}\n`);
process.on('SIGTERM', () => server.close(() => process.exit(0)));
