// The driver: the JS API over the core (src/wasm/, src/client/). It awaits
// the I/O (io.js) between the core's synchronous steps and branches only on
// the core's answers and on I/O outcomes (a failed request, a closed window);
// every protocol decision (what to send, what an answer means, whom to
// trust, when to refresh, retry or give up) is the core's.

import * as io from "./io.js";

/** @typedef {import("../oidc_pkce.js").Core} Core */
/** @typedef {import("../oidc_pkce.js").Login} Login */
/** @typedef {import("../oidc_pkce.js").Verification} Verification */
/** @typedef {import("../oidc_pkce.js").HttpRequest} HttpRequest */
/** @typedef {import("../oidc_pkce.js").HttpAnswer} HttpAnswer */
/** @typedef {import("../oidc_pkce.js").Effects} Effects */
/** @typedef {import("../oidc_pkce.js").Step} Step */
/** @typedef {import("../oidc_pkce.js").LoginKindName} LoginKindName */
/** @typedef {import("../oidc_pkce.js").Setup} Setup */
/** @typedef {import("../oidc_pkce.js").StepInput} StepInput */
/** @typedef {import("./io.js").Store} Store */
/** @typedef {typeof import("../oidc_pkce.js")} Wasm */

/**
 * @param {Wasm} wasm the loaded module
 * @param {any} options the app's options
 */
export async function createAuthClient(wasm, options) {
  const core = new wasm.Core(options);
  const setup = core.setup(io.dpopSupported());
  /** @param {string} name @param {unknown} app @param {boolean} tokens */
  const open = (name, app, tokens) => {
    try {
      return io.openStore(name, app);
    } catch {
      core.storeUnavailable(tokens);
      return io.openStore("none", undefined);
    }
  };
  const tx = open(setup.transactions, options.transactionStorage, false);
  const tokens = open(setup.tokens, options.tokenStorage, true);
  if (setup.warning) console.warn(setup.warning);
  if (setup.discovery) {
    const found = core.discovered(await io.http(setup.discovery, undefined, options.fetch));
    if (found.keep) await tokens.set(...found.keep).catch(() => {});
    if (found.offline) {
      const [session, doc] = found.offline;
      core.startOffline(...(await Promise.all([tokens.get(session), tokens.get(doc)]).catch(() => [])));
    }
  }
  const client = new Client(core, wasm.fail, tx, tokens, setup, options.fetch);
  await client.restore();
  io.watchStore(setup.tokens, options.tokenStorage, (key) => {
    if (key === null || key === setup.session) client.following = client.following.then(() => client.follow());
  });
  return client.api();
}

class Client {
  /** @param {Core} core @param {Wasm["fail"]} fail @param {Store} tx @param {Store} tokens @param {Setup} setup @param {io.Transport} [transport] the app's `fetch` */
  constructor(core, fail, tx, tokens, setup, transport) {
    this.core = core;
    /** The errors the driver meets, made by the core. */
    this.fail = fail;
    this.tx = tx;
    this.tokens = tokens;
    this.setup = setup;
    /** Every request goes through it (the core checked that it is a function). */
    this.transport = transport;
    /** @type {Set<(event: { type: string }) => void>} */
    this.listeners = new Set();
    /** The refreshes and silent renewals under way, by the token they get (the core's API key; "": the session's), shared by every caller. @type {Map<string, Promise<any>>} */
    this.refreshing = new Map();
    /** @type {Map<string, Promise<boolean>>} */
    this.renewing = new Map();
    /** The changes other tabs made to the stored session, followed one at a time. @type {Promise<void>} */
    this.following = Promise.resolve();
  }

  /** A storage failure as the library's error. @param {unknown} words */
  storageError(words) {
    return this.fail("storage", typeof words === "string" ? words : "do it");
  }

  /**
   * Applies what the core said: writes, removals, the hand-off, the DPoP key,
   * the event; then throws its error.
   * @param {Effects} e
   */
  async apply(e) {
    for (const [k, v] of e.set) await this.tokens.set(k, v).catch((w) => Promise.reject(this.storageError(w)));
    for (const k of e.remove) await this.tokens.remove(k).catch(() => {});
    if (e.handoff) await io.handoffSet(...e.handoff);
    const id = e.forgetKey && this.setup.dpop;
    if (id) await io.dpopForget(id).catch(() => {});
    if (e.emit) {
      for (const f of [...this.listeners]) {
        try {
          f({ type: e.emit });
        } catch {}
      }
    }
    if (e.error) throw e.error;
  }

  /** Sends a request the core builds, with its DPoP proof signed here; once more when the core says the server asked for a nonce. @param {() => HttpRequest} build */
  async send(build) {
    for (let attempt = 0; ; attempt++) {
      const req = build();
      const id = this.setup.dpop;
      const proof = req.dpopInput && id ? await this.sign(id, req.dpopInput) : undefined;
      const answer = await io.http(req, proof, this.transport);
      if (!this.core.retryWithNonce(req, answer, attempt)) return answer;
    }
  }

  /** @param {string} id @param {string} input */
  sign(id, input) {
    return io.dpopProof(id, input).catch((e) => Promise.reject(this.fail("dpopKey", String(e && e.message))));
  }

  /**
   * Reads this client's DPoP key (made when `create` and missing) into the
   * core; with `jkt`, the core requires it to be that key.
   * @param {boolean} create @param {string} [jkt]
   */
  async readKey(create, jkt) {
    const id = this.setup.dpop;
    if (!id && !jkt) return;
    const key = id ? await io.dpopKey(id, create).catch((e) => Promise.reject(this.fail("dpopKey", String(e && e.message)))) : null;
    this.core.keyRead(key?.x, key?.y, jkt);
  }

  /** The key of thumbprint `jkt` must be the one stored. @param {string | undefined} jkt */
  async requireKey(jkt) {
    if (jkt) await this.readKey(false, jkt);
  }

  /** Runs a verification to its end (the core chooses the keys; the platform checks the signature). @param {Verification} v */
  async verify(v) {
    const core = this.core;
    /** @type {StepInput} */
    let input;
    for (;;) {
      const step = core.verify(v, input);
      if (step.keep) {
        const [k, value] = step.keep;
        await (value === null ? this.tokens.remove(k) : this.tokens.set(k, value)).catch(() => {});
      }
      if (step.done) return;
      if (step.read !== undefined) input = { stored: await this.tokens.get(step.read).catch(() => null) };
      else if (step.fetch) input = { answer: await io.http(step.fetch, undefined, this.transport) };
      else if (step.check) input = await checkSignature(this.fail, step.check);
      else return;
    }
  }

  /** Before anything that needs the provider: its endpoints confirmed (after an offline start). */
  async online() {
    const req = this.core.confirmation();
    if (!req) return;
    const c = this.core.confirmed(await io.http(req, undefined, this.transport));
    if (c.effects) await this.apply(c.effects);
    if (!c.verify) return;
    try {
      await this.verify(c.verify);
    } catch (e) {
      await this.apply(this.core.failed("confirmation", e));
      throw e;
    }
  }

  /** The stored session, if it still serves. */
  async restore() {
    const get = (/** @type {string} */ k) => this.tokens.get(k).catch(() => null);
    const [stored, legacy] = await Promise.all([get(this.setup.session), get(this.setup.legacy)]);
    const r = this.core.restore(stored ?? undefined, legacy ?? undefined);
    await this.apply(r.effects).catch(() => {});
    if (!r.verify) return;
    try {
      await this.requireKey(r.jkt);
      await this.verify(r.verify);
      await this.apply(this.core.adopt(r.verify));
    } catch (e) {
      await this.apply(this.core.failed("restore", e)).catch(() => {});
    }
  }

  /** A new pending login of `kind`: stored, and its URL. @param {any} opts @param {LoginKindName} kind */
  async authorize(opts, kind) {
    return (await this.pending(opts, kind)).url;
  }

  /** A new pending login of `kind`: stored; its URL and storage key. @param {any} opts @param {LoginKindName} kind */
  async pending(opts, kind) {
    const core = this.core;
    await this.online();
    await this.readKey(true);
    const a = core.authorize(opts, kind);
    const url = a.push ? core.pushed(await io.http(a.push, undefined, this.transport)) : /** @type {string} */ (a.url);
    await this.forgetStale();
    await this.tx.set(...a.pending).catch((w) => Promise.reject(this.storageError(w)));
    return { url, key: a.pending[0] };
  }

  /** Best effort: a leftover pending login that cannot be removed does no harm. */
  async forgetStale() {
    try {
      const keys = this.core.pendingKeys((await this.tx.keys()) ?? []);
      const values = await Promise.all(keys.map((k) => this.tx.get(k)));
      for (const k of this.core.stalePending(keys, values)) await this.tx.remove(k);
    } catch {}
  }

  /**
   * Completes a login of `kind` from its callback URL: the pending login
   * taken out of storage before any network call (a callback works once),
   * the code exchanged, the ID token verified, the session adopted.
   * @param {string} url @param {LoginKindName} kind
   */
  async finishLogin(url, kind) {
    const core = this.core;
    const login = core.callback(url, kind);
    await this.online();
    const keys = await this.tx.keys().catch((w) => Promise.reject(this.storageError(w)));
    const key = core.claim(login, keys);
    let value;
    try {
      value = await this.tx.get(key).catch((w) => Promise.reject(this.storageError(w)));
      await this.tx.remove(key).catch((w) => Promise.reject(this.storageError(w)));
    } catch (e) {
      core.release(login);
      throw e;
    }
    const jkt = core.takePending(login, value ?? undefined);
    try {
      await this.requireKey(jkt);
      // The key set is fetched while the code is exchanged: one round trip of
      // waiting instead of two. (A failure here is reported by the verification.)
      const keys = this.prefetchKeys();
      const answer = await this.send(() => core.tokenRequest(login));
      const v = core.exchanged(login, answer);
      await keys;
      await this.verify(v);
      const adopted = core.adopt(v);
      await this.apply(adopted);
      return { appState: adopted.appState === undefined ? undefined : JSON.parse(adopted.appState) };
    } catch (e) {
      await this.apply(core.loginFailed(login));
      throw e;
    }
  }

  /** Readies the provider's key set ahead of a verification, as the core decides; errors are left to the verification. */
  prefetchKeys() {
    return this.verify(this.core.keysAhead()).catch(() => {});
  }

  /**
   * Signs in through `target` (a popup opened by the caller, or a hidden
   * iframe): the login sent there, the callback read when it arrives, the
   * code exchanged here. The window is disposed of whatever happens.
   * @param {Window | HTMLIFrameElement} target @param {any} opts @param {LoginKindName} kind
   */
  async loginIn(target, opts, kind) {
    const core = this.core;
    let outcome;
    try {
      const timeout = core.timeoutMs(opts, kind);
      io.go(target, await this.authorize(opts, kind));
      outcome = await io.waitForRedirect(target, (href) => core.arrived(href), timeout);
    } finally {
      io.dispose(target);
    }
    if (outcome.url) return this.finishLogin(outcome.url, kind);
    if (outcome.closed && kind !== "popup") return null;
    throw this.fail(outcome.closed ? "closed" : kind === "popup" ? "popupTimeout" : "silentTimeout", String(core.timeoutMs(opts, kind)));
  }

  /** Silent authentication (prompt=none): true when the provider signed the user in. @param {any} opts @param {LoginKindName} kind */
  async silent(opts, kind) {
    const frame = io.openFrame();
    if (!frame) return false; // no document to hold an iframe (a worker)
    try {
      return (await this.loginIn(frame, opts, kind)) !== null;
    } catch (e) {
      if (this.core.userMustInteract(e)) return false;
      throw e;
    }
  }

  /**
   * The access token `opts` asks for (`audience`, `scope`: an API's, kept
   * apart; none: the session's own), refreshed or renewed first as the core
   * says.
   * @param {boolean} force @param {any} opts
   */
  async accessToken(force, opts) {
    return (await this.tokenFor(force, opts)).token;
  }

  /** The same, with the core's key of the token (none: the session's). @param {boolean} force @param {any} opts */
  async tokenFor(force, opts) {
    const core = this.core;
    const plan = core.accessPlan(force, opts);
    const api = plan.api;
    if (plan.use !== undefined) return { token: plan.use, api };
    if (plan.refresh) {
      await this.refreshShared(undefined, !force, api);
      return { token: core.accessToken(true, api), api };
    }
    // One silent authentication for every caller asking for the same token at once.
    const key = api ?? "";
    let renewal = this.renewing.get(key);
    if (!renewal) {
      renewal = (api ? this.silent({ audience: opts?.audience, scope: opts?.scope }, "api") : this.silent(undefined, "renewal")).finally(
        () => this.renewing.delete(key),
      );
      this.renewing.set(key, renewal);
    }
    return { token: core.accessToken(await renewal, api), api };
  }

  /**
   * One refresh for every caller in this page asking for the same token, and
   * one at a time across tabs (Web Locks).
   * @param {string | undefined} scope @param {boolean} onlyIfStale @param {string} [api]
   */
  refreshShared(scope, onlyIfStale, api) {
    const key = api ?? "";
    let refresh = this.refreshing.get(key);
    if (!refresh) {
      refresh = io
        .withLock(this.setup.lock, () => this.refreshLocked(scope, onlyIfStale, api))
        .finally(() => this.refreshing.delete(key));
      this.refreshing.set(key, refresh);
    }
    return refresh;
  }

  /**
   * Under the lock: take up what another tab stored meanwhile, and refresh only if still needed.
   * @param {string | undefined} scope @param {boolean} onlyIfStale @param {string} [api]
   */
  async refreshLocked(scope, onlyIfStale, api) {
    const core = this.core;
    await this.online();
    await this.adoptShared();
    const plan = core.refreshPlan(onlyIfStale, api);
    if (plan.fresh) return;
    await this.requireKey(plan.jkt);
    let answer;
    for (let attempt = 0; ; attempt++) {
      answer = await this.send(() => core.refreshRequest(scope, api));
      const wait = core.refreshRetryMs(answer, attempt);
      if (wait === undefined) break;
      await io.sleep(wait);
    }
    const r = core.refreshed(answer, api);
    if (r.effects) return this.apply(r.effects);
    if (r.verify) {
      await this.verify(r.verify);
      await this.apply(core.adopt(r.verify));
    }
  }

  /**
   * Another tab changed the stored session: this tab follows it (signed in,
   * refreshed, signed out, another user), as the core decides; a value that
   * cannot be read or verified leaves this tab as it is. Never rejects.
   */
  async follow() {
    try {
      const stored = await this.tokens.get(this.setup.session);
      const s = this.core.notified(stored ?? undefined);
      if (s.effects) await this.apply(s.effects);
      if (s.verify) {
        await this.verify(s.verify);
        await this.apply(this.core.adopt(s.verify));
      }
    } catch {}
  }

  /** Another tab sharing tokenStorage may have refreshed or signed out: the stored session is the newer truth. */
  async adoptShared() {
    const key = this.setup.session;
    const handed = this.setup.shared ? await io.handoffGet(key) : undefined;
    const stored = await this.tokens.get(key).catch((w) => Promise.reject(this.storageError(w)));
    const s = this.core.shared(handed, stored ?? undefined);
    if (s.effects) await this.apply(s.effects);
    if (s.verify) {
      await this.verify(s.verify);
      this.core.adopt(s.verify);
    }
  }

  /** @param {string} what "logout" | "tokens" */
  async revoke(what) {
    const core = this.core;
    await this.online();
    for (const req of core.revocations(/** @type {"logout" | "tokens"} */ (what))) {
      core.revoked(await this.send(() => req), /** @type {"logout" | "tokens"} */ (what));
    }
  }

  /**
   * Sends the browser to `url`: the app's openUrl (awaited: what it resolves
   * to), or location.assign. openUrl throwing is the app's failure; its
   * promise rejecting is the user cancelling a login (`login_cancelled`).
   * @param {unknown} openUrl @param {string} url @param {boolean} [login]
   * @returns {Promise<unknown>}
   */
  async open(openUrl, url, login) {
    const core = this.core;
    if (openUrl === undefined || openUrl === null) {
      if (typeof location === "undefined") throw this.fail("noWindow");
      try {
        location.assign(url);
      } catch {
        throw this.fail("navigate");
      }
      return;
    }
    if (typeof openUrl !== "function") throw this.fail("openUrlType");
    /** @param {unknown} e */
    const words = (e) => (typeof e === "string" ? e : String((e instanceof Error && e.message) || "unknown error"));
    let opened;
    try {
      opened = openUrl(url);
    } catch (e) {
      throw this.fail("openUrl", words(e));
    }
    try {
      return await opened;
    } catch (e) {
      throw this.fail(login ? "cancelled" : "openUrl", words(e));
    }
  }

  /** The key the session's tokens are bound to, read. */
  async bindingKey() {
    await this.requireKey(this.core.binding());
  }

  /** The public API: a plain object of methods. */
  api() {
    const self = this;
    const core = this.core;
    return {
      issuer: self.setup.issuer,
      /** @param {any} opts */
      buildAuthorizeUrl: (opts) => self.authorize(opts, "redirect"),
      /** @param {any} opts */
      async loginWithRedirect(opts) {
        const { url, key } = await self.pending(opts, "redirect");
        let back;
        try {
          back = await self.open(opts?.openUrl, url, true);
        } catch (e) {
          // Cancelled or not opened: no pending login is left behind.
          await self.tx.remove(key).catch(() => {});
          throw e;
        }
        // An auth session (ASWebAuthenticationSession, Custom Tabs) hands back the callback URL.
        if (typeof back === "string") return self.finishLogin(back, "redirect");
      },
      /** @param {string} [url] */
      isRedirectCallback: (url) => core.arrived(url ?? location.href),
      /** @param {string} [url] */
      async handleRedirectCallback(url) {
        if (url === undefined) {
          if (typeof location === "undefined") throw self.fail("noCallback");
          url = location.href;
        }
        // In a popup or iframe of loginWithPopup or checkSession: the waiting page exchanges the code.
        if (io.handToOpener(url)) return { appState: undefined };
        return self.finishLogin(url, "redirect");
      },
      /** @param {any} opts */
      loginWithPopup(opts) {
        // Synchronously, while the click's user activation lasts.
        const popup = io.openPopup();
        if (popup === undefined) return Promise.reject(self.fail("busy"));
        if (popup === null) return Promise.reject(self.fail("blocked"));
        return self.loginIn(popup, opts, "popup");
      },
      /** @param {any} opts */
      checkSession: (opts) => self.silent(opts, "silent"),
      getTokens: () => core.session().tokens,
      isAuthenticated: () => core.session().authenticated,
      getIdTokenClaims: () => core.session().claims,
      getUser: () => core.session().user,
      async fetchUserInfo() {
        const token = self.accessToken(false, undefined);
        token.catch(() => {}); // (awaited below)
        await self.online();
        await token;
        await self.bindingKey();
        return core.userinfo(await self.send(() => core.userinfoRequest()));
      },
      /** @param {any} opts */
      buildLogoutUrl: (opts) => core.logoutUrl(opts),
      /** @param {any} opts */
      async logout(opts) {
        core.checkLogout(opts);
        try {
          await self.online();
        } catch (e) {
          // The kept discovery document is never trusted to send the browser anywhere.
          await self.apply(core.forget());
          throw e;
        }
        const target = core.logoutTarget(opts);
        // RFC 7009: the refresh token stops working at the provider too (best effort).
        await self.revoke("logout").catch(() => {});
        await self.apply(core.forget());
        if (target) await self.open(opts?.openUrl, target);
      },
      async revokeTokens() {
        await self.revoke("tokens");
        await self.apply(core.forget());
      },
      /** @param {any} opts */
      getAccessToken: (opts) => self.accessToken(!!opts?.forceRefresh, opts),
      /** @param {RequestInfo | URL} input @param {any} [init] the request's, and the token's `audience` and `scope` */
      async fetchWithAuth(input, init) {
        const { audience, scope, ...requestInit } = init ?? {};
        const { api } = await self.tokenFor(false, { audience, scope });
        let request;
        try {
          request = new Request(input, requestInit);
        } catch (e) {
          throw self.fail("request", String((e instanceof Error && e.message) || e));
        }
        await self.bindingKey();
        const id = self.setup.dpop;
        for (let attempt = 0; ; attempt++) {
          const credentials = core.resourceCredentials(request.method, request.url, request.mode, api);
          // The app's request as it made it (its own signal, credentials,
          // body), from a clone: a retry has the body again.
          const r = request.clone();
          r.headers.set("Authorization", credentials.authorization);
          if (credentials.dpopInput && id) r.headers.set("DPoP", await self.sign(id, credentials.dpopInput));
          let response;
          try {
            response = await (self.transport ?? fetch)(r);
          } catch (e) {
            throw self.fail("network", `${request.url} failed (${String((e instanceof Error && e.message) || e)})`);
          }
          if (!Number.isInteger(response?.status) || typeof response.headers?.get !== "function") {
            throw self.fail("network", `${request.url}: the fetch option gave something that is not a Response`);
          }
          /** @type {HttpAnswer} */
          const answer = {
            status: response.status,
            body: "",
            dpopNonce: response.headers.get("dpop-nonce"),
            wwwAuthenticate: response.headers.get("www-authenticate"),
          };
          if (!core.retryWithNonce({ url: request.url, ...credentials }, answer, attempt)) return response;
        }
      },
      /** @param {any} opts */
      async refresh(opts) {
        core.accessPlan(false, undefined); // not signed in: login_required
        await self.refreshShared(opts?.scope, false);
        return core.session().tokens;
      },
      /** @param {(event: { type: string }) => void} callback */
      onSessionChange(callback) {
        /** @param {{ type: string }} event */
        const listener = (event) => callback(event);
        self.listeners.add(listener);
        return () => void self.listeners.delete(listener);
      },
    };
  }
}

/**
 * `verifyIdToken`: the signature (crypto.subtle, or the fallback module)
 * and every claim check, against the app's key set.
 * @param {Wasm} wasm @param {string} idToken @param {any} options
 */
export async function verify(wasm, idToken, options) {
  const v = wasm.Verification.ofToken(idToken, options);
  try {
    const step = v.step(undefined);
    if (step.check) v.step(await checkSignature(wasm.fail, step.check));
    return v.claims();
  } finally {
    v.free();
  }
}

/**
 * Checks a signature the core chose the key and algorithm for: the
 * platform's answer, or why it could not check it.
 * @param {Wasm["fail"]} fail
 * @param {NonNullable<Step["check"]>} check
 * @returns {Promise<{ valid: boolean; why?: string }>}
 */
async function checkSignature(fail, check) {
  try {
    return { valid: (await io.verifySignature(check)) === true };
  } catch (e) {
    const why = String((e instanceof Error && e.message) || e);
    if (e instanceof Error && e.name === "VerifierLoadError") throw fail("verifier", why);
    return { valid: false, why };
  }
}
