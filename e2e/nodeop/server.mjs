// node-oidc-provider on 127.0.0.1 for authcli's end-to-end tests: an
// OpenID Certified provider that authcli's authors did not write, with its
// stock development login and consent pages. It is strict where others are
// lax: offline_access is granted only with prompt=consent (OpenID Connect
// Core §11), refresh tokens rotate for public clients, PKCE is required.
//
// Usage: node server.mjs   (prints "ISSUER <url>" once listening)
import http from 'node:http';
import Provider from 'oidc-provider';

const clientID = process.env.NODEOP_CLIENT_ID || 'authcli-e2e';
const redirectURIs = (process.env.NODEOP_REDIRECT_URIS || 'http://127.0.0.1/callback').split(' ');

const server = http.createServer();
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, {
    clients: [{
      client_id: clientID,
      application_type: 'native', // loopback redirects on any port (RFC 8252 §7.3)
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: redirectURIs,
    }],
    scopes: ['openid', 'offline_access', 'email', 'profile'],
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    async findAccount(_ctx, sub) {
      return {
        accountId: sub,
        async claims() { return { sub, email: `${sub}@example.com`, email_verified: true, name: sub }; },
      };
    },
    rotateRefreshToken: true,
    // The stock pages are for development; say so, as the provider warns.
    features: { devInteractions: { enabled: true } },
  });
  provider.on('server_error', (_ctx, err) => console.error('server_error', err));
  server.on('request', provider.callback());
  console.log(`ISSUER ${issuer}`);
});
