// The React and Vue bindings in server rendering (Node, no window): importing
// them touches nothing of the browser, a render shows the loading state, and
// calls are unsupported_platform. Against the built package (pkg/).
import assert from "node:assert/strict";
import { test } from "node:test";

const options = { issuer: "https://id.example.com", clientId: "app", redirectUri: "https://app.example.com/" };

test("oidc-pkce/react renders on a server: loading, and calls are unsupported_platform", async () => {
  assert.equal(typeof globalThis.window, "undefined");
  const { AuthProvider, RequireAuth, useAuth } = await import("../pkg/react.js");
  const { createElement: h } = await import("react");
  const { renderToString } = await import("react-dom/server");
  let seen;
  function Probe() {
    seen = useAuth();
    return h("p", null, seen.isLoading ? "loading" : "ready");
  }
  const html = renderToString(
    h(AuthProvider, { options }, h(Probe), h(RequireAuth, { fallback: h("i", null, "wait") }, h("b", null, "secret"))),
  );
  assert.match(html, /<p>loading<\/p>/);
  assert.match(html, /<i>wait<\/i>/);
  assert.doesNotMatch(html, /secret/);
  assert.deepEqual([seen.isAuthenticated, seen.user, seen.error, seen.client], [false, null, null, null]);
  const e = await seen.getAccessToken().catch((e) => e);
  assert.deepEqual([e.name, e.code], ["AuthError", "unsupported_platform"]);
  // Outside a provider: a clear error, not a crash in some later call.
  assert.throws(() => renderToString(h(Probe)), (e) => e.name === "AuthError" && e.code === "invalid_config");
});

test("oidc-pkce/vue installs on a server: loading, and calls are unsupported_platform", async () => {
  const { createAuth, createAuthGuard, useAuth } = await import("../pkg/vue.js");
  const { createSSRApp, h } = await import("vue");
  const { renderToString } = await import("vue/server-renderer");
  const auth = createAuth(options);
  const app = createSSRApp({ render: () => h("p", auth.isLoading.value ? "loading" : "ready") }).use(auth);
  assert.equal(await renderToString(app), "<p>loading</p>");
  const e = await auth.loginWithRedirect().catch((e) => e);
  assert.deepEqual([e.name, e.code], ["AuthError", "unsupported_platform"]);
  assert.equal(await auth.ready(), false);
  assert.equal(await createAuthGuard(auth)({ fullPath: "/orders" }).catch((e) => e.code), "unsupported_platform");
  // Without the plugin: a clear error. (Vue also warns that inject() is outside setup().)
  const warn = console.warn;
  console.warn = () => {};
  try {
    assert.throws(() => useAuth(), (e) => e.name === "AuthError" && e.code === "invalid_config");
  } finally {
    console.warn = warn;
  }
});

test("both builds of both bindings import on a server without touching the browser", async () => {
  for (const f of ["react.js", "vue.js", "production/react.js", "production/vue.js"]) {
    const m = await import(`../pkg/${f}`);
    assert.equal(typeof m.useAuth, "function", f);
  }
});
