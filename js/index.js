// oidc-pkce: the package entry. Loads a WebAssembly module on first use;
// the driver (./driver/) performs the I/O between the core's steps, and
// every protocol decision is the core's (the .wasm).
//
// Two modules, the same core with the same names: the full one, and an
// anonymous one with only what a page without a session needs
// (driver/modules.js says which a page loads first; the full one follows
// when a call needs it). The build bundles the wasm-bindgen glue and the
// driver into this file (scripts/build.mjs): a page fetches this file and
// one .wasm. The glue keeps one instance, so the full module after the
// anonymous one comes with a copy of it (./oidc_pkce_full.js).

import * as glue from "./oidc_pkce.js";
import { binding, createAuthClient as create, verify } from "./driver/client.js";
import { firstModule } from "./driver/modules.js";

/** The modules loading or loaded, by kind. @type {Partial<Record<"full" | "anonymous", Promise<typeof glue>>>} */
const loading = {};

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
  } else if (seen && seen.status === 403) {
    hint = "the server refused it (Vite: a linked package must be in server.fs.allow)";
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

/**
 * Loads a module once (the full one serves for either): the bundled glue
 * for the first, its copy for the full module after the anonymous one.
 * @param {"full" | "anonymous"} [kind]
 * @returns {Promise<typeof glue>}
 */
function load(kind = "full") {
  if (loading.full || (kind === "anonymous" && loading.anonymous)) return /** @type {Promise<typeof glue>} */ (loading.full ?? loading.anonymous);
  const second = !!loading.anonymous;
  // new URL("…", import.meta.url) and literal import()s: what bundlers
  // (Vite, webpack 5) and plain <script type="module"> pages all resolve to
  // the packaged files.
  const url = kind === "anonymous" ? new URL("oidc_pkce_anonymous_bg.wasm", import.meta.url) : new URL("oidc_pkce_bg.wasm", import.meta.url);
  return (loading[kind] = (async () => {
    /** @type {{ status: number; type: string | null } | null} */
    let seen = null;
    const binary = fetch(url).then((response) => {
      seen = { status: response.status, type: response.headers.get("content-type") };
      return response;
    });
    // A failed fetch is reported once, as the AuthError below: not also as an
    // unhandled rejection of this early request.
    binary.catch(() => {});
    try {
      const g = second ? await import("./oidc_pkce_full.js") : glue;
      await g.default({ module_or_path: binary });
      return g;
    } catch (cause) {
      delete loading[kind];
      throw moduleLoadFailed(url.href, seen, cause);
    }
  })());
}

/** What the page may need first, from the options and its storage (driver/modules.js). @param {any} options */
function guess(options) {
  try {
    const page = globalThis.location ? { href: location.href, local: globalThis.localStorage, session: globalThis.sessionStorage } : {};
    return firstModule(options, page);
  } catch {
    // (Web Storage that cannot be opened here: the full module says what that means.)
    return "full";
  }
}

/**
 * Creates a client; the first call also loads a WebAssembly module. With
 * `backend` (oidc-pkce/server's routes, such as "/auth"), the backend is the
 * OAuth client and no WebAssembly is loaded.
 * @param {any} options
 */
export async function createAuthClient(options) {
  if (options?.backend !== undefined) return (await import("./backend.js")).createBackendClient(options);
  return create(load, guess(options), options);
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

/** Resolves when the full WebAssembly module is loaded (it starts loading it). */
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
