// The test app's components (only components: a fast refresh boundary).
import { createElement as h, useState } from "react";
import { AuthProvider, useAuth, withAuthenticationRequired } from "oidc-pkce/react";

// The fast refresh test rewrites this line (and the hooks line below) while the page runs.
const VERSION = "v1";
window.mounts ??= 0;

export function Status({ name }) {
  const auth = useAuth();
  const { isLoading, isAuthenticated, user, error } = auth;
  window[`auth_${name}`] = auth;
  return h(
    "section",
    { id: name },
    h("p", { className: "status" }, isLoading ? "loading" : isAuthenticated ? `signed in as ${user?.sub}` : "signed out"),
    error ? h("p", { className: "error" }, error.code) : null,
    h("button", { className: "login", onClick: () => auth.loginWithRedirect({ appState: { from: name } }) }, "Log in"),
    h("button", { className: "popup", onClick: () => auth.loginWithPopup().catch(() => {}) }, "Log in with a popup"),
    h("button", { className: "logout", onClick: () => auth.logout({ openUrl: () => {} }) }, "Log out"),
  );
}

export function Orders() {
  const { user } = useAuth();
  return h("p", { id: "orders" }, `the orders of ${user?.sub}`);
}
export const ProtectedOrders = withAuthenticationRequired(Orders, { onRedirecting: () => h("p", { id: "redirecting" }, "…") });

export function Root({ config }) {
  // (Behind oidc-pkce/server, the same components over the backend's routes.)
  const options = config.backend
    ? { backend: config.backend }
    : { issuer: config.issuer, clientId: config.clientId, redirectUri: `${location.origin}/`, tokenStorage: "local" };
  const [path, setPath] = useState(location.pathname);
  // Counts the instances of Root (StrictMode calls this twice per mount in development).
  useState(() => (window.rootInstances = (window.rootInstances ?? 0) + 1));
  /* more hooks */
  window.mounts++;
  const twice = sessionStorage.getItem("two-providers") === "1";
  const onRedirectCallback = (appState) => {
    window.appStates = [...(window.appStates ?? []), appState];
    if (appState?.returnTo) {
      history.replaceState(null, "", appState.returnTo);
      setPath(appState.returnTo);
    }
  };
  const page = path === "/orders" ? h(ProtectedOrders) : h(Status, { name: "main" });
  return h(
    "div",
    null,
    h("p", { id: "version" }, VERSION),
    h(AuthProvider, { options, onRedirectCallback }, page),
    // A second provider mounted at once: the callback is still exchanged once.
    twice ? h(AuthProvider, { options }, h(Status, { name: "second" })) : null,
  );
}

