// The package's types (pkg/index.d.ts, from js/index.d.ts) against what the
// docs show and what users write: every ```ts/```js block of the READMEs must
// compile under `tsc --strict`, the everyday calls must compile without
// optional arguments, and misuse must not compile (// @ts-expect-error fails
// the build when the error it expects is not there).
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const root = fileURLToPath(new URL("..", import.meta.url));
const tsc = join(root, "node_modules", ".bin", "tsc");

/** The fenced ts/js code blocks of a Markdown file, with their line numbers. */
function codeBlocks(file) {
  const lines = readFileSync(join(root, file), "utf8").split("\n");
  const blocks = [];
  let current = null;
  lines.forEach((line, i) => {
    if (current) {
      if (line.startsWith("```")) {
        blocks.push(current);
        current = null;
      } else current.code.push(line);
    } else if (/^```(ts|typescript|js|javascript|tsx)\s*$/.test(line)) {
      current = { file, line: i + 1, code: [], tsx: line.startsWith("```tsx") };
    }
  });
  return blocks;
}

/**
 * Compiles `files` ({ name: source }) with tsc --strict in a folder inside the
 * repo (so node_modules resolve). By default "oidc-pkce" and its subpaths are
 * mapped to pkg/ with `paths`; with `linked`, the built package is linked
 * into the folder's node_modules as npm would install it, and the compiler
 * finds it on its own (`resolution`: "bundler" or "node16").
 */
async function compile(files, { linked = false, resolution = "bundler" } = {}) {
  const dir = join(root, "target", `types-test-${process.pid}-${Math.random().toString(36).slice(2)}`);
  mkdirSync(join(dir, "node_modules"), { recursive: true });
  try {
    for (const [name, source] of Object.entries(files)) writeFileSync(join(dir, name), source);
    if (linked) {
      symlinkSync(join(root, "pkg"), join(dir, "node_modules", "oidc-pkce"), "dir");
      writeFileSync(join(dir, "package.json"), JSON.stringify({ type: "module" }));
    }
    writeFileSync(
      join(dir, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "es2022",
          module: resolution === "node16" ? "node16" : "esnext",
          moduleResolution: resolution,
          lib: ["es2022", "dom"],
          jsx: "react-jsx",
          strict: true,
          noEmit: true,
          skipLibCheck: false,
          types: [],
          ...(linked
            ? {}
            : {
                paths: {
                  "oidc-pkce": [join(root, "pkg", "index.d.ts")],
                  "oidc-pkce/react": [join(root, "pkg", "react.d.ts")],
                  "oidc-pkce/vue": [join(root, "pkg", "vue.d.ts")],
                  "oidc-pkce/backend": [join(root, "pkg", "backend.d.ts")],
                  "oidc-pkce/server": [join(root, "pkg", "server", "index.d.ts")],
                },
              }),
        },
        include: Object.keys(files),
      }),
    );
    return await promisify(execFile)(tsc, ["-p", dir]).then(
      () => "",
      (e) => `${e.stdout}${e.stderr}` || String(e),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("every code block of the READMEs compiles under tsc --strict", async () => {
  const blocks = [...codeBlocks("js/README.md"), ...codeBlocks("README.md")];
  assert.ok(blocks.length >= 3, `found ${blocks.length} blocks`);
  const files = Object.fromEntries(
    blocks.map((b, i) => [`block${i}.${b.tsx ? "tsx" : "ts"}`, `// ${b.file}:${b.line}\n${b.code.join("\n")}\nexport {};\n`]),
  );
  const out = await compile(files);
  const where = (name) => files[name]?.split("\n")[0] ?? name;
  assert.equal(out, "", out.replace(/block\d+\.tsx?/g, (n) => `${n} (${where(n)})`));
});

test("the API's everyday calls compile without optional arguments; misuse does not compile", async () => {
  const out = await compile({
    "use.ts": `import { AuthError, createAuthClient, verifyIdToken, type AuthClient, type Tokens } from "oidc-pkce";

export async function everyday(): Promise<void> {
  const auth: AuthClient = await createAuthClient({ issuer: "https://id.example.com", clientId: "a", redirectUri: "https://app/cb" });
  await auth.loginWithRedirect();
  await auth.buildAuthorizeUrl();
  await auth.getAccessToken();
  const tokens: Tokens = await auth.refresh();
  await auth.logout();
  const url: string = auth.buildLogoutUrl();
  const { appState } = await auth.handleRedirectCallback<{ returnTo: string }>();
  const back: string | undefined = appState?.returnTo;
  await auth.loginWithRedirect<{ returnTo: string }>({ appState: { returnTo: "/x" } });
  const claims = await verifyIdToken("h.p.s", { issuer: "i", clientId: "c", jwks: { keys: [] }, algorithms: ["ES256"] });
  const sub: string = claims.sub;
  try {
    await auth.getAccessToken({ forceRefresh: true });
  } catch (e) {
    if (e instanceof AuthError && e.code === "login_required" && e.reason !== "alg") console.log(url, back, sub, tokens);
  }
}

export async function misuse(auth: AuthClient, e: AuthError): Promise<void> {
  // @ts-expect-error free() is wasm-bindgen's, not part of the API
  auth.free();
  // @ts-expect-error a misspelt error code
  if (e.code === "invalid_confg") return;
  // @ts-expect-error a misspelt reason
  if (e.reason === "signatur") return;
  // @ts-expect-error HS256 is never accepted
  await verifyIdToken("h.p.s", { issuer: "i", clientId: "c", jwks: { keys: [] }, algorithms: ["HS256"] });
  // @ts-expect-error issuer and domain exclude each other
  await createAuthClient({ issuer: "https://i", domain: "t.auth0.com", clientId: "a", redirectUri: "https://a/cb" });
  // @ts-expect-error redirect_uri is not an option
  await createAuthClient({ issuer: "https://i", clientId: "a", redirect_uri: "https://a/cb" });
  // @ts-expect-error getTokens() may be null
  const { accessToken } = auth.getTokens();
  // @ts-expect-error appState is typed by the call
  const n: number = (await auth.handleRedirectCallback<{ returnTo: string }>()).appState?.returnTo;
  console.log(accessToken, n);
}
`,
  });
  assert.equal(out, "", out);
});

test("the React and Vue bindings' types: the state typed, misuse refused", async () => {
  const out = await compile({
    "react-use.tsx": `import { AuthProvider, RequireAuth, useAuth, withAuthenticationRequired } from "oidc-pkce/react";
import type { AuthError } from "oidc-pkce";

function Page(props: { id: number }) {
  const { isLoading, isAuthenticated, user, error, client, getAccessToken } = useAuth();
  const loading: boolean = isLoading && isAuthenticated;
  const name: string | undefined = user?.name;
  const code: AuthError["code"] | undefined = error?.code;
  const signedIn: boolean = client?.isRedirectCallback() ?? false;
  void getAccessToken({ audience: "https://api" });
  return <p>{props.id} {String(loading)} {name} {code} {String(signedIn)}</p>;
}
const Protected = withAuthenticationRequired(Page);
export const app = (
  <AuthProvider options={{ issuer: "https://id", clientId: "a", redirectUri: "https://app/" }} onRedirectCallback={(s: { to: string } | undefined) => s?.to}>
    <RequireAuth fallback={<p>…</p>}><Protected id={1} /></RequireAuth>
  </AuthProvider>
);
// @ts-expect-error: options are required
export const noOptions = <AuthProvider><p /></AuthProvider>;
// @ts-expect-error: the wrapped component's props stay checked
export const wrongProps = <Protected id="1" />;
`,
    "vue-use.ts": `import { createAuth, createAuthGuard, useAuth } from "oidc-pkce/vue";

const auth = createAuth({ issuer: "https://id", clientId: "a", redirectUri: "https://app/" });
export const guard: (to: { fullPath: string }) => Promise<boolean> = createAuthGuard(auth);
export function inSetup(): string | undefined {
  const { isAuthenticated, user, error } = useAuth();
  const signedIn: boolean = isAuthenticated.value;
  // @ts-expect-error: the state is read-only
  isAuthenticated.value = true;
  return signedIn ? user.value?.sub : error.value?.code;
}
// @ts-expect-error: options are required
createAuth();
`,
  });
  assert.equal(out, "");
});

test("the bindings' types resolve through the package's exports map (node16 and bundler resolution)", async () => {
  // The built package linked as npm would install it, no `paths`: TypeScript
  // must find the subpaths' types the way an app's compiler does (a missing
  // react.d.ts is TS7016 here).
  const app = `import { AuthProvider, useAuth } from "oidc-pkce/react";
import { createAuth } from "oidc-pkce/vue";
import { createAuthClient } from "oidc-pkce";
export function Name() {
  const { user } = useAuth();
  return <b>{user?.name}</b>;
}
export const app = <AuthProvider options={{ issuer: "https://id", clientId: "a", redirectUri: "https://app/" }}><Name /></AuthProvider>;
export const auth = createAuth({ issuer: "https://id", clientId: "a", redirectUri: "https://app/" });
export const client = createAuthClient({ issuer: "https://id", clientId: "a", redirectUri: "https://app/" });
`;
  for (const resolution of ["node16", "bundler"]) {
    const out = await compile({ "app.tsx": app }, { linked: true, resolution });
    assert.equal(out, "", `${resolution}: ${out}`);
  }
});
