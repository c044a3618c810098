// The session stores of oidc-pkce/server (issue 33), the memory one and Redis
// (a real redis-server, with the `redis` client and with a stand-in shaped
// as ioredis' API over the same server): the same semantics, which the
// server's guarantees rest on. A value written back only if it is still
// there (a logout stays a logout), a lock taken once, expiry, the indexes.
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, describe, it } from "node:test";
import { memoryStore, redisStore } from "../../pkg/server/index.js";
import { connectRedis, startRedis } from "./server-harness.mjs";

let redis;
let client;
before(async () => {
  const started = await startRedis();
  redis = started.process;
  client = await connectRedis(started.url);
});
after(async () => {
  await client?.quit().catch(() => {});
  redis?.kill();
});

/** ioredis' method names over node-redis: what redisStore calls on an ioredis client. */
const ioredisLike = () => ({
  get: (k) => client.get(k),
  set: (k, v, ...args) => {
    const o = {};
    for (let i = 0; i < args.length; i++) {
      if (args[i] === "PX") o.PX = args[++i];
      else if (args[i] === "NX") o.NX = true;
      else if (args[i] === "XX") o.XX = true;
    }
    return client.set(k, v, o);
  },
  del: (k) => client.del(k),
  sadd: (k, m) => client.sAdd(k, m),
  pexpire: (k, ms) => client.pExpire(k, ms),
  smembers: (k) => client.sMembers(k),
});

const stores = {
  memory: () => memoryStore(),
  "redis (node-redis)": () => redisStore(client, { prefix: `t${Math.random()}:` }),
  "redis (ioredis's API)": () => redisStore(ioredisLike(), { prefix: `t${Math.random()}:` }),
};

for (const [name, make] of Object.entries(stores)) {
  describe(`${name} store`, () => {
    it("get, set, delete; replace only what is there; setIfAbsent once; values expire; indexes", async () => {
      const s = make();
      assert.equal(await s.get("a"), null);
      assert.equal(await s.replace("a", "1", 10_000), false, "replace does not create");
      assert.equal(await s.get("a"), null);
      await s.set("a", "1", 10_000);
      assert.equal(await s.get("a"), "1");
      assert.equal(await s.replace("a", "2", 10_000), true);
      assert.equal(await s.get("a"), "2");
      await s.delete("a");
      assert.equal(await s.replace("a", "3", 10_000), false, "a deleted session is not written back");
      assert.equal(await s.get("a"), null);
      assert.equal(await s.setIfAbsent("lock", "1", 10_000), true);
      assert.equal(await s.setIfAbsent("lock", "1", 10_000), false, "a lock is taken once");
      await s.delete("lock");
      assert.equal(await s.setIfAbsent("lock", "1", 10_000), true);
      await s.set("short", "x", 50);
      await sleep(120);
      assert.equal(await s.get("short"), null, "expired");
      await s.addToIndex("sid:1", "session:a", 10_000);
      await s.addToIndex("sid:1", "session:b", 10_000);
      assert.deepEqual((await s.members("sid:1")).sort(), ["session:a", "session:b"]);
      assert.deepEqual(await s.members("sid:none"), []);
      s.close?.();
    });
  });
}
