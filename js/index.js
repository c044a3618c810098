// oidc-pkce: the package entry. Loads the WebAssembly module once, on first
// use, and hands every call to it. All protocol logic lives in the wasm module.
//
// The wasm-bindgen glue is imported dynamically, so that the .wasm download
// starts at the same time as the glue's instead of after it (one round trip
// less before the first call can run).

let loading = null;

function load() {
  if (!loading) {
    // new URL("…", import.meta.url) is what bundlers (Vite, webpack 5) and
    // plain <script type="module"> pages all resolve to the packaged file.
    const binary = fetch(new URL("oidc_pkce_bg.wasm", import.meta.url));
    loading = import("./oidc_pkce.js")
      .then(async (glue) => {
        await glue.default({ module_or_path: binary });
        return glue;
      })
      .catch((cause) => {
        loading = null;
        const err = new Error(`the oidc-pkce WebAssembly module could not be loaded: ${cause && cause.message}`);
        err.name = "AuthError";
        err.code = "unsupported_platform";
        err.cause = cause;
        throw err;
      });
  }
  return loading;
}

/** Creates a client; the first call also loads the WebAssembly module. */
export async function createAuthClient(options) {
  return (await load()).createAuthClient(options);
}

/** A fresh PKCE pair (RFC 7636, S256); works without crypto.subtle. */
export async function createPkcePair() {
  return (await load()).createPkcePair();
}

/**
 * Verifies an ID token obtained elsewhere against a key set and resolves to
 * its claims (the same checks as the login flow). The signature is checked
 * with crypto.subtle, or by the fallback verifier module where that is missing.
 */
export async function verifyIdToken(idToken, options) {
  return (await load()).verifyIdToken(idToken, options);
}

/** Resolves when the WebAssembly module is loaded (it starts loading it). */
export async function ready() {
  await load();
}

/**
 * `err instanceof AuthError` is true for every error this library throws
 * (they are Error objects with name "AuthError" and a stable `code`).
 */
export class AuthError extends Error {
  static [Symbol.hasInstance](value) {
    return value instanceof Error && value.name === "AuthError" && typeof value.code === "string";
  }
}
