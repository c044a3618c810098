// oidc-pkce: the package entry. Loads the WebAssembly module once, on first
// use; the driver (./driver/) performs the I/O between the core's steps, and
// every protocol decision is the core's (the .wasm).
//
// The build bundles the wasm-bindgen glue and the driver into this file
// (scripts/build.mjs): the page fetches this module, then the .wasm, and
// nothing else on a login.

import initGlue, * as glue from "./oidc_pkce.js";
import { binding, createAuthClient as create, verify } from "./driver/client.js";

/** @type {Promise<typeof glue> | null} */
let loading = null;

/** @param {string} code @param {string} message @param {unknown} [cause] */
function authError(code, message, cause) {
  /** @type {Error & { code?: string }} */
  const err = new Error(message);
  err.name = "AuthError";
  err.code = code;
  if (cause !== undefined) err.cause = cause;
  return err;
}

/**
 * Why the module did not load, in words a user can act on: what was fetched,
 * what came back, and the usual fix.
 * @param {string} url @param {{ status: number; type: string | null } | null} seen @param {any} cause
 */
function moduleLoadFailed(url, seen, cause) {
  const why = String((cause && cause.message) || cause);
  const what = seen
    ? `${url} answered HTTP ${seen.status} with content type ${seen.type || "(none)"}`
    : `${url} could not be fetched`;
  let hint;
  if (/Content.Security.Policy|wasm-eval|unsafe-eval/i.test(why)) {
    hint = "the page's Content-Security-Policy must allow compiling WebAssembly: add 'wasm-unsafe-eval' to script-src";
  } else if (seen && seen.status >= 400) {
    hint = "the .wasm file is not served at that URL: copy or serve the whole package folder (a bundler should emit it as an asset)";
  } else if (seen && /html|javascript|text\//i.test(String(seen.type))) {
    hint =
      "something served a page instead of the module: a dev server that pre-bundles dependencies " +
      "(Vite: optimizeDeps: { exclude: [\"oidc-pkce\"] }) or a rewrite rule that answers every path with index.html";
  } else if (seen && !/wasm/i.test(String(seen.type))) {
    hint = "serve .wasm files with the content type application/wasm";
  } else {
    hint = "see the cause";
  }
  return authError("module_load_failed", `the oidc-pkce WebAssembly module did not load: ${what}; ${why}. Likely fix: ${hint}.`, cause);
}

function load() {
  if (!loading) {
    // new URL("…", import.meta.url) is what bundlers (Vite, webpack 5) and
    // plain <script type="module"> pages all resolve to the packaged file.
    const url = new URL("oidc_pkce_bg.wasm", import.meta.url);
    /** @type {{ status: number; type: string | null } | null} */
    let seen = null;
    const binary = fetch(url).then((response) => {
      seen = { status: response.status, type: response.headers.get("content-type") };
      return response;
    });
    // A failed fetch is reported once, as the AuthError below: not also as an
    // unhandled rejection of this early request.
    binary.catch(() => {});
    loading = initGlue({ module_or_path: binary })
      .then(() => glue)
      .catch((cause) => {
        loading = null;
        throw moduleLoadFailed(url.href, seen, cause);
      });
  }
  return loading;
}

/** Creates a client; the first call also loads the WebAssembly module. @param {any} options */
export async function createAuthClient(options) {
  return create(await load(), options);
}

/** A fresh PKCE pair (RFC 7636, S256); works without crypto.subtle. */
export async function createPkcePair() {
  return (await load()).createPkcePair();
}

/**
 * Verifies an ID token obtained elsewhere against a key set and resolves to
 * its claims (the same checks as the login flow). The signature is checked
 * with crypto.subtle, or by the fallback verifier module where that is missing.
 * @param {string} idToken @param {any} options
 */
export async function verifyIdToken(idToken, options) {
  return verify(await load(), idToken, options);
}

/**
 * For oidc-pkce/react and oidc-pkce/vue only (not part of the API): a
 * client's identity and the core's rules for the address after a callback.
 */
export const _binding = binding;

/** Resolves when the WebAssembly module is loaded (it starts loading it). */
export async function ready() {
  await load();
}

/**
 * `err instanceof AuthError` is true for every error this library throws
 * (they are Error objects with name "AuthError" and a stable `code`).
 */
export class AuthError extends Error {
  /** @param {unknown} value */
  static [Symbol.hasInstance](value) {
    return value instanceof Error && value.name === "AuthError" && typeof (/** @type {any} */ (value).code) === "string";
  }
}
