// A React 19 app in StrictMode using oidc-pkce/react, built by Vite in
// development mode (StrictMode mounts twice only there) by
// tests/e2e/bindings.test.mjs. No JSX: nothing to configure in Vite.
import { StrictMode, createElement as h, useState } from "react";
import { createRoot } from "react-dom/client";
import { AuthProvider, RequireAuth, useAuth, withAuthenticationRequired } from "oidc-pkce/react";

const config = await (await fetch("/config.json")).json();
const options = { issuer: config.issuer, clientId: config.clientId, redirectUri: `${location.origin}/`, tokenStorage: "local" };
window.mounts = 0;

function Status({ name }) {
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

function Orders() {
  const { user } = useAuth();
  return h("p", { id: "orders" }, `the orders of ${user?.sub}`);
}
const ProtectedOrders = withAuthenticationRequired(Orders, { onRedirecting: () => h("p", { id: "redirecting" }, "…") });

function Root() {
  const [path, setPath] = useState(location.pathname);
  window.mounts++;
  const twice = sessionStorage.getItem("two-providers") === "1";
  const onRedirectCallback = (appState) => {
    window.appStates = [...(window.appStates ?? []), appState];
    if (appState?.returnTo) {
      history.replaceState(null, "", appState.returnTo);
      setPath(appState.returnTo);
    }
  };
  const page =
    path === "/orders"
      ? h(ProtectedOrders)
      : path === "/account"
        ? h(RequireAuth, { fallback: h("p", { id: "redirecting" }, "…") }, h("p", { id: "account" }, "account"))
        : h(Status, { name: "main" });
  return h(
    "div",
    null,
    h(AuthProvider, { options, onRedirectCallback }, page),
    // A second provider mounted at once (as a remount by fast refresh would): the callback is still exchanged once.
    twice ? h(AuthProvider, { options }, h(Status, { name: "second" })) : null,
  );
}

createRoot(document.getElementById("root")).render(h(StrictMode, null, h(Root)));
