// oidc-pkce/react: types of the React binding (react is an optional peer dependency).
import type { ComponentType, ReactNode } from "react";
import type {
  AuthCalls,
  AuthClient,
  AuthClientOptions,
  AuthError,
  LoginWithRedirectOptions,
  User,
} from "./index.js";

export interface AuthProviderProps<TAppState = unknown> {
  /** The client's options, read once when the provider mounts. */
  options: AuthClientOptions;
  /**
   * Called once after a login completed (the callback in the URL, or an auth session's answer), with
   * its `appState`: navigate there. Default: the address becomes `appState.returnTo` (a path of this
   * origin) with `history.replaceState`.
   */
  onRedirectCallback?: (appState: TAppState | undefined) => void;
  /** `true`: leave a callback in the URL alone (another library's, or handled elsewhere). */
  skipRedirectCallback?: boolean;
  children?: ReactNode;
}

/** The sign-in state and the calls `useAuth()` gives. */
export interface AuthState extends AuthCalls {
  /** `true` until the client is made and a callback in the URL is handled. */
  isLoading: boolean;
  isAuthenticated: boolean;
  user: User | null;
  /** Why the last login failed (a refused callback, a popup closed…); cleared by the next session change. */
  error: AuthError | null;
  /** The client, once made (`null` while loading). */
  client: AuthClient | null;
}

/** Makes one client and handles a callback in the URL once (StrictMode and fast refresh included). */
export function AuthProvider<TAppState = unknown>(props: AuthProviderProps<TAppState>): ReactNode;

/** The state and calls of the nearest `<AuthProvider>` (outside one: `invalid_config`). */
export function useAuth(): AuthState;

export interface RequireAuthProps {
  children?: ReactNode;
  /** Rendered until signed in (default nothing), and after a refused login. */
  fallback?: ReactNode;
  /** Options of the login a signed-out visitor is sent to. */
  loginOptions?: LoginWithRedirectOptions;
  /** Where to come back (`appState.returnTo`); default the current path, query and hash. */
  returnTo?: string;
}

/** Its children once signed in; a signed-out visitor is sent to log in, once. */
export function RequireAuth(props: RequireAuthProps): ReactNode;

/** `Component` behind `<RequireAuth>`. */
export function withAuthenticationRequired<P extends object>(
  Component: ComponentType<P>,
  opts?: { onRedirecting?: () => ReactNode; loginOptions?: LoginWithRedirectOptions; returnTo?: string },
): ComponentType<P>;
