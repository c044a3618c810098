// A Vue 3 app using oidc-pkce/vue with vue-router, built by Vite in
// production mode by tests/e2e/bindings.test.mjs. Render functions, no SFC:
// nothing to configure in Vite.
import { createApp, h } from "vue";
import { createRouter, createWebHistory, RouterView } from "vue-router";
import { createAuth, createAuthGuard, useAuth } from "oidc-pkce/vue";

const config = await (await fetch("/config.json")).json();
// (Behind oidc-pkce/server, the same components over the backend's routes.)
const options = config.backend
  ? { backend: config.backend }
  : { issuer: config.issuer, clientId: config.clientId, redirectUri: `${location.origin}/`, tokenStorage: "local" };

const Status = {
  setup() {
    const auth = useAuth();
    window.auth_main = auth;
    return () =>
      h("section", { id: "main" }, [
        h("p", { class: "status" }, auth.isLoading.value ? "loading" : auth.isAuthenticated.value ? `signed in as ${auth.user.value?.sub}` : "signed out"),
        auth.error.value ? h("p", { class: "error" }, auth.error.value.code) : null,
        h("button", { class: "login", onClick: () => auth.loginWithRedirect({ appState: { from: "main" } }) }, "Log in"),
        h("button", { class: "popup", onClick: () => auth.loginWithPopup().catch(() => {}) }, "Log in with a popup"),
        h("button", { class: "logout", onClick: () => auth.logout({ openUrl: () => {} }) }, "Log out"),
      ]);
  },
};
const Orders = {
  setup() {
    const { user } = useAuth();
    return () => h("p", { id: "orders" }, `the orders of ${user.value?.sub}`);
  },
};

const router = createRouter({
  history: createWebHistory(),
  routes: [
    { path: "/", component: Status },
    { path: "/orders", component: Orders, meta: { protected: true } },
  ],
});
const auth = createAuth(options, {
  onRedirectCallback: (appState) => {
    window.appStates = [...(window.appStates ?? []), appState];
    router.replace(appState?.returnTo ?? "/");
  },
});
const guard = createAuthGuard(auth);
router.beforeEach((to) => (to.meta.protected ? guard(to) : true));

createApp({ render: () => h(RouterView) }).use(auth).use(router).mount("#app");
