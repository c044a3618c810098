import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

// Inside the oidc-pkce repository, use the package built into ../../pkg;
// a copy of this example uses the npm package.
const local = fileURLToPath(new URL("../../pkg/index.js", import.meta.url));

export default defineConfig({
  resolve: existsSync(local) ? { alias: { "oidc-pkce": local } } : {},
  // No plugin is needed for the .wasm: the package loads it with
  // new URL("oidc_pkce_bg.wasm", import.meta.url), which Vite emits as an asset.
  build: { target: "es2022" },
  optimizeDeps: { exclude: ["oidc-pkce"] },
});
