// A stand-in for Feide's OpenID Connect provider (auth.dataporten.no), on loopback, for
// tests/test_hub_feide.py. Built on oidc-provider (an OpenID-certified provider from npm,
// https://github.com/panva/node-oidc-provider/blob/v8.x/docs/README.md), configured the way
// Feide documents its provider, so the hub talks to it exactly as to Feide, with only the
// base address changed (SAMSKAPING_FEIDE_ADRESSE in deploy/auth/feide.py):
//
//   Endpoints, as Feide's discovery document https://auth.dataporten.no/.well-known/openid-configuration
//   lists them ("Obtaining tokens with Feide",
//   https://docs.feide.no/service_providers/openid_connect/feide_obtaining_tokens.html):
//     authorization /oauth/authorization, token /oauth/token, userinfo /openid/userinfo,
//     keys /openid/jwks.
//   Flow ("OpenID Connect details", https://docs.feide.no/reference/oauth_oidc/openid_connect_details.html):
//     authorization code, ID token signed RS256, PKCE with S256 allowed but not required; the
//     ID token holds only what the standard requires, the rest comes from userinfo.
//   Claims and scopes ("Userinfo", https://docs.feide.no/reference/apis/userinfo.html, and
//   "User IDs", https://docs.feide.no/reference/oauth_oidc/userids.html):
//     sub                      an opaque UUID (scope openid)
//     https://n.feide.no/claims/eduPersonPrincipalName   the Feide name, "ola@uio.no"
//     https://n.feide.no/claims/userid_sec, dataporten-userid_sec   ["feide:ola@uio.no"]
//                              (these three with the attribute group / scope userid-feide)
//     name (profile), email and email_verified, always false at Feide (email)
//   The client authenticates at the token endpoint with client_secret_post (Feide's discovery
//   document lists client_secret_basic and client_secret_post; oauthenticator posts the secret).
//
// Usage: node tests/feide_stand_in.mjs SETTINGS.json
//   SETTINGS.json: {"client_id": ..., "client_secret": ..., "redirect_uri": ..., "accounts": PATH}
//   PATH: a JSON object, sub -> claims ({"https://n.feide.no/claims/eduPersonPrincipalName": ...});
//         read again at every log-in, so a test can add people while the provider runs.
// It listens on a free port on 127.0.0.1 and prints "listening on http://127.0.0.1:PORT".
//
// The log-in and consent pages are oidc-provider's devInteractions: the "login" field takes the
// account's sub (any password); then "Continue" grants the scopes asked for.

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

import Provider from 'oidc-provider';

const settings = JSON.parse(readFileSync(process.argv[2], 'utf8'));

function accounts() {
  return JSON.parse(readFileSync(settings.accounts, 'utf8'));
}

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), alg: 'RS256', use: 'sig', kid: 'feide-stand-in' };

const FEIDE_NAME = 'https://n.feide.no/claims/eduPersonPrincipalName';
const USERID_SEC = 'https://n.feide.no/claims/userid_sec';

const configuration = {
  clients: [{
    client_id: settings.client_id,
    client_secret: settings.client_secret,
    redirect_uris: [settings.redirect_uri],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_post',
    id_token_signed_response_alg: 'RS256',
  }],
  routes: {
    authorization: '/oauth/authorization',
    token: '/oauth/token',
    userinfo: '/openid/userinfo',
    jwks: '/openid/jwks',
  },
  // Scope (Feide: attribute group) -> the claims it releases.
  claims: {
    openid: ['sub'],
    'userid-feide': [FEIDE_NAME, USERID_SEC, 'dataporten-userid_sec'],
    profile: ['name', 'picture'],
    email: ['email', 'email_verified'],
  },
  scopes: ['openid', 'userid-feide', 'profile', 'email'],
  subjectTypes: ['public'],
  responseTypes: ['code'],
  pkce: { methods: ['S256'], required: () => false },
  clientAuthMethods: ['client_secret_basic', 'client_secret_post'],
  enabledJWA: { idTokenSigningAlgValues: ['RS256'] },
  conformIdTokenClaims: true,
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  features: { devInteractions: { enabled: true } },
  async findAccount(ctx, sub) {
    const claims = accounts()[sub];
    if (!claims) {
      return undefined;
    }
    return {
      accountId: sub,
      async claims() {
        return { ...claims, sub };
      },
    };
  },
};

// The issuer is the address itself, as https://auth.dataporten.no is Feide's: bind first.
const server = createServer();
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, configuration);
  server.on('request', provider.callback());
  console.log(`listening on ${issuer}`);
});
