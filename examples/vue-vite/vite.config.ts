import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { defineConfig, searchForWorkspaceRoot } from "vite";

// In the oidc-pkce repository, `npm install` links the package built into
// ../../pkg; the dev server may then serve its files (a copy of this example
// installed from the registry does not need it).
const linked = fileURLToPath(new URL("../../pkg", import.meta.url));

export default defineConfig({
  // Vite 6 and 7 only: their dependency pre-bundling would move the package's
  // JS away from its .wasm files (Vite 8 does not need this line).
  optimizeDeps: { exclude: ["oidc-pkce"] },
  server: { fs: { allow: [searchForWorkspaceRoot(process.cwd()), ...(existsSync(linked) ? [linked] : [])] } },
});
