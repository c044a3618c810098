import { createApp, h, ref } from "vue";
import { createAuth, useAuth } from "oidc-pkce/vue";

// What `npm run provider` printed (in the oidc-pkce repository); your provider's values otherwise.
const issuer = import.meta.env.VITE_ISSUER ?? "http://127.0.0.1:4000";
const api = `${issuer}/api/`;

const Home = {
  setup() {
    const { isLoading, isAuthenticated, user, error, loginWithRedirect, logout, fetchWithAuth } = useAuth();
    const greeting = ref<string>();
    const callApi = async () => {
      const response = await fetchWithAuth(`${api}greeting`, { audience: api });
      greeting.value = response.ok ? (await response.json()).message : `The API said ${response.status}`;
    };
    return () =>
      isLoading.value
        ? h("p", "Loading…")
        : isAuthenticated.value
          ? [
              h("p", `Hello ${user.value?.name ?? ""}`),
              h("button", { onClick: callApi }, "Call the API"),
              greeting.value ? h("p", { id: "greeting" }, greeting.value) : null,
              // Back to this app once signed out at the provider (without returnTo, the user stays on the provider's page).
              h("button", { onClick: () => logout({ returnTo: location.origin }) }, "Log out"),
            ]
          : [
              // A cancelled or failed login: say so, and let the user try again.
              error.value ? h("p", { role: "alert" }, `Sign-in failed: ${error.value.code}`) : null,
              h("button", { onClick: () => loginWithRedirect() }, "Log in"),
            ];
  },
};

createApp(Home)
  .use(
    createAuth({
      issuer,
      clientId: "my-app",
      redirectUri: location.origin + "/",
      scope: "openid profile email offline_access",
      apiParameter: "resource",
      apis: [api],
    }),
  )
  .mount("#app");
