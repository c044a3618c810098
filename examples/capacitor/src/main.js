// The app: a login button that opens the in-app browser, and the listener that
// receives the custom-scheme callback from the OS.
import { App } from "@capacitor/app";
import { Browser } from "@capacitor/browser";
import { LOGOUT_RETURN_URI, createAuth } from "./auth.ts";

const $ = (id) => document.getElementById(id);

// Offline, a stored session still starts (createAuthClient keeps what it needs
// with it). Without one, the provider must be reached: say so instead of
// showing "Loading…" forever.
let auth;
try {
  auth = await createAuth();
} catch (e) {
  $("status").textContent = e.code === "network_error" || e.code === "timeout"
    ? "Cannot reach the sign-in service. Check the connection and reopen the app."
    : "Sign-in is not available.";
  $("error").textContent = `${e.code ?? e.name}: ${e.message}`;
  document.body.dataset.ready = "true";
  throw e;
}

function render() {
  const user = auth.getUser();
  $("status").textContent = user ? `Signed in as ${user.name ?? user.sub}` : "Signed out";
  $("login").hidden = !!user;
  $("logout").hidden = !user;
  $("profile").hidden = !user;
  $("profile").textContent = user ? JSON.stringify(user, null, 2) : "";
}

function showError(e) {
  $("error").textContent = `${e.code ?? e.name}: ${e.message}`;
}

// The OS opens the app with com.example.app://callback?code=…&state=… (a
// login), com.example.app://logout (back from the provider's logout page), or
// another deep link of the app.
App.addListener("appUrlOpen", async ({ url }) => {
  if (url.startsWith(LOGOUT_RETURN_URI)) {
    await Browser.close().catch(() => {});
    return render();
  }
  // The client decides what is its callback: at the redirect URI, with an authorization response.
  if (!auth.isRedirectCallback(url)) return;
  try {
    $("error").textContent = "";
    await auth.handleRedirectCallback(url);
  } catch (e) {
    showError(e);
  } finally {
    // The in-app browser does not close by itself (SFSafariViewController / Custom Tabs).
    await Browser.close().catch(() => {});
    render();
  }
});

$("login").addEventListener("click", () =>
  auth.loginWithRedirect({ prompt: "consent", openUrl: (url) => Browser.open({ url }) }).catch(showError),
);

$("logout").addEventListener("click", () =>
  // Forgets the session at once; the provider's logout page opens in the
  // in-app browser and comes back to LOGOUT_RETURN_URI (without returnTo the
  // user would stay on the provider's page until closing the browser).
  auth.logout({ returnTo: LOGOUT_RETURN_URI, openUrl: (url) => Browser.open({ url }) }).then(render, showError),
);

render();
document.body.dataset.ready = "true";
