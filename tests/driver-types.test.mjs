// The seam between the two languages, checked by a compiler: the driver
// (js/driver/) and the entry (js/index.js) under `tsc --checkJs --strict`
// against the types wasm-bindgen generates for the core's exports (and the
// fallback verifier's), which `node scripts/build.mjs` leaves in
// target/driver-types/. A method renamed, an argument added or a returned
// shape changed on the Rust side fails here.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { cpSync, existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const root = fileURLToPath(new URL("..", import.meta.url));
const tsc = join(root, "node_modules", ".bin", "tsc");
const types = join(root, "target", "driver-types");

test("the driver, the entry and the bindings type-check against the core's generated types", async () => {
  assert.ok(existsSync(join(types, "oidc_pkce.d.ts")), "run node scripts/build.mjs first");
  // The package's layout: index.js beside the glue's types, driver/ beside it.
  const dir = join(root, "target", `driver-check-${process.pid}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  try {
    cpSync(types, dir, { recursive: true });
    cpSync(join(root, "js", "index.js"), join(dir, "index.js"));
    cpSync(join(root, "js", "driver"), join(dir, "driver"), { recursive: true });
    cpSync(join(root, "js", "backend.js"), join(dir, "backend.js"));
    // oidc-pkce/server's driver, against its module's generated types.
    cpSync(join(root, "js", "server"), join(dir, "server"), { recursive: true, filter: (f) => !f.endsWith(".d.ts") });
    // The React and Vue bindings sit beside the entry in the package, as here.
    for (const f of ["auth-store.js", "react.js", "vue.js"]) cpSync(join(root, "js", "bindings", f), join(dir, f));
    writeFileSync(
      join(dir, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "es2022",
          module: "esnext",
          moduleResolution: "bundler",
          lib: ["esnext", "dom", "dom.iterable"],
          allowJs: true,
          checkJs: true,
          strict: true,
          noEmit: true,
          skipLibCheck: false,
          types: [],
        },
        include: ["index.js", "backend.js", "driver/*.js", "server/*.js", "auth-store.js", "react.js", "vue.js"],
      }),
    );
    const out = await promisify(execFile)(tsc, ["-p", dir]).then(
      () => "",
      (e) => `${e.stdout}${e.stderr}` || String(e),
    );
    assert.equal(out, "", out);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
