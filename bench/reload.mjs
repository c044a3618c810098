#!/usr/bin/env node
// `node bench/reload.mjs`: what the default tokenStorage ("session") costs a
// page load. Times createAuthClient (the module already loaded) on a reloaded
// tab that is signed in, with the defaults (the stored session is read and its
// ID token verified against the provider's key set) and with "memory"
// (nothing to restore), against the local oidc-provider. Prints medians;
// asserts nothing.
import { newPage, signIn, startWorld } from "../tests/e2e/harness.mjs";

const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 15);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const world = await startWorld();
try {
  const page = await newPage(world);
  const o = { issuer: world.op.issuer, clientId: "web", redirectUri: world.appPage };
  const url = await page.evaluate(async (o) => (await window.oidc.createAuthClient(o)).buildAuthorizeUrl(), o);
  await signIn(page, url, { appOrigin: world.app.url });
  await page.evaluate(async (o) => (await window.oidc.createAuthClient(o)).handleRedirectCallback(), o);
  const results = {};
  for (const [name, extra] of [["defaults (restores the session)", {}], ['tokenStorage "memory" (signed out)', { tokenStorage: "memory" }]]) {
    const times = [];
    for (let i = 0; i < SAMPLES; i++) {
      await page.goto(world.appPage);
      await page.waitForFunction(() => window.oidc);
      const r = await page.evaluate(async (o) => {
        await window.oidc.ready();
        const t0 = performance.now();
        const auth = await window.oidc.createAuthClient(o);
        return { ms: performance.now() - t0, signedIn: auth.isAuthenticated() };
      }, { ...o, ...extra });
      times.push(r.ms);
      results[name] = { signedIn: r.signedIn };
    }
    results[name].medianMs = median(times);
  }
  console.log(`\n## Reload: createAuthClient on a reloaded, signed-in tab (median of ${SAMPLES}, ms; module loaded)\n`);
  for (const [name, r] of Object.entries(results)) console.log(`${name.padEnd(40)} ${r.medianMs.toFixed(1).padStart(7)}   signed in: ${r.signedIn}`);
} finally {
  await world.close();
}
