// The size budget of the built package (pkg/, from `node scripts/build.mjs`;
// pkg/production/ is the same module without the errors' messages):
// sizes are deterministic, so this is a real test, unlike timings. It fails
// when the package grows past bench/size-budget.json, and prints the margin
// to the target (auth0-spa-js 2.28.3, 63,340 B gzip).
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const root = fileURLToPath(new URL("..", import.meta.url));
const pkg = join(root, "pkg");
const budgets = JSON.parse(readFileSync(join(root, "bench", "size-budget.json"), "utf8"));
// A release built on stable (no pinned nightly here) is held to its own rows.
const built = existsSync(join(root, "target", "pkg-build.json"))
  ? JSON.parse(readFileSync(join(root, "target", "pkg-build.json"), "utf8"))
  : { nightly: true };
const budget = built.nightly ? budgets : { ...budgets, ...budgets.stable };
console.log(`budgets for a release built on ${built.nightly ? "the pinned nightly" : `stable (${built.toolchain})`}`);

function walk(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)],
  );
}

/** What a page in a secure context downloads during a login: the entry (with the glue bundled in), the module, any snippets. */
export function loginPathFiles() {
  const snippets = existsSync(join(pkg, "snippets")) ? walk(join(pkg, "snippets")) : [];
  return [join(pkg, "index.js"), join(pkg, "oidc_pkce_bg.wasm"), ...snippets];
}

const gz = (files) => files.reduce((n, f) => n + gzipSync(readFileSync(f), { level: 9 }).length, 0);

test("the login path stays within its size budget", () => {
  const files = loginPathFiles();
  const size = gz(files);
  console.log(
    `login path: ${size} B gzip -9 (${files.map((f) => relative(pkg, f)).join(" + ")}); ` +
      `budget ${budget.loginPath} B (margin ${budget.loginPath - size} B); ` +
      `target ${budget.target} B (${size - budget.target} B to go)`,
  );
  assert.ok(size <= budget.loginPath, `the login path grew to ${size} B gzip, past its budget of ${budget.loginPath} B`);
});

test("the fallback verifier stays within its budget and off the login path", () => {
  const files = [join(pkg, "verifier", "oidc_pkce_verifier.js"), join(pkg, "verifier", "oidc_pkce_verifier_bg.wasm")];
  const size = gz(files);
  console.log(`fallback verifier (only without crypto.subtle): ${size} B gzip -9; budget ${budget.verifier} B`);
  assert.ok(size <= budget.verifier, `the verifier grew to ${size} B gzip, past its budget of ${budget.verifier} B`);
  // It is reached only through a dynamic import(), never a static one.
  for (const f of loginPathFiles().filter((f) => f.endsWith(".js"))) {
    const text = readFileSync(f, "utf8");
    assert.ok(!/(^|[;\s])import\s*[^(]*["'][^"']*verifier/m.test(text), `${relative(pkg, f)} imports the verifier statically`);
  }
  const dynamic = loginPathFiles().some((f) => /import\(\s*["'`][^"'`]*verifier\/oidc_pkce_verifier\.js/.test(readFileSync(f, "utf8")));
  assert.ok(dynamic, "some login-path file imports the verifier dynamically");
});

test("the production build stays within its budget, without messages, and shares the verifier", () => {
  const dir = join(pkg, "production");
  const files = [join(dir, "index.js"), join(dir, "oidc_pkce_bg.wasm")];
  const size = gz(files);
  console.log(
    `production login path: ${size} B gzip -9; budget ${budget.loginPathProduction} B ` +
      `(margin ${budget.loginPathProduction - size} B); target ${budget.target} B (${size - budget.target} B to go)`,
  );
  assert.ok(
    size <= budget.loginPathProduction,
    `the production login path grew to ${size} B gzip, past its budget of ${budget.loginPathProduction} B`,
  );
  // Messages: in the default build, not in the production one.
  const full = readFileSync(join(pkg, "oidc_pkce_bg.wasm")).toString("latin1");
  const terse = readFileSync(join(dir, "oidc_pkce_bg.wasm")).toString("latin1");
  for (const message of ["is not an option of", "the ID token's iss is", "does not verify with the provider's key"]) {
    assert.ok(full.includes(message), `the default build lacks the message "${message}"`);
    assert.ok(!terse.includes(message), `the production build still carries the message "${message}"`);
  }
  const entry = readFileSync(join(dir, "index.js"), "utf8");
  assert.ok(/import\(\s*["'`]\.\.\/verifier\/oidc_pkce_verifier\.js/.test(entry), "production/index.js does not import ../verifier/ dynamically");
  const manifest = JSON.parse(readFileSync(join(pkg, "package.json"), "utf8"));
  assert.equal(manifest.exports["."].production, "./production/index.js");
});

test("a page with no session loads the anonymous module, within its budget; it is the full one's exports, fewer", () => {
  for (const [dir, name, row] of [
    [pkg, "", "anonymousPage"],
    [join(pkg, "production"), "production ", "anonymousPageProduction"],
  ]) {
    const files = [join(dir, "index.js"), join(dir, "oidc_pkce_anonymous_bg.wasm")];
    const size = gz(files);
    const full = gz([join(dir, "index.js"), join(dir, "oidc_pkce_bg.wasm")]);
    console.log(
      `${name}anonymous page: ${size} B gzip -9 (${files.map((f) => relative(pkg, f)).join(" + ")}); ` +
        `budget ${budget[row]} B (margin ${budget[row] - size} B); the login path's ${full} B`,
    );
    assert.ok(size <= budget[row], `the ${name}anonymous page grew to ${size} B gzip, past its budget of ${budget[row]} B`);
    // Its exports are some of the full module's, under the same names (one glue serves both).
    const exports = (f) => WebAssembly.Module.exports(new WebAssembly.Module(readFileSync(f))).map((e) => e.name);
    const all = new Set(exports(join(dir, "oidc_pkce_bg.wasm")));
    const some = exports(join(dir, "oidc_pkce_anonymous_bg.wasm"));
    assert.ok(some.length < all.size, "the anonymous module has fewer exports");
    for (const e of some) assert.ok(all.has(e), `the anonymous module's export ${e} is not the full one's`);
  }
});

test("a page behind a backend (oidc-pkce/backend) stays within its budget and loads no WebAssembly", () => {
  for (const dir of [pkg, join(pkg, "production")]) {
    const file = join(dir, "backend.js");
    const size = gz([file]);
    const viaMain = gz([join(dir, "index.js"), file]);
    console.log(
      `${relative(pkg, file)}: ${size} B gzip -9 (budget ${budget.backend} B); through createAuthClient({ backend }) of the main entry: ${viaMain} B, no .wasm`,
    );
    assert.ok(size <= budget.backend, `oidc-pkce/backend grew to ${size} B gzip, past its budget of ${budget.backend} B`);
    const text = readFileSync(file, "utf8");
    assert.ok(!/\.wasm|import\s*\(|from\s*["']/.test(text), `${relative(pkg, file)} imports something (it must stand alone, without WebAssembly)`);
  }
});

/** What an app adds by importing a binding: it and the store, minified, without the framework and the main entry. */
async function bindingSize(name) {
  const { rolldown } = await import("rolldown");
  const bundle = await rolldown({
    input: join(pkg, "production", `${name}.js`),
    external: (id) => id === name || id.endsWith("/index.js") || id === "./index.js",
  });
  const { output } = await bundle.generate({ format: "esm", minify: true });
  return gzipSync(output[0].code, { level: 9 }).length;
}

test("the sizes the docs state are the build's (each figure marked <!--size:KEY--> in README.md, js/README.md, CHANGELOG.md)", async (t) => {
  if (!built.nightly) return t.skip("the docs state the pinned nightly's sizes; this release was built on stable");
  const prod = join(pkg, "production");
  const actual = {
    loginPath: gz(loginPathFiles()),
    loginPathProduction: gz([join(prod, "index.js"), join(prod, "oidc_pkce_bg.wasm")]),
    anonymousPage: gz([join(pkg, "index.js"), join(pkg, "oidc_pkce_anonymous_bg.wasm")]),
    anonymousPageProduction: gz([join(prod, "index.js"), join(prod, "oidc_pkce_anonymous_bg.wasm")]),
    verifier: gz([join(pkg, "verifier", "oidc_pkce_verifier.js"), join(pkg, "verifier", "oidc_pkce_verifier_bg.wasm")]),
    backend: gz([join(pkg, "backend.js")]),
    backendThroughMain: gz([join(pkg, "index.js"), join(pkg, "backend.js")]),
  };
  actual.productionSaving = actual.loginPath - actual.loginPathProduction;
  const bindings = [await bindingSize("react"), await bindingSize("vue")];
  let seen = 0;
  for (const doc of ["README.md", join("js", "README.md"), "CHANGELOG.md"]) {
    const text = readFileSync(join(root, doc), "utf8");
    const marks = [...text.matchAll(/(\d+(?:\.\d+)?) KB<!--size:(\w+)-->/g)];
    assert.ok(marks.length > 0, `${doc} states no marked size`);
    for (const [, kb, key] of marks) {
      const want = key === "binding" ? bindings : [actual[key]];
      assert.ok(want[0] !== undefined, `${doc}: size key ${key} is not one the test measures`);
      // Rounded to 0.1 KB as written, and builds from another path differ by up to ~100 B.
      for (const b of want) {
        assert.ok(Math.abs(Number(kb) * 1000 - b) <= 150, `${doc} says ${kb} KB for ${key}; the build has ${b} B`);
      }
      seen++;
    }
  }
  console.log(`${seen} sizes in the docs agree with the build`);
});

test("the React and Vue bindings stay out of the main entry; what each adds to an app that imports it", async () => {
  // The main entries name no framework: an app without the bindings gets none of their bytes.
  for (const f of [join(pkg, "index.js"), join(pkg, "production", "index.js")]) {
    const text = readFileSync(f, "utf8");
    assert.ok(!/["'](react|vue|react-dom)["']/.test(text), `${relative(pkg, f)} refers to a framework`);
    assert.ok(!text.includes("auth-store"), `${relative(pkg, f)} reaches the bindings' store`);
  }
  // Each binding with the store it shares, minified as an app's bundler would,
  // the framework and the main entry left out (the app has them anyway).
  for (const name of ["react", "vue"]) {
    const size = await bindingSize(name);
    console.log(`oidc-pkce/${name}: ${size} B gzip -9 minified (with auth-store.js; without ${name} and the main entry)`);
    assert.ok(size > 0 && size < 2048, `oidc-pkce/${name} is ${size} B gzip: a thin binding should stay under 2 KB`);
  }
});
