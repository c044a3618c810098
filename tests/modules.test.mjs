// Which module a page loads first (js/driver/modules.js): the guess, row by
// row. The pages themselves, and a wrong guess, are in tests/e2e/modules.test.mjs.
import assert from "node:assert/strict";
import { test } from "node:test";
import { firstModule, SESSION_KEYS } from "../js/driver/modules.js";

/** Web Storage holding `keys` (what the guess reads: length and key(i)). */
const storage = (...keys) => ({ length: keys.length, key: (/** @type {number} */ i) => keys[i] ?? null });
const SESSION = `${SESSION_KEYS}https%3A%2F%2Fid.example.com:app`;
const page = (over = {}) => ({ href: "https://app.example/", session: storage(), local: storage(), ...over });

test("the full module where a session may be stored or the page is a callback; the anonymous one otherwise", () => {
  const adapter = { get() {}, set() {}, remove() {} };
  for (const [why, options, at, want] of [
    ["nothing stored, the default storage (session)", {}, page(), "anonymous"],
    ["only other keys (a pending login, a key set, the app's)", {}, page({ session: storage("oidc-pkce:tx:x", "oidc-pkce:jwks:y", "theme") }), "anonymous"],
    ["a session in sessionStorage", {}, page({ session: storage("theme", SESSION) }), "full"],
    ["a legacy session key (same prefix)", {}, page({ session: storage(`${SESSION_KEYS}app`) }), "full"],
    ["tokenStorage local, a session there", { tokenStorage: "local" }, page({ local: storage(SESSION) }), "full"],
    ["tokenStorage local, a session only in sessionStorage", { tokenStorage: "local" }, page({ session: storage(SESSION) }), "anonymous"],
    ["tokenStorage session, a session only in localStorage", { tokenStorage: "session" }, page({ local: storage(SESSION) }), "anonymous"],
    ["tokenStorage memory: nothing can be stored", { tokenStorage: "memory" }, page({ session: storage(SESSION) }), "anonymous"],
    ["an adapter: its keys cannot be listed at once", { tokenStorage: adapter }, page(), "full"],
    ["a storage name the core refuses: it says why", { tokenStorage: "cookies" }, page(), "full"],
    ["no Web Storage here", {}, page({ session: null }), "full"],
    ["a code and a state in the query", {}, page({ href: "https://app.example/cb?code=c&state=s" }), "full"],
    ["an error and a state", {}, page({ href: "https://app.example/cb?state=s&error=access_denied" }), "full"],
    ["a response in the fragment (a custom scheme)", { tokenStorage: "memory" }, page({ href: "com.example.app://cb#state=s&code=c" }), "full"],
    ["a state alone is no response", {}, page({ href: "https://app.example/?state=s" }), "anonymous"],
    ["a code alone is no response", {}, page({ href: "https://app.example/?code=c" }), "anonymous"],
    ["parameters that only end in code= and state=", {}, page({ href: "https://app.example/?zipcode=1&nostate=2" }), "anonymous"],
    ["no options at all (the core says what is wrong)", undefined, page(), "anonymous"],
  ]) {
    assert.equal(firstModule(options, at), want, why);
  }
});

test("storage that throws when listed: the full module, which reports it", () => {
  const throwing = {
    get length() {
      throw new Error("SecurityError");
    },
    key: () => null,
  };
  assert.equal(firstModule({}, page({ session: /** @type {any} */ (throwing) })), "full");
});
