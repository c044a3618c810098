// The driver: the JS API over the core (src/wasm/, src/client/). It awaits
// the I/O (io.js) between the core's synchronous steps and branches only on
// the core's answers and on I/O outcomes (a failed request, a closed window);
// every protocol decision (what to send, what an answer means, whom to
// trust, when to refresh, retry or give up) is the core's, and so is time:
// the driver asks the core before an operation that must not run twice at
// once (`begin`: start, join or wait) and says when it ended, keeping only
// the flights' promises; a result lands only on the session it began from.

import * as io from "./io.js";

/** @typedef {import("../oidc_pkce.js").Core} Core @typedef {import("../oidc_pkce.js").Access} Access */
/** @typedef {import("../oidc_pkce.js").Flight} Flight @typedef {import("../oidc_pkce.js").Verification} Verification */
/** @typedef {import("../oidc_pkce.js").HttpRequest} HttpRequest @typedef {import("../oidc_pkce.js").HttpAnswer} HttpAnswer */
/** @typedef {import("../oidc_pkce.js").Effects} Effects @typedef {import("../oidc_pkce.js").Check} Check */
/** @typedef {import("../oidc_pkce.js").LoginKindName} LoginKindName @typedef {import("../oidc_pkce.js").Setup} Setup */
/** @typedef {import("../oidc_pkce.js").StepInput} StepInput @typedef {import("./io.js").Store} Store */
/** @typedef {typeof import("../oidc_pkce.js")} Wasm */
/** @typedef {{ effects?: Effects; verify?: Verification; again?: true }} Shared */

/** The flights under way in this page, every client's, by the core's id: their promises. @type {Map<number, Promise<any>>} */
const flights = new Map();

/** Client APIs by their object, for the framework bindings (see `binding`). @type {WeakMap<object, Client>} */
const made = new WeakMap();

/** @param {unknown} e */
const words = (e) => String((e instanceof Error && e.message) || e);

/**
 * @param {(kind: "full" | "anonymous") => Promise<Wasm>} load loads a module (once)
 * @param {"full" | "anonymous"} first the module the page guessed it needs (modules.js)
 * @param {any} options the app's options
 */
export async function createAuthClient(load, first, options) {
  const client = new Client(load, options);
  await client.start(first, true);
  // Another tab (or the adapter's other writer) changed the store: the core says whether it is ours.
  const unwatch = io.watchStore(client.setup.tokens, options.tokenStorage, (key) => client.follow(key ?? undefined));
  const api = client.api(unwatch);
  made.set(api, client);
  return api;
}

/**
 * For the framework bindings: the client's identity (its provider and
 * client id, as the core names them), and the core's rules for the address
 * after a callback (without the spent response; `appState.returnTo`), which
 * only the full module has: a client still on the anonymous one has handled
 * no callback.
 * @param {object} client
 */
export function binding(client) {
  const c = made.get(client);
  return c && { id: c.setup.id, after: (/** @type {string} */ href, /** @type {unknown} */ to) => (c.full ? c.core.afterCallback(href, to) : []) };
}

class Client {
  /** @param {(kind: "full" | "anonymous") => Promise<Wasm>} load @param {any} options */
  constructor(load, options) {
    this.load = load;
    this.options = options;
    /** Every request goes through it (the core checked that it is a function). @type {io.Transport} */
    this.transport = options?.fetch;
    /** @type {Set<(event: { type: string }) => void>} */
    this.listeners = new Set();
    /** Whether the core is the full module's. */
    this.full = false;
    /** The discovery document's answer, for the full module after the anonymous one. @type {HttpAnswer | undefined} */
    this.discovery = undefined;
    /** @type {Promise<void> | undefined} */
    this.upgrading = undefined;
    /** The setup's warning, once said. @type {string | undefined} */
    this.warned = undefined;
    // (Set by start.)
    /** @type {Core} */ this.core = /** @type {any} */ (undefined);
    /** @type {Setup} */ this.setup = /** @type {any} */ (undefined);
    /** @type {Wasm["fail"]} */ this.fail = /** @type {any} */ (undefined);
    /** @type {Store} */ this.tx = /** @type {any} */ (undefined);
    /** @type {Store} */ this.tokens = /** @type {any} */ (undefined);
  }

  /**
   * Makes this client's core in the module `kind` (the anonymous one only
   * while nothing needs more) and opens its stores; on creation, restores
   * the stored session (which needs the full module: found there, it is
   * loaded then). Later, a session is another tab's change, which `follow`
   * takes up.
   * @param {"full" | "anonymous"} kind @param {boolean} creating
   * @returns {Promise<void>}
   */
  async start(kind, creating) {
    const options = this.options;
    const wasm = await this.load(kind);
    const core = new wasm.Core(options);
    const setup = core.setup(io.dpopSupported(), globalThis.location?.href);
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
    if (setup.warning && !this.warned) console.warn((this.warned = setup.warning));
    const full = kind === "full";
    if (setup.seal && full) core.seal(await io.sealSecret());
    if (setup.discovery) {
      // (One fetch of the document per client: the full module reads the anonymous one's.)
      const answer = (this.discovery ??= await io.http(setup.discovery, undefined, this.transport));
      const found = core.discovered(answer);
      if (found.keep) await tokens.set(...found.keep).catch(() => {});
      if (found.offline) {
        // An offline start reads the stored session: the full module's.
        if (!full) return this.start("full", creating);
        const [session, doc] = found.offline;
        core.startOffline(...(await Promise.all([tokens.get(session), tokens.get(doc)]).catch(() => [])));
      }
    }
    Object.assign(this, { core, setup, tx, tokens, full, fail: wasm.fail });
    if (creating) await this.restore();
  }

  /** The full module's core, loaded once for every caller that needs it. */
  async complete() {
    if (this.full) return;
    await (this.upgrading ??= this.start("full", false).finally(() => (this.upgrading = undefined)));
  }

  /**
   * Runs `work` as the flight the core begins, or joins the one under way
   * (its outcome is this one's), or waits for it to end and asks again; or
   * nothing, when the core says there is nothing to do.
   * @template T @param {() => Flight} begin @param {() => Promise<T>} work
   * @returns {Promise<T>}
   */
  async fly(begin, work) {
    for (;;) {
      const b = begin();
      if (b.start !== undefined) {
        const run = work();
        flights.set(b.start, run);
        try {
          return await run;
        } finally {
          flights.delete(b.start);
          this.core.end(b.start);
        }
      }
      const id = b.join ?? b.after;
      if (id === undefined) return /** @type {T} */ (undefined); // nothing to do
      if (b.join !== undefined) return flights.get(id);
      await flights.get(id)?.catch(() => {});
    }
  }

  /** A storage operation whose refusal is the call's `storage_error`. @template T @param {Promise<T>} p */
  strict(p) {
    return p.catch((w) => Promise.reject(this.fail("storage", typeof w === "string" ? w : "do it")));
  }

  /**
   * Applies what the core said: writes, removals, the hand-off, the DPoP key,
   * the event; then throws its error.
   * @param {Effects} e
   */
  async apply(e) {
    for (const [k, v] of e.set) await this.strict(this.tokens.set(k, v));
    for (const k of e.remove) await this.tokens.remove(k).catch(() => {});
    if (e.handoff) await io.handoffSet(...e.handoff);
    const id = e.forgetKey && this.setup.dpop;
    if (id) await io.dpopForget(id).catch(() => {});
    for (const f of e.emit ? [...this.listeners] : []) {
      try {
        f({ type: /** @type {string} */ (e.emit) });
      } catch {}
    }
    if (e.error) throw e.error;
  }

  /** A DPoP proof over the core's signing input, with this client's key. @param {string} input */
  proof(input) {
    return io.dpopProof(/** @type {string} */ (this.setup.dpop), input).catch((e) => Promise.reject(this.fail("dpopKey", words(e))));
  }

  /** Sends a request the core builds, with its DPoP proof; once more when the core says the server asked for a nonce. @param {() => HttpRequest} build */
  async send(build) {
    for (let attempt = 0; ; attempt++) {
      const req = build();
      const proof = req.dpopInput && this.setup.dpop ? await this.proof(req.dpopInput) : undefined;
      const answer = await io.http(req, proof, this.transport);
      if (!this.core.retryWithNonce(req, answer, attempt)) return answer;
    }
  }

  /**
   * Reads this client's DPoP key (made when `create` and missing) into the
   * core; with `jkt`, the core requires it to be that key.
   * @param {boolean} create @param {string} [jkt]
   */
  async readKey(create, jkt) {
    const id = this.setup.dpop;
    if (!id && !jkt) return;
    const key = id ? await io.dpopKey(id, create).catch((e) => Promise.reject(this.fail("dpopKey", words(e)))) : null;
    this.core.keyRead(key?.x, key?.y, jkt);
  }

  /** Runs a verification to its end (the core chooses the keys; the platform checks the signature). @param {Verification} v */
  async verify(v) {
    /** @type {StepInput} */
    let input;
    for (;;) {
      const step = this.core.verify(v, input);
      if (step.keep) {
        const [k, value] = step.keep;
        await (value === null ? this.tokens.remove(k) : this.tokens.set(k, value)).catch(() => {});
      }
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
      await this.apply(this.core.failed(c.verify, e));
      throw e;
    }
  }

  /** The stored session, if it still serves. */
  async restore() {
    const get = (/** @type {string} */ k) => this.tokens.get(k).catch(() => null);
    const [stored, legacy] = await Promise.all([get(this.setup.session), get(this.setup.legacy)]);
    // The anonymous module cannot read a session: the full one, now that one is there.
    if (!this.full) return stored === null && legacy === null ? undefined : this.start("full", true);
    const r = this.core.restore(stored ?? undefined, legacy ?? undefined);
    await this.apply(r.effects).catch(() => {});
    if (!r.verify) return;
    try {
      if (r.jkt) await this.readKey(false, r.jkt);
      await this.verify(r.verify);
      await this.apply(this.core.adopt(r.verify));
    } catch (e) {
      await this.apply(this.core.failed(r.verify, e)).catch(() => {});
    }
  }

  /**
   * Another tab's session, read after the session's generation now, judged
   * by the core (`judge`): taken up, ended here, or read again when this
   * session changed during the read.
   * @param {() => Promise<[string | undefined, string | null]>} read @param {(handed: string | undefined, stored: string | undefined, since: number) => Shared} judge
   */
  async takeUp(read, judge) {
    for (;;) {
      const since = this.core.since();
      const [handed, stored] = await read();
      const s = judge(handed, stored ?? undefined, since);
      if (s.again) continue;
      if (s.effects) await this.apply(s.effects);
      if (!s.verify) return;
      await this.verify(s.verify);
      const adopted = this.core.adopt(s.verify);
      if (!adopted.stale) return this.apply(adopted);
    }
  }

  /**
   * A new pending login of `kind` (with `access`: silent authentication for
   * its token, of the core's kind): stored; its URL, storage key and kind.
   * @param {any} opts @param {LoginKindName} kind @param {Access} [access]
   */
  async pending(opts, kind, access) {
    const core = this.core;
    await this.online();
    await this.readKey(true);
    const a = access ? core.renewal(access) : { ...core.authorize(opts, kind), kind };
    const url = a.push ? core.pushed(await io.http(a.push, undefined, this.transport)) : /** @type {string} */ (a.url);
    // Best effort: a leftover pending login that cannot be removed does no harm.
    try {
      const keys = core.pendingKeys((await this.tx.keys()) ?? []);
      const values = await Promise.all(keys.map((k) => this.tx.get(k)));
      for (const k of core.stalePending(keys, values)) await this.tx.remove(k);
    } catch {}
    await this.strict(this.tx.set(...a.pending));
    return { url, key: a.pending[0], kind: a.kind };
  }

  /**
   * Completes a login of `kind` from its callback URL: its state claimed in
   * the page (until the login is freed) and its pending login taken out of
   * storage before any network call (a callback works once), the code
   * exchanged while the key set is readied, the ID token verified, the
   * session adopted (or, for a renewal whose session changed meanwhile, stale).
   * @param {string} url @param {LoginKindName} kind
   */
  async finishLogin(url, kind) {
    await this.complete();
    const core = this.core;
    const login = core.callback(url, kind);
    try {
      await this.online();
      const key = core.claim(login, await this.strict(this.tx.keys()));
      const value = await this.strict(this.tx.get(key));
      await this.strict(this.tx.remove(key));
      const jkt = core.takePending(login, value ?? undefined);
      try {
        if (jkt) await this.readKey(false, jkt);
        // One round trip of waiting instead of two (a failure is the verification's to report).
        const keys = this.verify(core.keysAhead()).catch(() => {});
        const v = core.exchanged(login, await this.send(() => core.tokenRequest(login)));
        await keys;
        await this.verify(v);
        const adopted = core.adopt(v);
        await this.apply(adopted);
        return adopted.stale ? { stale: true } : { appState: adopted.appState === undefined ? undefined : JSON.parse(adopted.appState) };
      } catch (e) {
        await this.apply(core.loginFailed(login));
        throw e;
      }
    } finally {
      login.free();
    }
  }

  /**
   * Signs in through `target` (a popup opened by the caller, or a hidden
   * iframe): the login sent there, the callback read when it arrives, the
   * code exchanged here; null when the window gave nothing back and the core
   * says that is no login. The window is disposed of whatever happens.
   * @param {Window | HTMLIFrameElement | null} target @param {any} opts @param {LoginKindName} kind @param {Access} [access]
   */
  async loginIn(target, opts, kind, access) {
    try {
      await this.complete();
    } catch (e) {
      if (target) io.dispose(target);
      throw e;
    }
    const core = this.core;
    const timeout = core.timeoutMs(opts, kind);
    if (!target) return core.windowOutcome(kind, "missing", timeout) ?? null; // no document for an iframe (a worker)
    let outcome;
    try {
      const p = await this.pending(opts, kind, access);
      kind = p.kind;
      io.go(target, p.url);
      outcome = await io.waitForRedirect(target, (href) => core.arrived(href), timeout);
    } finally {
      io.dispose(target);
    }
    if (outcome.url) return this.finishLogin(outcome.url, kind);
    return core.windowOutcome(kind, outcome.closed ? "closed" : "timeout", timeout) ?? null;
  }

  /** Silent authentication (prompt=none): the login when the provider signed the user in; null when it wants the user. @param {any} opts @param {LoginKindName} kind @param {Access} [access] */
  async silent(opts, kind, access) {
    try {
      return await this.loginIn(io.openFrame(), opts, kind, access);
    } catch (e) {
      if (this.core.userMustInteract(e)) return null;
      throw e;
    }
  }

  /**
   * The token `opts` asks for (with `refresh`: the session's, refreshed), as
   * `work` uses it: refreshed or renewed first as the core plans, and planned
   * again when the session changed under it.
   * @template T @param {any} opts @param {boolean} refresh @param {(a: Access) => Promise<T>} work
   */
  async withToken(opts, refresh, work) {
    await this.complete();
    const core = this.core;
    const access = core.access(opts, refresh);
    try {
      if (refresh) await this.refresh(access);
      else
        for (;;) {
          const plan = core.accessPlan(access);
          if (plan.use !== undefined || !(plan.refresh ? await this.refresh(access) : await this.renew(access))) break;
        }
      return await work(access);
    } finally {
      access.free();
    }
  }

  /**
   * Silent authentication for the token `access` asks for (no refresh
   * token), one per token for every caller: true when the session it was
   * for changed meanwhile.
   * @param {Access} access
   */
  renew(access) {
    return this.fly(
      () => this.core.begin("renewal", access),
      async () => {
        const r = await this.silent(undefined, "renewal", access);
        if (!r) this.core.accessToken(access, false);
        return !!r?.stale;
      },
    );
  }

  /**
   * One refresh at a time per refresh token in the page (the calls for the
   * same token share it), one at a time across tabs (Web Locks), after
   * taking up what another tab stored meanwhile: true when the session it
   * was for changed meanwhile.
   * @param {Access} access
   */
  refresh(access) {
    const core = this.core;
    const key = this.setup.session;
    return this.fly(
      () => core.begin("refresh", access),
      async () => {
        const release = await io.lock(this.setup.lock);
        try {
          await this.online();
          await this.takeUp(
            async () => [this.setup.shared ? await io.handoffGet(key) : undefined, await this.strict(this.tokens.get(key))],
            (handed, stored, since) => core.shared(handed, stored, since),
          );
          const plan = core.refreshPlan(access);
          if (plan.fresh) return false;
          if (plan.jkt) await this.readKey(false, plan.jkt);
          let answer;
          for (let attempt = 0; ; attempt++) {
            answer = await this.send(() => core.refreshRequest(access));
            const wait = core.refreshRetryMs(answer, attempt);
            if (wait === undefined) break;
            await io.sleep(wait);
          }
          const r = core.refreshed(access, answer);
          for (const req of r.revoke ?? []) await io.http(req, undefined, this.transport);
          if (r.effects) await this.apply(r.effects);
          if (!r.verify) return !!r.stale;
          await this.verify(r.verify);
          const adopted = core.adopt(r.verify);
          await this.apply(adopted);
          return !!adopted.stale;
        } finally {
          release();
        }
      },
    );
  }

  /**
   * Another tab changed `key` of the store (none: maybe every key): this tab
   * follows it (signed in, refreshed, signed out, another user), one change
   * at a time; a value that cannot be read or verified leaves it as it is.
   * @param {string} [key]
   * @returns {Promise<void>}
   */
  follow(key) {
    const core = this.core;
    // The anonymous module follows no session: the full one does, when the key is the session's.
    if (!this.full) {
      const b = core.following(key);
      return b.start === undefined && b.join === undefined && b.after === undefined
        ? Promise.resolve()
        : this.complete().then(
            () => this.follow(key),
            () => {},
          );
    }
    return this.fly(
      () => core.following(key),
      () =>
        this.takeUp(
          async () => [undefined, await this.tokens.get(this.setup.session)],
          (_, stored, since) => core.notified(stored, since),
        ),
    ).catch(() => {});
  }

  /** RFC 7009 revocation: the ended session's refresh token ("logout"), or both tokens. @param {"logout" | "tokens"} what */
  async revoke(what) {
    await this.complete();
    await this.online();
    for (const req of this.core.revocations(what)) this.core.revoked(await this.send(() => req), what);
  }

  /**
   * Sends the browser to `url` (the app's openUrl, or location.assign): what
   * openUrl resolved to; a failure as the core reads it for a login or not.
   * @param {unknown} openUrl @param {string} url @param {boolean} [login]
   */
  async open(openUrl, url, login) {
    const r = await io.navigate(url, openUrl);
    if ("refused" in r) throw this.fail(r.refused, r.why, login);
    return r.opened;
  }

  /** The public API: a plain object of methods. @param {() => void} unwatch */
  api(unwatch) {
    const self = this;
    /** The key the session's tokens are bound to, read. */
    const bindingKey = async () => {
      const jkt = self.core.binding();
      if (jkt) await self.readKey(false, jkt);
    };
    return {
      issuer: self.setup.issuer,
      buildAuthorizeUrl: async (/** @type {any} */ opts) => (await self.pending(opts, "redirect")).url,
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
        if (typeof back === "string" && self.core.arrived(back)) return self.finishLogin(back, "redirect");
      },
      isRedirectCallback: (/** @type {string | undefined} */ url) => self.core.arrived(url ?? location.href),
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
      async loginWithPopup(opts) {
        // Synchronously, while the click's user activation lasts.
        const popup = io.openPopup();
        if (!popup) throw self.fail(popup === undefined ? "busy" : "blocked");
        return { appState: (await self.loginIn(popup, opts, "popup"))?.appState };
      },
      checkSession: async (/** @type {any} */ opts) => (await self.silent(opts, "silent")) !== null,
      getTokens: () => self.core.session().tokens,
      isAuthenticated: () => self.core.session().authenticated,
      getIdTokenClaims: () => self.core.session().claims,
      getUser: () => self.core.session().user,
      fetchUserInfo: () =>
        self.withToken(undefined, false, async () => {
          await self.online();
          await bindingKey();
          return self.core.userinfo(await self.send(() => self.core.userinfoRequest()));
        }),
      buildLogoutUrl: (/** @type {any} */ opts) => self.core.logoutUrl(opts),
      /** @param {any} opts */
      async logout(opts) {
        await self.complete();
        self.core.checkLogout(opts);
        // Final at once: nothing under way signs the user in again.
        await self.apply(self.core.endSession());
        // The kept discovery document is never trusted to send the browser anywhere.
        await self.online();
        const target = self.core.logoutTarget(opts);
        // RFC 7009: the refresh token stops working at the provider too (best effort).
        await self.revoke("logout").catch(() => {});
        if (target) await self.open(opts?.openUrl, target);
      },
      async revokeTokens() {
        await self.revoke("tokens");
        await self.apply(self.core.endSession());
      },
      getAccessToken: (/** @type {any} */ opts) => self.withToken(opts, false, async (access) => self.core.accessToken(access, true)),
      /** @param {RequestInfo | URL} input @param {any} [init] the request's, and the token's `audience` and `scope` */
      async fetchWithAuth(input, init) {
        const { audience, scope, ...requestInit } = init ?? {};
        /** @type {Request} */
        let request;
        try {
          request = new Request(input, requestInit);
        } catch (e) {
          throw self.fail("request", words(e));
        }
        return self.withToken({ audience, scope }, false, async (access) => {
          await bindingKey();
          for (let attempt = 0; ; attempt++) {
            const credentials = self.core.resourceCredentials(request.method, request.url, request.mode, access);
            // The app's request as it made it (its own signal, credentials,
            // body), from a clone: a retry has the body again.
            const r = request.clone();
            r.headers.set("Authorization", credentials.authorization);
            if (credentials.dpopInput && self.setup.dpop) r.headers.set("DPoP", await self.proof(credentials.dpopInput));
            let response;
            try {
              response = await (self.transport ?? fetch)(r);
            } catch (e) {
              throw self.fail("network", `${request.url} failed (${words(e)})`);
            }
            if (!Number.isInteger(response?.status) || typeof response.headers?.get !== "function") {
              throw self.fail("network", `${request.url}: the fetch option gave something that is not a Response`);
            }
            const h = (/** @type {string} */ name) => response.headers.get(name);
            /** @type {HttpAnswer} */
            const answer = { status: response.status, body: "", dpopNonce: h("dpop-nonce"), wwwAuthenticate: h("www-authenticate") };
            if (!self.core.retryWithNonce({ url: request.url, ...credentials }, answer, attempt)) return response;
          }
        });
      },
      refresh: (/** @type {any} */ opts) => self.withToken(opts, true, async () => self.core.session().tokens ?? Promise.reject(self.fail("signedOut"))),
      /** @param {(event: { type: string }) => void} callback */
      onSessionChange(callback) {
        /** @param {{ type: string }} event */
        const listener = (event) => callback(event);
        self.listeners.add(listener);
        return () => void self.listeners.delete(listener);
      },
      /** Stops following other tabs and drops every session listener (a component unmounted). */
      close() {
        unwatch();
        self.listeners.clear();
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
 * @param {Wasm["fail"]} fail @param {Check} check
 * @returns {Promise<{ valid: boolean; why?: string }>}
 */
async function checkSignature(fail, check) {
  try {
    return { valid: (await io.verifySignature(check)) === true };
  } catch (e) {
    if (e instanceof Error && e.name === "VerifierLoadError") throw fail("verifier", words(e));
    return { valid: false, why: words(e) };
  }
}
