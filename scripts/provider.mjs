// A local OpenID Provider for the demo and the tests: oidc-provider (npm),
// a certified implementation, on 127.0.0.1, with its development login pages.
import http from "node:http";
import Provider, { errors } from "oidc-provider";

const AUTH0_ROUTES = {
  authorization: "/authorize",
  token: "/oauth/token",
  userinfo: "/userinfo",
  jwks: "/.well-known/jwks.json",
  end_session: "/v2/logout",
};

function account(id) {
  const name = id.charAt(0).toUpperCase() + id.slice(1);
  return {
    accountId: id,
    async claims() {
      return {
        sub: id,
        name,
        given_name: name,
        email: `${id}@example.com`,
        email_verified: true,
        picture: `https://example.com/avatars/${encodeURIComponent(id)}.png`,
      };
    },
  };
}

/**
 * Starts a provider. Options:
 * - port (0: any free port), auth0 (Auth0's paths and an issuer ending in "/"),
 * - clients: oidc-provider client metadata (public clients: token_endpoint_auth_method "none"),
 * - corsOrigins: more origins allowed to call the token/userinfo endpoints,
 * - ttl: oidc-provider ttl overrides, e.g. { AccessToken: 60 },
 * - jwks: { keys: [private JWKs] } to sign with (default: oidc-provider's development key),
 * - features: oidc-provider feature settings merged over these defaults,
 * - config: more oidc-provider configuration (e.g. issueRefreshToken),
 * - routes: { path: (req, res) => void } served beside the provider (an API).
 * Resolves to { issuer, url, provider, close() }.
 */
export async function startProvider({ port = 0, auth0 = false, clients = [], corsOrigins = [], ttl = {}, jwks, features = {}, config = {}, routes = {} } = {}) {
  let handler = (_req, res) => res.writeHead(503).end();
  const server = http.createServer((req, res) => {
    const route = routes[new URL(req.url ?? "/", "http://x").pathname];
    if (route) return Promise.resolve(route(req, res)).catch(() => res.headersSent || res.writeHead(500).end());
    return handler(req, res);
  });
  await new Promise((resolve) => server.listen(port, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${server.address().port}`;
  const issuer = auth0 ? `${url}/` : url;

  const provider = new Provider(issuer, {
    clients,
    cookies: { keys: ["oidc-pkce local dev provider: not a secret"] },
    claims: {
      openid: ["sub"],
      profile: ["name", "given_name", "picture"],
      email: ["email", "email_verified"],
    },
    // As Auth0 does: profile claims in the ID token, not only at /userinfo.
    conformIdTokenClaims: false,
    findAccount: (_ctx, id) => account(id),
    clientBasedCORS(_ctx, origin, client) {
      if (corsOrigins.includes(origin)) return true;
      return client.redirectUris.some((uri) => URL.parse(uri)?.origin === origin);
    },
    features: {
      devInteractions: { enabled: true },
      rpInitiatedLogout: { enabled: true },
      revocation: { enabled: true },
      ...features,
    },
    ttl: { AccessToken: 3600, IdToken: 3600, ...ttl },
    ...(auth0 ? { routes: AUTH0_ROUTES } : {}),
    ...(jwks ? { jwks } : {}),
    ...config,
    renderError(ctx, out) {
      ctx.type = "html";
      ctx.body = `<!doctype html><title>Error</title><h1>${out.error}</h1><p>${out.error_description ?? ""}</p>`;
    },
  });
  // No console noise for expected errors in tests.
  provider.on("server_error", (_ctx, err) => console.error("[provider] server_error", err));
  handler = provider.callback();

  return {
    issuer,
    url,
    provider,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

/**
 * The `resourceIndicators` feature (RFC 8707) for APIs named by `resources`
 * (absolute URIs): a token asked for one of them is a JWT whose `aud` is that
 * URI; any other resource is invalid_target; a request that names none gets
 * the session's own token (for /userinfo).
 */
export function resourceIndicators(resources) {
  return {
    enabled: true,
    defaultResource: () => undefined,
    useGrantedResource: () => false,
    getResourceServerInfo: (_ctx, resource) => {
      if (!resources.includes(resource)) throw new errors.InvalidTarget();
      return { scope: "read", audience: resource, accessTokenFormat: "jwt", jwt: { sign: { alg: "RS256" } } };
    },
  };
}

/** A public client with PKCE, as a browser app or a Capacitor app registers. */
export function publicClient(clientId, redirectUris, extra = {}) {
  return {
    client_id: clientId,
    token_endpoint_auth_method: "none",
    grant_types: ["authorization_code", "refresh_token"],
    response_types: ["code"],
    redirect_uris: redirectUris,
    ...extra,
  };
}
