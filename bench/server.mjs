#!/usr/bin/env node
// `npm run bench`, its server part: oidc-pkce/server (BFF mode) with the memory
// store and with Redis (a real redis-server started here), on loopback, after
// a real login in Chromium against oidc-provider. Prints, for each store:
// session lookups per second and their p50/p99 (GET /auth/session with the
// session cookie, over keep-alive HTTP, CONCURRENCY at a time), the latency
// the proxy adds to an API call (through /auth/api against the same call
// straight to the API), and the memory 10,000 sessions take (the writes one
// real login leaves in the store, repeated with fresh keys). The load comes
// from this same process: the figures are a floor of what a server alone
// does. Nothing is asserted; figures are of this run. Writes
// bench-results/server.json.
import http from "node:http";
import { mkdirSync, writeFileSync } from "node:fs";
import v8 from "node:v8";
import vm from "node:vm";
import { createAuthServer, memoryStore, redisStore } from "../pkg/server/index.js";
import { keepLocal, launchChromium } from "../tests/e2e/harness.mjs";
import { backendOptions, connectRedis, freePort, startApp, startRedis as startServerRedis, startWorldOfBackends } from "../tests/e2e/server-harness.mjs";

const SECONDS = Number(process.env.BENCH_SERVER_SECONDS ?? 3);
const CONCURRENCY = Number(process.env.BENCH_SERVER_CONCURRENCY ?? 8);
const PROXY_SAMPLES = Number(process.env.BENCH_PROXY_SAMPLES ?? 400);
const SESSIONS = 10_000;

// v8's gc, for the memory figure (node --expose-gc is not needed).
v8.setFlagsFromString("--expose-gc");
const gc = vm.runInNewContext("gc");

const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};
const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });

/** One GET on loopback; resolves to its milliseconds (the body read whole). */
function get(url, headers) {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent, headers }, (res) => {
      res.on("data", () => {});
      res.on("end", () => (res.statusCode === 200 ? resolve(performance.now() - t0) : reject(new Error(`${url}: ${res.statusCode}`))));
    });
    req.on("error", reject);
  });
}

/** An upstream API that answers at once (what the proxy adds is what is measured). */
async function startEcho() {
  const server = http.createServer((req, res) => {
    res.writeHead(200, { "Content-Type": "application/json" });
    res.end(JSON.stringify({ ok: true, path: req.url }));
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((r) => server.close(r)) };
}

/** A store that also keeps what one login wrote, to repeat it. */
function recording(store) {
  const writes = [];
  return {
    writes,
    store: {
      ...store,
      local: store.local,
      set: (k, v, ttl) => (writes.push(["set", k, v, ttl]), store.set(k, v, ttl)),
      addToIndex: (i, m, ttl) => (writes.push(["index", i, m, ttl]), store.addToIndex(i, m, ttl)),
      get: (k) => store.get(k),
      delete: (k) => store.delete(k),
      setIfAbsent: (k, v, ttl) => (writes.push(["set", k, v, ttl]), store.setIfAbsent(k, v, ttl)),
      members: (i) => store.members(i),
    },
  };
}

async function logIn(browser, origin) {
  const context = await browser.newContext();
  await keepLocal(context);
  const page = await context.newPage();
  await page.goto(`${origin}/auth/login?returnTo=/app.html`);
  for (let step = 0; step < 4 && new URL(page.url()).origin !== origin; step++) {
    await page.waitForSelector("button[type=submit]");
    if (await page.$("input[name=login]")) {
      await page.fill("input[name=login]", "alice");
      await page.fill("input[name=password]", "any password");
    }
    await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
  }
  const cookie = (await context.cookies(origin)).find((c) => c.name === "__Host-oidc-pkce");
  await context.close();
  if (!cookie) throw new Error("the login left no session cookie");
  return `${cookie.name}=${cookie.value}`;
}

/** GET /auth/session for SECONDS, CONCURRENCY at a time. */
async function lookups(origin, cookie) {
  const url = `${origin}/auth/session`;
  const headers = { cookie, "x-csrf": "1" };
  for (let i = 0; i < 200; i++) await get(url, headers); // warm-up
  const times = [];
  const until = performance.now() + SECONDS * 1000;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < until) times.push(await get(url, headers));
    }),
  );
  const elapsed = (performance.now() - t0) / 1000;
  return { count: times.length + 200, perSecond: Math.round(times.length / elapsed), p50Ms: quantile(times, 0.5), p99Ms: quantile(times, 0.99) };
}

/** The same call straight to the API and through the proxy, one after the other. */
async function proxy(origin, cookie, echo) {
  const direct = [];
  const proxied = [];
  const target = `${echo.url}/orders?page=1`;
  const through = `${origin}/auth/api?${new URLSearchParams({ url: target })}`;
  const headers = { cookie, "x-csrf": "1", origin };
  for (let i = 0; i < 50; i++) await Promise.all([get(target, { authorization: "Bearer x" }), get(through, headers)]);
  for (let i = 0; i < PROXY_SAMPLES; i++) {
    direct.push(await get(target, { authorization: "Bearer x" }));
    proxied.push(await get(through, headers));
  }
  const d = quantile(direct, 0.5);
  const p = quantile(proxied, 0.5);
  return { directP50Ms: d, proxiedP50Ms: p, addedP50Ms: p - d, addedP99Ms: quantile(proxied, 0.99) - quantile(direct, 0.99) };
}

/** Of the writes of one login, those whose keys are still in `store` (not the pending login's, the lock's). */
async function stillThere(store, writes) {
  const kept = [];
  for (const w of writes) if (w[0] === "index" || (await store.get(w[1])) !== null) kept.push(w);
  return kept;
}

/** One login's writes repeated SESSIONS times with fresh keys. */
async function fill(store, kept) {
  for (let i = 0; i < SESSIONS; i++) {
    // Each session its own copy of the value (one string shared 10,000 times would weigh nothing).
    const own = (v) => Buffer.from(v).toString();
    await Promise.all(kept.map(([op, k, v, ttl]) => (op === "set" ? store.set(`${k}.${i}`, own(v), ttl) : store.addToIndex(`${k}.${i}`, own(v), ttl))));
  }
  return kept.filter((w) => w[0] === "set").reduce((n, w) => n + w[1].length + w[2].length, 0);
}

async function memoryPer10k(writes) {
  const store = memoryStore();
  gc();
  const before = process.memoryUsage().heapUsed;
  const bytesPerSession = await fill(store, writes);
  gc();
  const after = process.memoryUsage().heapUsed;
  store.close();
  return { bytes: after - before, storedCharactersPerSession: bytesPerSession };
}

async function redisPer10k(client, writes) {
  const used = async () => Number(/used_memory:(\d+)/.exec(await client.info("memory"))[1]);
  const store = redisStore(client, { prefix: "bench-fill:" });
  const before = await used();
  const bytesPerSession = await fill(store, writes);
  const after = await used();
  return { bytes: after - before, storedCharactersPerSession: bytesPerSession };
}

async function startRedis() {
  const started = await startServerRedis();
  const client = await connectRedis(started.url);
  return { client, close: async () => (await client.quit().catch(() => {}), started.process.kill()) };
}

async function main() {
  const ports = { memory: await freePort(), redis: await freePort() };
  const world = await startWorldOfBackends({ appPorts: Object.values(ports) });
  const echo = await startEcho();
  const redis = await startRedis();
  const browser = await launchChromium();
  const results = { concurrency: CONCURRENCY, seconds: SECONDS, stores: {} };
  try {
    for (const kind of ["memory", "redis"]) {
      const origin = `http://localhost:${ports[kind]}`;
      const rec = recording(kind === "memory" ? memoryStore() : redisStore(redis.client));
      const server = await createAuthServer(backendOptions(world, ports[kind], { apis: [{ url: `${echo.url}/` }], store: rec.store }));
      const app = await startApp(ports[kind], () => server);
      try {
        const cookie = await logIn(browser, origin);
        const login = await stillThere(rec.store, rec.writes.splice(0));
        const r = { lookups: await lookups(origin, cookie), proxy: await proxy(origin, cookie, echo) };
        r.writesPerLookup = rec.writes.length / Math.max(1, r.lookups.count);
        r.memoryPer10kSessions = kind === "memory" ? await memoryPer10k(login) : await redisPer10k(redis.client, login);
        results.stores[kind] = r;
      } finally {
        await app.close();
      }
    }
  } finally {
    await browser.close();
    await redis.close();
    await echo.close();
    await world.close();
    agent.destroy();
  }
  const ms = (x) => `${x.toFixed(2)} ms`;
  const rows = Object.entries(results.stores).map(([kind, r]) => [
    kind,
    `${r.lookups.perSecond}/s`,
    ms(r.lookups.p50Ms),
    ms(r.lookups.p99Ms),
    ms(r.proxy.addedP50Ms),
    ms(r.proxy.addedP99Ms),
    `${(r.memoryPer10kSessions.bytes / 1024 / 1024).toFixed(1)} MiB`,
  ]);
  console.log(`\noidc-pkce/server (BFF mode) on loopback, ${CONCURRENCY} requests at a time, ${SECONDS} s per store`);
  console.log("| store | session lookups | p50 | p99 | proxy adds (p50) | proxy adds (p99) | 10,000 sessions |");
  console.log("|---|---|---|---|---|---|---|");
  for (const row of rows) console.log(`| ${row.join(" | ")} |`);
  const one = results.stores.memory?.memoryPer10kSessions.storedCharactersPerSession;
  console.log(`(one session: ${one} characters of keys and sealed values; store writes per lookup: ${results.stores.memory.writesPerLookup.toFixed(2)}; the API's direct call p50 ${ms(results.stores.memory.proxy.directP50Ms)})`);
  mkdirSync("bench-results", { recursive: true });
  writeFileSync("bench-results/server.json", JSON.stringify(results, null, 2));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
