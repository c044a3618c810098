// oidc-pkce/server: a confidential client behind the app's backend (RFC 10017's
// backend for frontend, or token-mediating backend), on Node 20+ or any runtime
// with fetch and WebCrypto.

/** Where the server keeps its sessions (values encrypted by the server). */
export interface SessionStore {
  get(key: string): Promise<string | null>;
  set(key: string, value: string, ttlMs: number): Promise<void>;
  delete(key: string): Promise<void>;
  /** Sets it only if it is there; true when it was (a session written back is not revived after a logout). Without it, `set` is used. */
  replace?(key: string, value: string, ttlMs: number): Promise<boolean>;
  /** Sets it unless it is there; true when it set it (a lock, a Logout Token's jti). */
  setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean>;
  addToIndex(index: string, member: string, ttlMs: number): Promise<void>;
  members(index: string): Promise<string[]>;
  /** One process only: the server may make its own encryption key. */
  readonly local?: boolean;
}

/** This process's memory: one instance; the sessions end with it. */
export function memoryStore(): SessionStore & { size(): number; close(): void };

/** Redis, shared by several instances: a connected client of `redis` (node-redis 4+) or `ioredis`. */
export function redisStore(client: unknown, options?: { prefix?: string }): SessionStore;

export interface AuthServerOptions {
  /** The OpenID provider's issuer (discovery), or an Auth0 `domain`. */
  issuer?: string;
  domain?: string;
  clientId: string;
  /** With `client_secret_basic` (the default) or `client_secret_post`. */
  clientSecret?: string;
  clientAuthMethod?: "client_secret_basic" | "client_secret_post" | "private_key_jwt";
  /** `private_key_jwt`: the client's private JWK (RSA or P-256), with its `alg` and `kid`. */
  privateKey?: JsonWebKey & { alg?: "RS256" | "PS256" | "ES256"; kid?: string };
  /** This backend's callback route, registered with the provider: `https://app.example.com/auth/callback`. */
  redirectUri: string;
  /** Where the provider's logout returns to (registered with the provider). */
  postLogoutRedirectUri?: string;
  /** The origin of the app's pages: the only one whose requests change anything (CSRF). */
  appOrigin: string;
  /** Default `"openid profile email"`; add `offline_access` for a refresh token (the provider decides whether it gives one). */
  scope?: string;
  /** The API the session's access token is for (Auth0's `audience`, or an RFC 8707 `resource` with `apiParameter: "resource"`). */
  audience?: string;
  apiParameter?: "audience" | "resource";
  /** `"bff"` (default): the browser never holds a token. `"token-mediating"`: it gets access tokens from `/token`. */
  mode?: "bff" | "token-mediating";
  /** BFF mode: the APIs the browser may call through the proxy (requests under `url`), each accepting the session's one access token (`audience`). */
  apis?: { url: string }[];
  /** The routes' prefix. Default `"/auth"`. */
  prefix?: string;
  /** Encrypts the sessions at rest (32 characters or more); required with a shared store. */
  secret?: string;
  store?: SessionStore;
  /** Seconds without a request before a session ends (default 1800), and its longest life (default 43200). */
  idleTimeout?: number;
  absoluteTimeout?: number;
  /** Milliseconds a proxied API call may take (default 30000). */
  apiTimeoutMs?: number;
  endpoints?: { authorization?: string; token?: string; jwks?: string; endSession?: string; revocation?: string; pushedAuthorizationRequest?: string; userinfo?: string };
  pushedAuthorizationRequests?: boolean;
  /** RFC 9449, BFF mode: each session's tokens bound to a key of its own; proofs at the token endpoint and on proxied calls. */
  dpop?: boolean;
  allowInsecureRequests?: boolean;
  leeway?: number;
  idTokenSigningAlgs?: string[];
  httpTimeoutMs?: number;
  fetch?: typeof fetch;
}

export interface AuthServer {
  readonly prefix: string;
  readonly mode: "bff" | "token-mediating";
  /** Answers a request of the server's routes; `undefined` for any other. */
  handler(request: Request): Promise<Response | undefined>;
}

export function createAuthServer(options: AuthServerOptions): Promise<AuthServer>;

/** `(req, res, next?)` for node:http and Express; `origin`: the app's origin, for the requests' URLs. */
export function toNodeHandler(server: AuthServer, origin: string): (req: unknown, res: unknown, next?: () => void) => Promise<void>;
