// oidc-pkce: the package entry. Loads the WebAssembly module once, on first
// use, and hands every call to it. All protocol logic lives in the wasm module.
import init, * as wasm from "./oidc_pkce.js";

let ready = null;

function load() {
  if (!ready) {
    // With no argument the module is fetched from
    // new URL("oidc_pkce_bg.wasm", import.meta.url), which bundlers (Vite,
    // webpack 5) and plain <script type="module"> pages all resolve.
    ready = init().catch((cause) => {
      ready = null;
      const err = new Error(`the oidc-pkce WebAssembly module could not be loaded: ${cause && cause.message}`);
      err.name = "AuthError";
      err.code = "unsupported_platform";
      err.cause = cause;
      throw err;
    });
  }
  return ready;
}

/** Creates a client; the first call also loads the WebAssembly module. */
export async function createAuthClient(options) {
  await load();
  return wasm.createAuthClient(options);
}

/** A fresh PKCE pair (RFC 7636, S256); works without crypto.subtle. */
export async function createPkcePair() {
  await load();
  return wasm.createPkcePair();
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

export { AuthClient } from "./oidc_pkce.js";
