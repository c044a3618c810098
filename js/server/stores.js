// Where oidc-pkce/server keeps its sessions, pending logins, the Logout
// Tokens' jti and the index from a provider session (sid, sub) to ours.
// Keys are the core's (digests: a copy of the store gives no cookie);
// session values are encrypted by the server before they come here.
//
// A store: get(key) → string | null; set(key, value, ttlMs); delete(key);
// replace(key, value, ttlMs) → true when the key was there (and is now this
// value: a session written back after a read is never brought back to life
// once a logout deleted it); setIfAbsent(key, value, ttlMs) → true when it
// was set; addToIndex(index,
// member, ttlMs); members(index) → string[]. `local`: one process only (the
// memory store), where the server may make its own encryption key.

/** The default: this process's memory (one instance; sessions end with it). */
export function memoryStore() {
  /** @type {Map<string, { value: any; until: number }>} */
  const entries = new Map();
  const live = (/** @type {string} */ key) => {
    const e = entries.get(key);
    if (e && e.until <= Date.now()) {
      entries.delete(key);
      return undefined;
    }
    return e;
  };
  // Expired entries leave on their own too (a busy server reads few of them again).
  const sweep = setInterval(() => {
    const now = Date.now();
    for (const [k, e] of entries) if (e.until <= now) entries.delete(k);
  }, 60_000);
  /** @type {any} */ (sweep).unref?.();
  return {
    local: true,
    size: () => entries.size,
    async get(/** @type {string} */ key) {
      const v = live(key)?.value;
      return typeof v === "string" ? v : null;
    },
    async set(/** @type {string} */ key, /** @type {string} */ value, /** @type {number} */ ttlMs) {
      entries.set(key, { value, until: Date.now() + ttlMs });
    },
    async delete(/** @type {string} */ key) {
      entries.delete(key);
    },
    async replace(/** @type {string} */ key, /** @type {string} */ value, /** @type {number} */ ttlMs) {
      if (!live(key)) return false;
      entries.set(key, { value, until: Date.now() + ttlMs });
      return true;
    },
    async setIfAbsent(/** @type {string} */ key, /** @type {string} */ value, /** @type {number} */ ttlMs) {
      if (live(key)) return false;
      entries.set(key, { value, until: Date.now() + ttlMs });
      return true;
    },
    async addToIndex(/** @type {string} */ index, /** @type {string} */ member, /** @type {number} */ ttlMs) {
      const e = live(index);
      const set = e?.value instanceof Set ? e.value : new Set();
      set.add(member);
      entries.set(index, { value: set, until: Math.max(e?.until ?? 0, Date.now() + ttlMs) });
    },
    async members(/** @type {string} */ index) {
      const v = live(index)?.value;
      return v instanceof Set ? [...v] : [];
    },
    close() {
      clearInterval(sweep);
    },
  };
}

/**
 * Redis, shared by several instances of the backend: `client` is a
 * connected client of the `redis` package (node-redis 4 or 5) or of
 * `ioredis`. Every key is under `prefix`. An instance that cannot reach
 * Redis answers 503 (`store_unavailable`) and serves no session from
 * elsewhere.
 * @param {any} client @param {{ prefix?: string }} [options]
 */
export function redisStore(client, { prefix = "oidc-pkce:" } = {}) {
  const ioredis = typeof client.sadd === "function" && typeof client.sAdd !== "function";
  const k = (/** @type {string} */ key) => prefix + key;
  return {
    local: false,
    async get(/** @type {string} */ key) {
      return (await client.get(k(key))) ?? null;
    },
    async set(/** @type {string} */ key, /** @type {string} */ value, /** @type {number} */ ttlMs) {
      await (ioredis ? client.set(k(key), value, "PX", Math.max(1, Math.round(ttlMs))) : client.set(k(key), value, { PX: Math.max(1, Math.round(ttlMs)) }));
    },
    async delete(/** @type {string} */ key) {
      await client.del(k(key));
    },
    async replace(/** @type {string} */ key, /** @type {string} */ value, /** @type {number} */ ttlMs) {
      const px = Math.max(1, Math.round(ttlMs));
      const r = await (ioredis ? client.set(k(key), value, "PX", px, "XX") : client.set(k(key), value, { PX: px, XX: true }));
      return r === "OK";
    },
    async setIfAbsent(/** @type {string} */ key, /** @type {string} */ value, /** @type {number} */ ttlMs) {
      const px = Math.max(1, Math.round(ttlMs));
      const r = await (ioredis ? client.set(k(key), value, "PX", px, "NX") : client.set(k(key), value, { PX: px, NX: true }));
      return r === "OK";
    },
    async addToIndex(/** @type {string} */ index, /** @type {string} */ member, /** @type {number} */ ttlMs) {
      const px = Math.max(1, Math.round(ttlMs));
      if (ioredis) {
        await client.sadd(k(index), member);
        await client.pexpire(k(index), px);
      } else {
        await client.sAdd(k(index), member);
        await client.pExpire(k(index), px);
      }
    },
    async members(/** @type {string} */ index) {
      return (await (ioredis ? client.smembers(k(index)) : client.sMembers(k(index)))) ?? [];
    },
  };
}
