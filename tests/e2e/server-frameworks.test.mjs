// oidc-pkce/server in the frameworks people mount it in (issue 33): Express 5
// (toNodeHandler, mounted under /auth) and Hono on @hono/node-server (the
// fetch-standard handler as it is, as in a Next.js route handler). A user
// logs in through each in Chromium against oidc-provider, calls the API
// through the proxy with a body, and logs out.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { serve } from "@hono/node-server";
import express from "express";
import { Hono } from "hono";
import { createAuthServer, toNodeHandler } from "../../pkg/server/index.js";
import { keepLocal, launchChromium } from "./harness.mjs";
import { backendOptions, freePort, startWorldOfBackends } from "./server-harness.mjs";

let browser;
let world;
const ports = {};
const apps = {};

const options = (port) => backendOptions(world, port);

before(async () => {
  for (const name of ["express", "hono"]) ports[name] = await freePort();
  world = await startWorldOfBackends({ appPorts: Object.values(ports) });
  browser = await launchChromium();

  // Express: the node adapter, mounted under the prefix.
  const auth = await createAuthServer(options(ports.express));
  const app = express();
  app.use("/auth", toNodeHandler(auth, `http://localhost:${ports.express}`));
  app.get("/", (_req, res) => res.type("html").send("<p id=app>the app</p>"));
  const server = await new Promise((resolve) => {
    const s = app.listen(ports.express, "127.0.0.1", () => resolve(s));
  });
  apps.express = { close: () => new Promise((r) => server.close(r)) };

  // Hono: the fetch-standard handler itself.
  const honoAuth = await createAuthServer(options(ports.hono));
  const hono = new Hono();
  hono.all("/auth/*", async (c) => (await honoAuth.handler(c.req.raw)) ?? c.notFound());
  hono.get("/", (c) => c.html("<p id=app>the app</p>"));
  const honoServer = await new Promise((resolve) => {
    const s = serve({ fetch: hono.fetch, port: ports.hono, hostname: "127.0.0.1" }, () => resolve(s));
  });
  apps.hono = { close: () => new Promise((r) => honoServer.close(r)) };
});

after(async () => {
  await browser?.close();
  await Promise.all(Object.values(apps).map((a) => a.close()));
  await world?.close();
});

for (const name of ["express", "hono"]) {
  describe(`oidc-pkce/server in ${name}`, () => {
    it("login, the session, a proxied POST with its body, logout", async () => {
      const origin = `http://localhost:${ports[name]}`;
      const context = await browser.newContext();
      await keepLocal(context);
      const page = await context.newPage();
      await page.goto(`${origin}/auth/login?returnTo=/`);
      for (let step = 0; step < 4 && new URL(page.url()).origin !== origin; step++) {
        await page.waitForSelector("button[type=submit]");
        if (await page.$("input[name=login]")) {
          await page.fill("input[name=login]", "frank");
          await page.fill("input[name=password]", "pw");
        }
        await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
      }
      await page.waitForSelector("#app");
      const r = await page.evaluate(async (api) => {
        const headers = { "x-csrf": "1" };
        const session = await (await fetch("/auth/session", { headers })).json();
        const call = await fetch(`/auth/api?url=${encodeURIComponent(`${api}/orders`)}`, { method: "POST", body: "hello", headers: { ...headers, "Content-Type": "text/plain" } });
        const logout = await fetch("/auth/logout", { method: "POST", headers });
        const after = await (await fetch("/auth/session", { headers })).json();
        return { session, call: [call.status, await call.json()], logout: [logout.status, (await logout.json()).url], after };
      }, world.api);
      assert.equal(r.session.isAuthenticated, true);
      assert.equal(r.session.user.sub, "frank");
      assert.deepEqual([r.call[0], r.call[1].sub, r.call[1].method, r.call[1].body], [200, "frank", "POST", "hello"]);
      assert.equal(r.logout[0], 200);
      assert.match(r.logout[1], /\/session\/end\?/);
      assert.equal(r.after.isAuthenticated, false);
      // A route the server does not have falls through to the app (404 here).
      const other = await page.evaluate(async () => (await fetch("/auth/nothing")).status);
      assert.equal(other, 404);
      await context.close();
    });
  });
}
