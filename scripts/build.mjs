#!/usr/bin/env node
// Builds the npm package into pkg/: the release wasm (cdylib, fat LTO),
// wasm-bindgen's web-target glue, wasm-opt -Oz from npm binaryen, our entry.
// Two modules: the main one (no pure-Rust signature code: it verifies with
// crypto.subtle) and pkg/verifier/ (the pure-Rust verifier), which the main
// one fetches only where crypto.subtle is missing.
// The main module is built twice: pkg/ with the errors' messages (the
// default export) and pkg/production/ without them (feature `terse`: codes,
// reasons and the servers' fields stay), which bundlers pick for production
// builds through the "production" export condition.
// Usage: node scripts/build.mjs [--dev]   (--dev: debug build, no wasm-opt)
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
// Vite's own bundler; its minifier (oxc) is the one Vite uses for production builds.
import { minify } from "rolldown/experimental";
import { ANONYMOUS_CORE } from "../js/driver/modules.js";
import { dropUncallableEntries, keepExports, renameAs } from "./function-table.mjs";
import { renameGlue } from "./minify-names.mjs";
import { rolldown } from "rolldown";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const pkg = join(root, "pkg");
const dev = process.argv.includes("--dev");
const profile = dev ? "debug" : "release";

function run(cmd, args) {
  console.log(`$ ${cmd} ${args.join(" ")}`);
  execFileSync(cmd, args, { cwd: root, stdio: "inherit" });
}

// `--crate-type cdylib` here, rather than in Cargo.toml: with ["cdylib", "rlib"]
// cargo silently drops LTO.
/** binaryen's name mappings (JSON text) by .wasm path, for the glue's rewrite. */
const names = new Map();

// Release builds rebuild std with the crate and abort on panic without
// unwinding or formatting anything (`-Cpanic=immediate-abort`): that needs
// a nightly rustc with rust-src, and it is pinned to the one measured (a
// dated rust-toolchain.toml would make rustup download it, which it cannot
// do here). Measured 2026-12-07 (gzip -9, with the wasm-opt passes and the
// table step below, which alone take 580 B off): production login path
// 82,398 -> 79,280 B, default 91,945 -> 89,052 B, verifier/ 60,426 ->
// 51,305 B. Without that nightly the release is built on stable, larger, and
// says so; tests and lints stay on stable either way.
const NIGHTLY = "rustc 1.97.0-nightly (e50aa6fba 2026-05-19)";
function releaseToolchain() {
  if (dev || process.env.OIDC_PKCE_STABLE) return { nightly: false, why: dev ? "debug build" : "OIDC_PKCE_STABLE is set" };
  let version;
  let sysroot;
  try {
    version = execFileSync("rustc", ["+nightly", "--version"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    sysroot = execFileSync("rustc", ["+nightly", "--print", "sysroot"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return { nightly: false, why: "no nightly toolchain" };
  }
  if (version !== NIGHTLY) return { nightly: false, why: `the nightly is ${version}, not the one measured (${NIGHTLY})` };
  if (!existsSync(join(sysroot, "lib", "rustlib", "src", "rust", "library", "std"))) {
    return { nightly: false, why: "the nightly has no rust-src (rustup component add rust-src --toolchain nightly)" };
  }
  return { nightly: true, why: version };
}
const toolchain = releaseToolchain();
console.log(toolchain.nightly
  ? `release on ${toolchain.why}: std rebuilt, panics abort at once`
  : `release on stable (${toolchain.why}): about 3 KB gzip larger than with the pinned nightly`);

/**
 * Builds a crate's module into `outDir`; with `anonymous` (the core methods
 * the driver calls there, js/driver/modules.js), also the anonymous module
 * beside it: the same .wasm with only those exports, optimized on its own,
 * its imports and exports then named as the full module's so that the one
 * glue serves both; and the glue's copy for the full module after it.
 */
function buildModule(crate, features, outDir, { types = false, anonymous = null, shortNames = true } = {}) {
  const args = [
    "rustc", "-p", crate, "--lib", "--target", "wasm32-unknown-unknown", "--crate-type", "cdylib",
    ...features, ...(dev ? [] : ["--release"]),
  ];
  let target = join(root, "target");
  if (toolchain.nightly) {
    // Its own target directory: the stable builds of tests and lints keep theirs.
    target = join(root, "target", "nightly");
    args.unshift("+nightly");
    args.push("-Zbuild-std=std,panic_abort", "--target-dir", target);
  }
  console.log(`$ cargo ${args.join(" ")}`);
  execFileSync("cargo", args, {
    cwd: root,
    stdio: "inherit",
    // (RUSTFLAGS apply to every crate of the target, which one panic strategy needs.)
    env: toolchain.nightly ? { ...process.env, RUSTFLAGS: "-Zunstable-options -Cpanic=immediate-abort" } : process.env,
  });
  const name = crate.replaceAll("-", "_");
  const wasmIn = join(target, "wasm32-unknown-unknown", profile, `${name}.wasm`);
  // The package's types are js/index.d.ts, the documented API only. The
  // generated .d.ts of the core is not shipped: the driver is type-checked
  // against it (tests/driver-types.test.mjs), from target/driver-types/.
  run("wasm-bindgen", [wasmIn, "--out-dir", outDir, "--target", "web", ...(types ? [] : ["--no-typescript"]), ...(dev ? [] : ["--remove-name-section", "--remove-producers-section"])]);
  if (types) {
    const dir = join(root, "target", "driver-types", relative(pkg, outDir));
    mkdirSync(dir, { recursive: true });
    copyFileSync(join(outDir, `${name}.d.ts`), join(dir, `${name}.d.ts`));
    if (anonymous) copyFileSync(join(outDir, `${name}.d.ts`), join(dir, `${name}_full.d.ts`));
    rmSync(join(outDir, `${name}.d.ts`));
    rmSync(join(outDir, `${name}_bg.wasm.d.ts`), { force: true });
  }
  const wasmOut = join(outDir, `${name}_bg.wasm`);
  const bindgen = readFileSync(wasmOut);
  if (!dev) optimize(wasmOut, shortNames);
  if (anonymous) {
    const keep = new Set(["__wbg_core_free", ...anonymous.map((m) => `core_${m}`), "fail"]);
    const anonymousWasm = join(outDir, `${name}_anonymous_bg.wasm`);
    writeFileSync(anonymousWasm, keepExports(bindgen, keep).bytes);
    if (!dev) {
      optimize(anonymousWasm, false);
      writeFileSync(anonymousWasm, renameAs(readFileSync(anonymousWasm), JSON.parse(names.get(wasmOut))));
    }
    copyFileSync(join(outDir, `${name}.js`), join(outDir, `${name}_full.js`));
  }
  rmSync(join(outDir, ".gitignore"), { force: true });
}

/**
 * wasm-opt, after the function table's step; with `minify`, the short
 * names binaryen gives the imports and exports, its mapping kept for the glue.
 * @param {string} wasmOut @param {boolean} minify
 */
function optimize(wasmOut, minify) {
  // npm binaryen: Debian's wasm-opt (108) emits modules that fail to load.
  const wasmOpt = join(root, "node_modules", ".bin", "wasm-opt");
  // The function table's entries no call can reach point at one trapping
  // function first (scripts/function-table.mjs), so -Oz drops their code.
  const table = dropUncallableEntries(readFileSync(wasmOut));
  writeFileSync(wasmOut, table.bytes);
  console.log(`${relative(root, wasmOut)}: ${table.removed.length} function table entries no call_indirect can reach`);
  // -Oz, then flatten the control flow and rebuild it (--rereloop) and -Oz
  // twice more: 1.5 KB gzip less than -Oz alone on the main module (148,790
  // -> 147,255 B of .wasm, measured 2026-11-22 with binaryen 132; -Os, -O3,
  // --converge and --gufa gave 0-50 B or more; -tnh was left out: it lets
  // wasm-opt assume that no trap is ever reached, which a bug could break).
  // The round runs twice, and functions called from one place are inlined
  // up to 20 instructions (--one-caller-inline-max-function-size; binaryen's
  // default is 15): 404 B gzip less on the production login path
  // (2026-12-07; 10: -328, 50: -301, 200: -185).
  // --low-memory-unused (595 B gzip, measured 2026-11-23): it only enables
  // optimize-added-constants, which folds `load(x + c)` (c < 1024) into
  // `load offset=c (x)`. The two differ only when x + c wraps past 2^32,
  // where the fold traps instead of reaching address < 1024: Rust's
  // address arithmetic never wraps (LLVM's inbounds GEPs), the data starts
  // at 1 MiB and only a stack 1 KiB from overflowing would reach low memory.
  // --strip-target-features: the target_features custom section is for
  // linkers; browsers ignore it (107 B gzip).
  // Last, binaryen's renaming of the imports, exports and modules to short
  // names (scripts/minify-names.mjs): it prints the mapping, kept here until
  // the glue is minified, then rewritten to match.
  const args = [
    wasmOut, "--low-memory-unused", "--one-caller-inline-max-function-size=20", "-Oz",
    "--flatten", "--rereloop", "-Oz", "-Oz", "--flatten", "--rereloop", "-Oz", "-Oz", "--strip-target-features",
    ...(minify ? ["--minify-imports-and-exports-and-modules"] : []), "-o", wasmOut,
    "--enable-bulk-memory", "--enable-mutable-globals", "--enable-nontrapping-float-to-int",
    "--enable-reference-types", "--enable-sign-ext", "--enable-multivalue",
  ];
  console.log(`$ ${wasmOpt} ${args.join(" ")}`);
  const printed = execFileSync(wasmOpt, args, { cwd: root, encoding: "utf8" });
  if (minify) names.set(wasmOut, printed);
}

rmSync(pkg, { recursive: true, force: true });
mkdirSync(pkg);
// The main module: the client, without the pure-Rust verifier; and the same
// without the errors' messages, for production builds.
const production = join(pkg, "production");
buildModule("oidc-pkce", ["--no-default-features", "--features", "browser"], pkg, { types: true, anonymous: ANONYMOUS_CORE });
buildModule("oidc-pkce", ["--no-default-features", "--features", "browser,terse"], production, { anonymous: ANONYMOUS_CORE });
// The fallback verifier, loaded by the driver (js/driver/io.js) only without crypto.subtle.
buildModule("oidc-pkce-verifier", [], join(pkg, "verifier"), { types: true });
// The backend's module (oidc-pkce/server): the core's confidential client, for js/server/.
// (Its names stay long: the backend's bytes are not downloaded by anyone.)
buildModule("oidc-pkce-server", [], join(pkg, "server"), { types: true, shortNames: false });
for (const f of readdirSync(join(root, "js", "server"))) copyFileSync(join(root, "js", "server", f), join(pkg, "server", f));

// The entry and the driver (js/driver/), bundled into index.js below.
for (const dir of [pkg, production]) {
  copyFileSync(join(root, "js", "index.js"), join(dir, "index.js"));
  // The browser's side of oidc-pkce/server: imported only with `backend` (no .wasm).
  copyFileSync(join(root, "js", "backend.js"), join(dir, "backend.js"));
  mkdirSync(join(dir, "driver"), { recursive: true });
  for (const f of readdirSync(join(root, "js", "driver"))) copyFileSync(join(root, "js", "driver", f), join(dir, "driver", f));
}
copyFileSync(join(root, "js", "index.d.ts"), join(pkg, "index.d.ts"));
copyFileSync(join(root, "js", "backend.d.ts"), join(pkg, "backend.d.ts"));
// The React and Vue bindings (issue 26): subpath exports, never in the main
// entry. Each build folder has its own copy importing its own ./index.js, so
// an app gets one library whatever export condition its bundler picks.
const bindings = ["auth-store.js", "react.js", "vue.js"];
for (const dir of [pkg, production]) {
  for (const f of bindings) copyFileSync(join(root, "js", "bindings", f), join(dir, f));
}
for (const f of ["react.d.ts", "vue.d.ts"]) copyFileSync(join(root, "js", "bindings", f), join(pkg, f));
copyFileSync(join(root, "js", "README.md"), join(pkg, "README.md"));
copyFileSync(join(root, "CHANGELOG.md"), join(pkg, "CHANGELOG.md"));
for (const license of ["LICENSE-MIT", "LICENSE-APACHE"]) copyFileSync(join(root, license), join(pkg, license));

const cargo = readFileSync(join(root, "Cargo.toml"), "utf8");
const version = /^version\s*=\s*"([^"]+)"/m.exec(cargo)[1];
// Where the source is published, for the registry's links and npm's
// provenance (`npm publish --provenance` from CI checks it against the
// repository it runs in): the root package.json's `repository`, once set.
const { repository, homepage, bugs } = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const manifest = {
  name: "oidc-pkce",
  version,
  description: "OAuth 2.0 Authorization Code + PKCE and OpenID Connect sign-in for web pages and hybrid apps (Rust/WebAssembly)",
  license: "MIT OR Apache-2.0",
  ...(repository ? { repository, homepage, bugs } : {}),
  type: "module",
  main: "./index.js",
  module: "./index.js",
  types: "./index.d.ts",
  // Bundlers building for production (Vite, webpack 5) pick "production":
  // the same API and behaviour, errors without their messages (7.8 KB gzip less).
  exports: {
    ".": { types: "./index.d.ts", production: "./production/index.js", default: "./index.js" },
    "./production": { types: "./index.d.ts", default: "./production/index.js" },
    "./development": { types: "./index.d.ts", default: "./index.js" },
    "./react": { types: "./react.d.ts", production: "./production/react.js", default: "./react.js" },
    "./vue": { types: "./vue.d.ts", production: "./production/vue.js", default: "./vue.js" },
    "./oidc_pkce_bg.wasm": "./oidc_pkce_bg.wasm",
    "./oidc_pkce_anonymous_bg.wasm": "./oidc_pkce_anonymous_bg.wasm",
    "./production/oidc_pkce_bg.wasm": "./production/oidc_pkce_bg.wasm",
    "./production/oidc_pkce_anonymous_bg.wasm": "./production/oidc_pkce_anonymous_bg.wasm",
    // The browser's side of a backend alone (no WebAssembly): createBackendClient.
    "./backend": { types: "./backend.d.ts", default: "./backend.js" },
    // The backend (Node 20+, and any runtime with fetch and WebCrypto).
    "./server": { types: "./server/index.d.ts", default: "./server/index.js" },
    "./package.json": "./package.json",
  },
  files: [
    "index.js", "index.d.ts", "oidc_pkce_bg.wasm", "oidc_pkce_anonymous_bg.wasm", "oidc_pkce_full.js", "backend.js", "backend.d.ts",
    "production/", "verifier/", "server/",
    ...bindings, "react.d.ts", "vue.d.ts", "README.md", "CHANGELOG.md", "LICENSE-MIT", "LICENSE-APACHE",
  ],
  // Published from CI with a signed provenance statement, publicly.
  publishConfig: { access: "public", provenance: true },
  // The bindings' frameworks: optional, only `oidc-pkce/react` and `oidc-pkce/vue` import them.
  peerDependencies: { react: ">=18", vue: ">=3.3" },
  peerDependenciesMeta: { react: { optional: true }, vue: { optional: true } },
  // The package runs in browsers; Node matters only to bundlers and test runners.
  engines: { node: ">=20" },
  sideEffects: false,
  keywords: ["oauth", "oidc", "openid-connect", "pkce", "auth0", "capacitor", "webassembly"],
};
writeFileSync(join(pkg, "package.json"), JSON.stringify(manifest, null, 2) + "\n");

// The entry (js/index.js), the wasm-bindgen glue and the driver (js/driver/)
// are bundled into one file with rolldown (Vite's bundler): a page then
// fetches index.js and one .wasm, and nothing else (measured 2026-11-23:
// 275 B gzip less than the entry and the glue as two files, and one request
// fewer). The glue's copy for the full module after the anonymous one
// (./oidc_pkce_full.js) and the fallback verifier stay separate modules,
// imported only when needed.
const GLUES = ["./oidc_pkce_full.js", "./backend.js"];
async function bundleEntry(dir) {
  const bundle = await rolldown({
    input: join(dir, "index.js"),
    external: (id) => id.includes("verifier/oidc_pkce_verifier.js") || GLUES.includes(id),
  });
  const { output } = await bundle.generate({ format: "esm" });
  if (output.length !== 1) throw new Error(`bundling the entry made ${output.length} files, not 1`);
  let code = output[0].code;
  if (dir !== pkg) {
    // The fallback verifier is shared: pkg/verifier/, one level up from here.
    const from = "./verifier/oidc_pkce_verifier.js";
    if (code.split(from).length !== 2) throw new Error(`${dir}/index.js: ${from} is not there exactly once`);
    code = code.replace(from, "../verifier/oidc_pkce_verifier.js");
  }
  for (const glue of GLUES) {
    if (!code.includes(`import("${glue}")`)) throw new Error(`${dir}/index.js: import("${glue}") is not there`);
  }
  writeFileSync(join(dir, "index.js"), code);
  rmSync(join(dir, "oidc_pkce.js"));
  rmSync(join(dir, "driver"), { recursive: true, force: true });
}
await bundleEntry(pkg);
await bundleEntry(production);
const sizes = (files) => {
  let raw = 0;
  let gz = 0;
  for (const f of files) {
    raw += statSync(f).size;
    gz += gzipSync(readFileSync(f), { level: 9 }).length;
  }
  return { raw, gz };
};
// Release: minify the JS (the wasm-bindgen glue, the entry, the driver): about
// 4.5 KB gzip less. Exported names and import-object keys are kept.
if (!dev) {
  for (const f of ["index.js", "production/index.js", "oidc_pkce_full.js", "production/oidc_pkce_full.js", "backend.js", "production/backend.js", "verifier/oidc_pkce_verifier.js"]) {
    const file = join(pkg, f);
    const out = await minify(file, readFileSync(file, "utf8"), { compress: true, mangle: true });
    if (out.errors?.length) throw new Error(`minifying ${f}: ${JSON.stringify(out.errors)}`);
    writeFileSync(file, out.code);
  }
}
// Release: the short names binaryen gave the imports, exports and modules
// (see buildModule) are written into the glue too (scripts/minify-names.mjs):
// wasm-bindgen's names carry 16-hex-digit hashes, written in both files.
// binaryen's pass replaced a hand-written rewriter of the .wasm's sections
// (measured 2026-12-02: production login path 73,690 -> 73,630 B, default
// 83,258 -> 83,198 B, verifier/ 60,640 -> 60,575 B).
if (!dev) {
  for (const [wasm, glue, module] of [
    [join(pkg, "oidc_pkce_bg.wasm"), join(pkg, "index.js"), "./oidc_pkce_bg.js"],
    [join(pkg, "oidc_pkce_bg.wasm"), join(pkg, "oidc_pkce_full.js"), "./oidc_pkce_bg.js"],
    [join(production, "oidc_pkce_bg.wasm"), join(production, "index.js"), "./oidc_pkce_bg.js"],
    [join(production, "oidc_pkce_bg.wasm"), join(production, "oidc_pkce_full.js"), "./oidc_pkce_bg.js"],
    [join(pkg, "verifier", "oidc_pkce_verifier_bg.wasm"), join(pkg, "verifier", "oidc_pkce_verifier.js"), "./oidc_pkce_verifier_bg.js"],
  ]) {
    writeFileSync(glue, renameGlue(readFileSync(glue, "utf8"), JSON.parse(names.get(wasm)), module));
  }
}

// Which toolchain built pkg/: tests/size.test.mjs holds a stable build to
// the stable budgets.
mkdirSync(join(root, "target"), { recursive: true });
writeFileSync(join(root, "target", "pkg-build.json"), JSON.stringify({ profile, nightly: toolchain.nightly, toolchain: toolchain.why }) + "\n");

// What a page downloads: the entry, one module's glue and its .wasm.
const report = (dir, what) => {
  for (const [kind, files] of [
    ["login path", ["index.js", "oidc_pkce_bg.wasm"]],
    ["anonymous page", ["index.js", "oidc_pkce_anonymous_bg.wasm"]],
  ]) {
    const { raw, gz } = sizes(files.map((f) => join(dir, f)));
    console.log(`${relative(root, dir)}/ ${what} ${kind}: ${files.join(" + ")} = ${raw} B, ${gz} B gzip -9`);
  }
};
report(pkg, `(${profile}, with messages)`);
report(production, "(errors without messages)");
const fallback = sizes(["verifier/oidc_pkce_verifier.js", "verifier/oidc_pkce_verifier_bg.wasm"].map((f) => join(pkg, f)));
console.log(`pkg/verifier/ (fetched only without crypto.subtle): ${fallback.raw} B, ${fallback.gz} B gzip -9`);
