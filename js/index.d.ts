import type { AuthClient, AuthClientOptions, IdTokenClaims, PkcePair, VerifyIdTokenOptions } from "./oidc_pkce.js";

export type {
  AuthClient,
  AuthClientOptions,
  AuthorizeOptions,
  GetAccessTokenOptions,
  IdTokenClaims,
  LoginWithRedirectOptions,
  LogoutOptions,
  PkcePair,
  RedirectResult,
  RefreshOptions,
  SessionEvent,
  StorageAdapter,
  TokenStorageAdapter,
  Tokens,
  User,
  VerifyIdTokenOptions,
} from "./oidc_pkce.js";
import type { AuthError as AuthErrorShape } from "./oidc_pkce.js";

/** Creates a client; the first call also loads the WebAssembly module. */
export function createAuthClient(options: AuthClientOptions): Promise<AuthClient>;

/** A fresh PKCE pair (RFC 7636, S256); works without crypto.subtle. */
export function createPkcePair(): Promise<PkcePair>;

/** Verifies an ID token against a key set (signature and OIDC Core §3.1.3.7); rejects with an AuthError. */
export function verifyIdToken(idToken: string, options: VerifyIdTokenOptions): Promise<IdTokenClaims>;

/** Resolves when the WebAssembly module is loaded. */
export function ready(): Promise<void>;

/** `err instanceof AuthError` narrows any error this library throws. */
export declare const AuthError: {
  [Symbol.hasInstance](value: unknown): value is AuthErrorShape;
};
export type AuthError = AuthErrorShape;
