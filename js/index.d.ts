// The public types of oidc-pkce: the documented API and nothing else (the
// WebAssembly glue's own exports are not part of it).

/** An ID token signing algorithm the library verifies. */
export type SigningAlgorithm = "RS256" | "RS384" | "RS512" | "PS256" | "PS384" | "PS512" | "ES256";

/** Options of `createAuthClient`. Give `issuer` (any OpenID provider) or `domain` (Auth0). */
export type AuthClientOptions = (
  | {
      /** OpenID issuer URL; endpoints come from its `/.well-known/openid-configuration`. */
      issuer: string;
      domain?: undefined;
    }
  | {
      /** Auth0 tenant host (`tenant.auth0.com`, a port allowed): issuer `https://{domain}/`, Auth0's paths, no discovery. */
      domain: string;
      issuer?: undefined;
    }
) & {
  clientId: string;
  /** Where the provider sends the browser back: an https page or a custom scheme (`com.example.app://callback`). */
  redirectUri: string;
  /** Default `"openid profile email"`; `openid` is always added. Add `offline_access` for a refresh token. */
  scope?: string;
  audience?: string;
  /** `"form"` (default, RFC 6749) or `"json"` (accepted by Auth0). */
  tokenRequestEncoding?: "form" | "json";
  /**
   * Where a pending login waits for its callback. Default `"session"`. In a Capacitor app use
   * `"local"` or an adapter over Preferences: sessionStorage is lost when the OS kills the app.
   */
  transactionStorage?: "session" | "local" | "memory" | StorageAdapter;
  /**
   * Where the signed-in session (and the provider's keys) is kept. Default `"session"`: a reload of
   * the tab keeps the user signed in; `"memory"` forgets it on reload; `"local"` shares it between tabs.
   */
  tokenStorage?: "memory" | "session" | "local" | StorageAdapter;
  /** Milliseconds, 1 to 600000. Default 10000. */
  httpTimeoutMs?: number;
  /** Endpoints to use instead of the discovered (or Auth0) ones. */
  endpoints?: {
    authorization?: string;
    token?: string;
    userinfo?: string;
    jwks?: string;
    endSession?: string;
    /** RFC 7009 token revocation (discovered; Auth0: `/oauth/revoke`). */
    revocation?: string;
    /** RFC 9126 pushed authorization requests (discovered; Auth0: `/oauth/par`). */
    pushedAuthorizationRequest?: string;
  };
  /** Allow plain http to a non-loopback provider (development only). */
  allowInsecureRequests?: boolean;
  /** Clock-skew allowance for ID token times, in seconds (0 to 3600). Default 60. */
  leeway?: number;
  /** ID token signing algorithms to accept (default: the provider's list, else RS256). */
  idTokenSigningAlgs?: SigningAlgorithm[];
  /**
   * Seconds a fetched key set may be used, at most (0 to 86400). Default: the JWKS response's
   * `Cache-Control: max-age`, else 600; never more than 24 h.
   */
  jwksMaxAge?: number;
  /** Seconds an access token lives when the token response has no `expires_in`. Default 3600. */
  defaultExpiresIn?: number;
  /** Milliseconds silent authentication (`checkSession`) may take. Default 10000. */
  silentTimeoutMs?: number;
  /**
   * Pushed authorization requests (RFC 9126): the login's parameters are POSTed to the provider's
   * `pushed_authorization_request_endpoint` and the browser is sent with `client_id` and
   * `request_uri` alone. Also on, whatever this says, when discovery gives
   * `require_pushed_authorization_requests: true`. Default false.
   */
  pushedAuthorizationRequests?: boolean;
  /**
   * DPoP (RFC 9449): bind the tokens to a non-extractable ES256 key of this browser, kept in
   * IndexedDB per issuer and client id. Token requests carry proofs; `fetchWithAuth` and
   * `fetchUserInfo` send `Authorization: DPoP` with a proof. Needs `crypto.subtle` and IndexedDB
   * (else `unsupported_platform`); a provider answering `Bearer` is `invalid_token_response`.
   * Default false.
   */
  dpop?: boolean;
  /**
   * Audiences an ID token may list besides `clientId` (OIDC Core §3.1.3.7 step 3). Default none: a
   * token naming anyone else is `invalid_id_token`, reason `aud`.
   */
  trustedAudiences?: string[];
  /**
   * `getTokens()` includes `refreshToken`. Default false: the refresh token stays inside the library
   * (set it only to hand the refresh token to native code).
   */
  exposeRefreshToken?: boolean;
  /**
   * Sends every request the library makes (discovery, key sets, token, userinfo, PAR, revocation,
   * `fetchWithAuth`) instead of the page's `fetch`, e.g. native HTTP in a Capacitor app whose
   * provider refuses CORS. The library's timeout, body cap and redirect policy still apply; a
   * function that throws or answers something that is not a `Response` is `network_error`.
   */
  fetch?: (input: RequestInfo | URL, init?: RequestInit) => Promise<Response>;
  /**
   * How an API is named to the provider: `"audience"` (default; Auth0) or `"resource"` (RFC 8707
   * resource indicators: absolute URIs without a fragment).
   */
  apiParameter?: "audience" | "resource";
  /** With `apiParameter: "resource"`: the other APIs to ask for at login, so that the refresh token covers them. */
  apis?: string[];
};

/** Your own storage, e.g. over Capacitor Preferences. Methods may return promises. */
export interface StorageAdapter {
  get(key: string): string | null | undefined | Promise<string | null | undefined>;
  set(key: string, value: string): void | Promise<void>;
  remove(key: string): void | Promise<void>;
  /** Optional: lets the library tell a wrong `state` from no pending login, and clean up old ones. */
  keys?(): string[] | Promise<string[]>;
  /**
   * Optional, for `tokenStorage`: called once with a listener to call when another writer (another
   * tab, a native part of the app) changed a key (`null`: maybe every key). The client then follows
   * the stored session, as tabs sharing `"local"` do through `storage` events.
   */
  onChange?(listener: (key: string | null) => void): void;
}

/** @deprecated alias of StorageAdapter */
export type TokenStorageAdapter = StorageAdapter;

/** Options of one login. `appState` is any JSON value, handed back by the callback as given. */
export interface AuthorizeOptions<TAppState = unknown> {
  appState?: TAppState;
  scope?: string;
  audience?: string;
  prompt?: "none" | "login" | "consent" | "select_account" | (string & {});
  /** Seconds (OIDC `max_age`). */
  maxAge?: number;
  loginHint?: string;
  /** More query parameters; they cannot replace the ones the library sets. */
  extraParams?: Record<string, string | number | boolean>;
}

export interface LoginWithRedirectOptions<TAppState = unknown> extends AuthorizeOptions<TAppState> {
  /**
   * Opens the URL instead of `window.location.assign` (e.g. Capacitor's `url => Browser.open({ url })`).
   * An auth session that hands back the callback URL resolves to it: the login then completes in
   * `loginWithRedirect`. A rejected promise is the user cancelling (`login_cancelled`).
   */
  openUrl?: (url: string) => void | string | Promise<void | string>;
}

export interface PopupLoginOptions<TAppState = unknown> extends AuthorizeOptions<TAppState> {
  /** Milliseconds the user has to complete the login in the popup. Default 300000 (5 minutes). */
  timeoutMs?: number;
}

export interface CheckSessionOptions {
  scope?: string;
  audience?: string;
  /** Milliseconds for this call, instead of the client's `silentTimeoutMs`. */
  timeoutMs?: number;
}

export interface RedirectResult<TAppState = unknown> {
  /** The `appState` given to the login, or `undefined`. */
  appState: TAppState | undefined;
}

export interface Tokens {
  accessToken: string;
  idToken: string | null;
  /** Only with `exposeRefreshToken: true` (`null` without a refresh token). */
  refreshToken?: string | null;
  tokenType: string;
  /** Epoch milliseconds (from `expires_in`, else `defaultExpiresIn`). */
  expiresAt: number | null;
  scope: string | null;
}

export interface GetAccessTokenOptions {
  /** Refresh even if the cached access token is still valid. */
  forceRefresh?: boolean;
  /**
   * Another API's token: its identifier (sent as `audience` or, with `apiParameter: "resource"`, as
   * `resource`). Kept apart from the session's own token, one per (API, scope).
   */
  audience?: string;
  /** A token for this scope, kept apart from the session's own token like another API's. */
  scope?: string;
}

/** `fetchWithAuth`'s `init`: fetch's, and which API's token to send (see `GetAccessTokenOptions`). */
export interface FetchWithAuthInit extends RequestInit {
  audience?: string;
  scope?: string;
}

export interface RefreshOptions {
  scope?: string;
}

export interface SessionEvent {
  type: "signed_in" | "refreshed" | "signed_out";
}

export interface LogoutOptions {
  /**
   * Where to go after logout (with an end-session endpoint: registered with the provider). An
   * https URL, http on loopback, this page's origin, or the custom scheme of `redirectUri`;
   * anything else is `invalid_config`.
   */
  returnTo?: string;
  /** Opens the logout URL instead of `window.location.assign`. */
  openUrl?: (url: string) => void | Promise<void>;
}

/** The verified ID token's claims, and the raw token as `__raw`. */
export interface IdTokenClaims {
  __raw: string;
  iss: string;
  sub: string;
  aud: string | string[];
  exp: number;
  iat: number;
  nonce?: string;
  azp?: string;
  auth_time?: number;
  [claim: string]: unknown;
}

/** The user's profile claims. */
export interface User {
  sub: string;
  name?: string;
  given_name?: string;
  family_name?: string;
  email?: string;
  email_verified?: boolean;
  picture?: string;
  [claim: string]: unknown;
}

export interface PkcePair {
  codeVerifier: string;
  codeChallenge: string;
  codeChallengeMethod: "S256";
}

/** A configured client. Make one with `createAuthClient(options)`. */
export interface AuthClient {
  /** The issuer this client checks responses against. */
  readonly issuer: string;
  /** Stores a new pending login and resolves to the authorization URL. */
  buildAuthorizeUrl<TAppState = unknown>(opts?: AuthorizeOptions<TAppState>): Promise<string>;
  /**
   * Starts a login: `opts.openUrl(url)` when given, else `window.location.assign(url)`. When
   * `openUrl` resolves to the callback URL (an auth session: ASWebAuthenticationSession, Custom
   * Tabs), the login is completed here and resolves like `handleRedirectCallback`; when its promise
   * rejects (the user cancelled), `login_cancelled` and no pending login is left.
   */
  loginWithRedirect<TAppState = unknown>(opts?: LoginWithRedirectOptions<TAppState>): Promise<RedirectResult<TAppState> | undefined>;
  /**
   * Whether `url` (default `window.location.href`) is this client's callback: at the redirect URI,
   * carrying an authorization response (`code`, `state` or `error`). A `code` parameter on another
   * page of the app is not mistaken for it.
   */
  isRedirectCallback(url?: string): boolean;
  /**
   * Completes the login on the callback URL (default `window.location.href`). Inside the popup or
   * iframe of `loginWithPopup`/`checkSession`, it hands the URL to the waiting page instead and
   * resolves with no `appState`.
   */
  handleRedirectCallback<TAppState = unknown>(url?: string): Promise<RedirectResult<TAppState>>;
  /**
   * Signs in through a popup; the page does not navigate. Call it from a click handler: the popup
   * is opened at once, and browsers block popups opened later. Rejects with `popup_blocked`,
   * `popup_closed`, `popup_in_progress` (another popup login of this page is open), `timeout`, or the
   * callback's error (`access_denied`, …); the popup is closed and a session already here stays.
   */
  loginWithPopup<TAppState = unknown>(opts?: PopupLoginOptions<TAppState>): Promise<RedirectResult<TAppState>>;
  /**
   * Silent authentication (`prompt=none`) in a hidden iframe: `true` when the provider's session
   * signed the user in, `false` when the user must interact (the session here is left as it is).
   */
  checkSession(opts?: CheckSessionOptions): Promise<boolean>;
  /** The tokens of the signed-in session, or `null`. */
  getTokens(): Tokens | null;
  /** True while signed in: the access token is valid, or a refresh token can renew it. */
  isAuthenticated(): boolean;
  /** Every verified claim of the ID token, with the raw token as `__raw`; or `null`. */
  getIdTokenClaims(): IdTokenClaims | null;
  /** The user's profile claims, or `null`. */
  getUser(): User | null;
  /**
   * GETs the userinfo endpoint with the access token (refreshed first when needed; DPoP-bound
   * tokens with a proof); its `sub` must be the ID token's.
   */
  fetchUserInfo(): Promise<User>;
  /** The provider's logout URL (RP-Initiated Logout, or Auth0's `/v2/logout`). */
  buildLogoutUrl(opts?: LogoutOptions): string;
  /**
   * Revokes the refresh token at the provider (RFC 7009, within `httpTimeoutMs`), forgets the
   * session here, then sends the browser to the provider's logout.
   */
  logout(opts?: LogoutOptions): Promise<void>;
  /** Revokes the refresh and access tokens at the provider (RFC 7009), then forgets the session here. */
  revokeTokens(): Promise<void>;
  /** The access token, refreshed first when it is about to expire (or with `forceRefresh`). */
  getAccessToken(opts?: GetAccessTokenOptions): Promise<string>;
  /**
   * `fetch(input, init)` with the token `getAccessToken()` gives (refreshed first when needed):
   * `Authorization: Bearer`, or with `dpop` `Authorization: DPoP` and a proof (retried once when the
   * server asks for a nonce). Resolves to the last `Response` whatever its status, as fetch does.
   */
  fetchWithAuth(input: RequestInfo | URL, init?: FetchWithAuthInit): Promise<Response>;
  /** Refreshes now with the refresh token, and resolves to the new tokens. */
  refresh(opts?: RefreshOptions): Promise<Tokens>;
  /**
   * Calls `callback({ type })` when the session changes, here or (with a `tokenStorage` shared by
   * tabs: `"local"`, an adapter with `onChange`) in another tab; returns a function that unsubscribes.
   */
  onSessionChange(callback: (event: SessionEvent) => void): () => void;
  /**
   * Stops following other tabs' changes and drops every `onSessionChange` listener, for a client
   * that is no longer used (a component unmounted; the React and Vue bindings call it). Operations
   * under way finish; the client's methods still work.
   */
  close(): void;
}

/** The calls the React and Vue bindings give beside the sign-in state (`useAuth()`). */
export interface AuthCalls {
  loginWithRedirect<TAppState = unknown>(opts?: LoginWithRedirectOptions<TAppState>): Promise<RedirectResult<TAppState> | undefined>;
  loginWithPopup<TAppState = unknown>(opts?: PopupLoginOptions<TAppState>): Promise<RedirectResult<TAppState>>;
  logout(opts?: LogoutOptions): Promise<void>;
  getAccessToken(opts?: GetAccessTokenOptions): Promise<string>;
  fetchWithAuth(input: RequestInfo | URL, init?: FetchWithAuthInit): Promise<Response>;
}

/** Options of `verifyIdToken`. */
export interface VerifyIdTokenOptions {
  issuer: string;
  clientId: string;
  /** The provider's key set: `{ keys: [...] }`. */
  jwks: { keys: object[] };
  /** The nonce sent in the authentication request, when one was. */
  nonce?: string;
  /** Seconds; requires a recent enough `auth_time`. */
  maxAge?: number;
  /** Seconds of clock skew allowed. Default 60. */
  leeway?: number;
  /** Allowed algorithms. Default RS256. */
  algorithms?: SigningAlgorithm[];
  /** Audiences the token may list besides `clientId`. Default none. */
  trustedAudiences?: string[];
}

/** The codes this library gives its errors (README, "Errors"). */
export type LibraryErrorCode =
  | "invalid_config"
  | "invalid_callback"
  | "missing_transaction"
  | "state_mismatch"
  | "issuer_mismatch"
  | "invalid_token_response"
  | "invalid_id_token"
  | "invalid_jwks"
  | "userinfo_sub_mismatch"
  | "invalid_userinfo_response"
  | "login_required"
  | "missing_refresh_token"
  | "invalid_discovery"
  | "network_error"
  | "timeout"
  | "storage_error"
  | "unsupported_platform"
  | "module_load_failed"
  | "popup_blocked"
  | "popup_closed"
  | "popup_in_progress"
  | "login_cancelled"
  | "revocation_failed"
  | "invalid_par_response";

/**
 * OAuth 2.0 and OpenID Connect error codes a server may send (RFC 6749 §4.1.2.1 and §5.2, OIDC
 * Core §3.1.2.6, RFC 9449): an `AuthError` carries them verbatim as its `code`. A provider's own,
 * non-standard code is passed through too; its exact text is also in `error`.
 */
export type ServerErrorCode =
  | "access_denied"
  | "invalid_request"
  | "unauthorized_client"
  | "unsupported_response_type"
  | "invalid_scope"
  | "server_error"
  | "temporarily_unavailable"
  | "invalid_client"
  | "invalid_grant"
  | "unsupported_grant_type"
  | "interaction_required"
  | "consent_required"
  | "account_selection_required"
  | "invalid_request_uri"
  | "invalid_request_object"
  | "request_not_supported"
  | "request_uri_not_supported"
  | "registration_not_supported"
  | "invalid_dpop_proof"
  | "use_dpop_nonce";

export type AuthErrorCode = LibraryErrorCode | ServerErrorCode;

/** For `invalid_id_token`: the check that failed. */
export type IdTokenFailureReason =
  | "malformed"
  | "alg"
  | "kid"
  | "signature"
  | "iss"
  | "aud"
  | "azp"
  | "exp"
  | "iat"
  | "nbf"
  | "nonce"
  | "sub"
  | "auth_time";

/** Every error this library throws: an `Error` with `name === "AuthError"` and a stable `code`. */
export interface AuthError extends Error {
  name: "AuthError";
  code: AuthErrorCode;
  /** The server's OAuth `error`, when a server sent one. */
  error?: string;
  errorDescription?: string;
  errorUri?: string;
  /** HTTP status, for errors from an HTTP response. */
  status?: number;
  /**
   * For `invalid_id_token`: the check that failed; for `login_required` from a silent renewal, the
   * claim that names another user.
   */
  reason?: IdTokenFailureReason;
}

/** Creates a client; the first call also loads the WebAssembly module. */
export function createAuthClient(options: AuthClientOptions | BackendOptions): Promise<AuthClient>;

/**
 * A page whose backend is the OAuth client (oidc-pkce/server, in BFF or
 * token-mediating mode): the same client API over the backend's routes, and
 * no WebAssembly loaded. `loginWithPopup` is not available there.
 */
export interface BackendOptions {
  /** The backend's routes: a path of this origin such as `"/auth"`, or an absolute URL. */
  backend: string;
  /** The transport of the calls to the backend (default: `fetch`). */
  fetch?: typeof fetch;
}

/** A fresh PKCE pair (RFC 7636, S256); works without crypto.subtle. */
export function createPkcePair(): Promise<PkcePair>;

/** Verifies an ID token against a key set (signature and OIDC Core §3.1.3.7); rejects with an AuthError. */
export function verifyIdToken(idToken: string, options: VerifyIdTokenOptions): Promise<IdTokenClaims>;

/** Resolves when the full WebAssembly module is loaded (it starts loading it): for a page that will need it soon. */
export function ready(): Promise<void>;

/** `err instanceof AuthError` narrows any error this library throws. */
export declare const AuthError: {
  [Symbol.hasInstance](value: unknown): value is AuthError;
};
