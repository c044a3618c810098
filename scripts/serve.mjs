// A small static file server for the demo and the tests: www/ at "/",
// the built package at "/pkg/", and the test pages at "/test/".
import http from "node:http";
import { readFile } from "node:fs/promises";
import { extname, join, normalize, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const root = fileURLToPath(new URL("..", import.meta.url));
const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".wasm": "application/wasm",
  ".ts": "text/plain; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
};
const DEFAULT_MOUNTS = [
  ["/pkg/", "pkg"],
  ["/test/", "tests/e2e/pages"],
  ["/", "www"],
];

/**
 * Serves files; `routes` maps exact paths to handlers (req, res) first, and
 * `spa` paths get /index.html; `handle(req, res)`, when given, sees each
 * request first and resolves to true for those it answered. `mounts`: [url prefix, folder of the repository]
 * pairs, first match wins. `gzip`: bodies gzip-encoded for a client that
 * accepts it, as any real host serves them (the bench's phone-network row).
 * Resolves to { url, port, close() }.
 */
export async function startStaticServer({
  port = 0,
  host = "127.0.0.1",
  routes = {},
  spa = ["/callback"],
  mounts = DEFAULT_MOUNTS,
  gzip = false,
  handle = null,
} = {}) {
  const server = http.createServer(async (req, res) => {
    try {
      // `handle(req, res)`: a handler that takes the requests it knows first (true when it did).
      if (handle && (await handle(req, res))) return;
      const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
      if (routes[path]) return await routes[path](req, res);
      const file = resolve(mounts, spa.includes(path) ? "/index.html" : path);
      if (!file) return res.writeHead(404).end("not found");
      const body = await readFile(file);
      const encode = gzip && /\bgzip\b/.test(req.headers["accept-encoding"] ?? "");
      res.writeHead(200, {
        "Content-Type": TYPES[extname(file)] ?? "application/octet-stream",
        "Cache-Control": "no-store",
        ...(encode ? { "Content-Encoding": "gzip" } : {}),
      });
      res.end(encode ? gzipSync(body, { level: 9 }) : body);
    } catch (e) {
      res.writeHead(e.code === "ENOENT" || e.code === "EISDIR" ? 404 : 500).end(String(e.code ?? "error"));
    }
  });
  await new Promise((r) => server.listen(port, host, r));
  const actual = server.address().port;
  return {
    port: actual,
    url: `http://${host}:${actual}`,
    close: () => new Promise((r) => server.close(r)),
  };
}

function resolve(mounts, path) {
  if (path.endsWith("/")) path += "index.html";
  for (const [prefix, dir] of mounts) {
    if (path.startsWith(prefix)) {
      const base = join(root, dir);
      const file = normalize(join(base, path.slice(prefix.length)));
      return file.startsWith(base + sep) ? file : null;
    }
  }
  return null;
}
