// Which of the package's two WebAssembly modules a page loads first.
//
// The full module does everything. The anonymous one is the same core with
// only what a page without a session needs (create the client, build the
// authorization URL, store the pending login, say there is no session): a
// page nobody is signed in to downloads about half. The guess is made before
// either is loaded, from the options and the storage keys the core names
// (`SESSION_KEYS`, src/session.rs; a cargo test keeps the two equal); a
// page that guessed "anonymous" wrongly still works: the anonymous core's
// setup names the session's key, the driver finds something stored there
// (or a call needs more) and loads the full module then, only later.

/** The prefix of every key the core stores a session under (src/session.rs). */
export const SESSION_KEYS = "oidc-pkce:session:";

/**
 * The methods of the core the driver calls on the anonymous module; the
 * build keeps these exports (and wasm-bindgen's own) and drops the rest.
 */
export const ANONYMOUS_CORE = [
  "new", "setup", "storeUnavailable", "discovered", "confirmation", "keyRead", "authorize", "pushed",
  "pendingKeys", "stalePending", "arrived", "session", "logoutUrl", "following",
];

/**
 * "full" for a page that may have a session or be a callback (or whose
 * storage cannot be listed at once: an adapter); "anonymous" otherwise.
 * @param {any} options the app's options
 * @param {{ href?: string; local?: Storage | null; session?: Storage | null }} page
 * @returns {"full" | "anonymous"}
 */
export function firstModule(options, page) {
  const where = options?.tokenStorage ?? "session";
  if (typeof where !== "string") return "full";
  if (page.href && looksLikeCallback(page.href)) return "full";
  if (where === "memory") return "anonymous";
  const store = where === "local" ? page.local : where === "session" ? page.session : null;
  if (!store) return "full";
  try {
    for (let i = 0; i < store.length; i++) if (store.key(i)?.startsWith(SESSION_KEYS)) return "full";
  } catch {
    return "full";
  }
  return "anonymous";
}

/**
 * An authorization response may be in `href` (RFC 6749 §4.1.2: `state` with
 * `code` or `error`), in its query or, for a custom redirect, its fragment.
 * Broader than the core's rule (any path, any order): a wrong "full" only
 * costs bytes.
 * @param {string} href
 */
const looksLikeCallback = (href) => /[?&#]state=/.test(href) && /[?&#](code|error)=/.test(href);
