// oidc-pkce/vue: types of the Vue binding (vue is an optional peer dependency).
import type { App, Ref } from "vue";
import type {
  AuthCalls,
  AuthClient,
  AuthClientOptions,
  AuthError,
  LoginWithRedirectOptions,
  User,
} from "./index.js";

export interface AuthHooks<TAppState = unknown> {
  /**
   * Called once after a login completed (the callback in the URL, or an auth session's answer), with
   * its `appState`: with vue-router, `(s) => router.replace(s?.returnTo ?? "/")`. Default: the address
   * becomes `appState.returnTo` (a path of this origin) with `history.replaceState`.
   */
  onRedirectCallback?: (appState: TAppState | undefined) => void;
  /** `true`: leave a callback in the URL alone. */
  skipRedirectCallback?: boolean;
}

/** The sign-in state (read-only refs) and the calls. */
export interface Auth extends AuthCalls {
  /** `true` until the client is made and a callback in the URL is handled. */
  readonly isLoading: Readonly<Ref<boolean>>;
  readonly isAuthenticated: Readonly<Ref<boolean>>;
  readonly user: Readonly<Ref<User | null>>;
  /** Why the last login failed; cleared by the next session change. */
  readonly error: Readonly<Ref<AuthError | null>>;
  readonly client: Readonly<Ref<AuthClient | null>>;
  /** Resolves when the state is known (a callback in the URL handled): `true` when signed in. */
  ready(): Promise<boolean>;
  /** The plugin's install: `app.use(auth)`. */
  install(app: App): void;
}

/** The plugin: `app.use(createAuth(options, hooks))`; the client is made when installed in a browser. */
export function createAuth<TAppState = unknown>(options: AuthClientOptions, hooks?: AuthHooks<TAppState>): Auth;

/** The state and calls of the app's plugin (without it: `invalid_config`). */
export function useAuth(): Auth;

/**
 * A vue-router guard (`beforeEnter`, `router.beforeEach`) for protected routes: signed-in users pass;
 * the others are sent to log in and come back to `to.fullPath`; after a refused login, `false`.
 */
export function createAuthGuard(auth: Auth, loginOptions?: LoginWithRedirectOptions): (to: { fullPath: string }) => Promise<boolean>;
