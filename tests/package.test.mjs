// The built package (pkg/) as a bundler sees it, through its package.json
// exports: Vite building for production picks pkg/production/ (errors
// without messages); with NODE_ENV=development (its dev server) the default
// build. The
// package is linked into a throwaway project's node_modules, as npm would.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { build } from "vite";

const pkg = fileURLToPath(new URL("../pkg", import.meta.url));
let project;

before(() => {
  project = mkdtempSync(join(tmpdir(), "oidc-pkce-bundler-"));
  mkdirSync(join(project, "node_modules"));
  symlinkSync(pkg, join(project, "node_modules", "oidc-pkce"), "dir");
  writeFileSync(join(project, "main.js"), 'import { createAuthClient } from "oidc-pkce";\nwindow.createAuthClient = createAuthClient;\n');
  writeFileSync(join(project, "index.html"), '<script type="module" src="/main.js"></script>\n');
});
after(() => rmSync(project, { recursive: true, force: true }));

/** The .wasm files a Vite build in `mode` emits, by name. */
async function emitted(mode) {
  const outDir = join(project, `dist-${mode}`);
  await build({ root: project, mode, logLevel: "warn", configFile: false, build: { outDir, target: "es2022" } });
  const assets = join(outDir, "assets");
  return Object.fromEntries(
    readdirSync(assets)
      .filter((f) => f.endsWith(".wasm"))
      .map((f) => [f.replace(/-[\w-]{8}\.wasm$/, ".wasm"), readFileSync(join(assets, f))]),
  );
}

test("vite build (production) bundles pkg/production/, and the shared fallback verifier", async () => {
  const wasm = await emitted("production");
  assert.deepEqual(Object.keys(wasm).sort(), ["oidc_pkce_anonymous_bg.wasm", "oidc_pkce_bg.wasm", "oidc_pkce_verifier_bg.wasm"]);
  assert.ok(wasm["oidc_pkce_bg.wasm"].equals(readFileSync(join(pkg, "production", "oidc_pkce_bg.wasm"))), "not the production build");
  assert.ok(wasm["oidc_pkce_anonymous_bg.wasm"].equals(readFileSync(join(pkg, "production", "oidc_pkce_anonymous_bg.wasm"))), "not the production build's anonymous module");
  assert.ok(wasm["oidc_pkce_verifier_bg.wasm"].equals(readFileSync(join(pkg, "verifier", "oidc_pkce_verifier_bg.wasm"))));
});

test("a development build (NODE_ENV=development, as Vite's dev server) gets the default build, with messages", async () => {
  const was = process.env.NODE_ENV;
  process.env.NODE_ENV = "development";
  let wasm;
  try {
    wasm = await emitted("development");
  } finally {
    if (was === undefined) delete process.env.NODE_ENV;
    else process.env.NODE_ENV = was;
  }
  assert.ok(wasm["oidc_pkce_bg.wasm"].equals(readFileSync(join(pkg, "oidc_pkce_bg.wasm"))), "not the default build");
});

test("ready to publish: npm pack ships every file the exports name, the changelog and the licenses; npm publish --dry-run passes", async () => {
  const { execFile } = await import("node:child_process");
  const { promisify } = await import("node:util");
  const run = promisify(execFile);
  const [{ files }] = JSON.parse((await run("npm", ["pack", "--dry-run", "--json"], { cwd: pkg })).stdout);
  const shipped = new Set(files.map((f) => f.path));
  const manifest = JSON.parse(readFileSync(join(pkg, "package.json"), "utf8"));
  const targets = [];
  const walk = (v) => (typeof v === "string" ? targets.push(v.replace(/^\.\//, "")) : Object.values(v).forEach(walk));
  walk(manifest.exports);
  for (const t of targets) assert.ok(shipped.has(t), `exports name ${t}, which the tarball lacks`);
  for (const f of ["README.md", "CHANGELOG.md", "LICENSE-MIT", "LICENSE-APACHE", "oidc_pkce_full.js", "production/oidc_pkce_full.js", "verifier/oidc_pkce_verifier.js"]) {
    assert.ok(shipped.has(f), `${f} is not in the tarball`);
  }
  // Nothing of the build's own (the driver's sources, the glue's types, maps).
  for (const f of shipped) assert.ok(!/^(driver\/|.*\.map$|.*_bg\.wasm\.d\.ts$)/.test(f), `${f} is shipped`);
  assert.deepEqual(manifest.publishConfig, { access: "public", provenance: true });
  // (Not logged in: npm warns, and publishes nothing.)
  const out = await run("npm", ["publish", "--dry-run"], { cwd: pkg });
  assert.match(out.stdout + out.stderr, /\+ oidc-pkce@/);
});
