#!/usr/bin/env node
// Records how the WHATWG URL parsers read a corpus of URL strings, for the
// core parser's property test (src/uri.rs, `agrees_with_the_browsers_reading`):
// Node's `URL` (Ada) and Chromium's (the parser fetch and navigation use),
// through Debian's Chromium and playwright-core.
// Usage: node scripts/record-urls.mjs   (writes tests/fixtures/whatwg-urls.json)
//
// The corpus: hand-picked cases where RFC 3986 and WHATWG readings differ
// (backslashes, userinfo, percent-encoded and non-ASCII hosts, IPv4 forms,
// ports, dot segments, percent-encoded dots), and combinations of their
// parts drawn by a seeded generator (the same corpus on every run).
import { writeFileSync } from "node:fs";
import { chromium } from "playwright-core";
import { CHROMIUM_ARGS } from "../tests/e2e/harness.mjs";

const HAND = [
  "http://evil.test\\@localhost/",
  "http://evil.test\\.localhost/",
  "http://evil.test\\@127.0.0.1:8080/x",
  "https://evil.test\\@good.example/token",
  "http:\\\\evil.test\\",
  "https:evil.test",
  "http:/evil.test/",
  "http://a@b@localhost/",
  "http://localhost@evil.test/",
  "http://evil.test#@localhost/",
  "http://evil.test?@localhost/",
  "http://local%68ost/",
  "http://localhost%2eevil.test/",
  "http://127.0.0.1%2F@evil.test/",
  "http://ｌｏｃａｌｈｏｓｔ/",
  "http://localhost./",
  "http://127.1/",
  "http://0x7f.0.0.1/",
  "http://2130706433/",
  "http://127.0.0.1./",
  "http://127.000.000.001/",
  "http://[::1]/",
  "http://[0:0::1]/",
  "http://[::ffff:127.0.0.1]/",
  ...[
    "::", "::1", "1::", "0::1", "::0:1", "2001:db8::7", "2001:DB8::7", "2001:0db8::7", "1:2:3:4:5:6:7:8",
    "1:0:2:0:3:0:4:0", "1::2:0:0:3", "1:0:0:2::3", "1:0:0:2:0:0:3:4", "1::2:0:0:3:4", "1:0:0:2::3:4",
    "1:2:3:4:5:6:7::", "1:2:3:4:5:6::8", "1:2:3:4:5::7:8", "::ffff:7f00:1", "fe80::1%25eth0", "1:2:3:4:5:6:7:8:9",
    "12345::1", ":::1", "1:::2", "::1::2", "g::1", "0:0:0:0:0:0:0:1", "1:0:0:0:0:0:0:0", "1::0",
  ].map((a) => `http://[${a}]:8080/x`),
  "http://localhost:80/",
  "https://localhost:443/a",
  "http://localhost:080/",
  "http://localhost:65535/",
  "http://localhost:65536/",
  "http://localhost:/",
  "http://localhost:x/",
  "HTTP://LOCALHOST:8080/A/B",
  "http://h/a/./b/../c",
  "http://h/a/%2e%2E/b",
  "http://h/a/.%2e/b",
  "http://h/%2e",
  "http://h/..",
  "http://h",
  "http://h?x",
  "http://h/%41%7e%2D",
  "http://h/é",
  "http://h/a{b}",
  "http://h/a^b|c`d",
  "http://h/a\"b<c>",
  "http://h/a%zzb",
  "http://app.localhost:3000/cb",
  "http://a_b.localhost/",
  "http://user:pass@host/",
  "http://@localhost/",
  "http://xn--bcher-kva.example/",
  "http://bücher.example/",
  "http://evil.test%5C@localhost/",
  "javascript:alert(1)",
  "com.example.app://callback?code=1",
  "com.example.app:/oauth2redirect",
];

const PARTS = {
  scheme: ["http", "https", "HTTP", "hTtPs", "ftp", "com.app"],
  sep: ["://", "://", "://", ":/", ":", ":\\\\", "://\\"],
  userinfo: ["", "", "", "user@", "u:p@", "evil.test\\@", "a@b@", "x%40y@"],
  host: [
    "localhost", "LOCALHOST", "127.0.0.1", "127.1", "0x7f.0.0.1", "[::1]", "[0:0::1]", "evil.test",
    "evil.test\\", "app.localhost", "localhost.", "ｌｏｃａｌｈｏｓｔ", "loc%61lhost", "évil.test",
    "a_b.test", "evil.test%2F", "127.0.0.1.evil.test", "EXAMPLE.com", "example.com", "",
  ],
  port: ["", "", "", ":", ":80", ":443", ":8080", ":080", ":65536", ":x"],
  path: [
    "", "/", "/a/b", "/a/../b", "/a/./b/", "/%2e%2E/x", "/a%2fb", "/%41b", "/é", "/{x}", "/a^b",
    "/a|b", "/a`b", "/\\x", "/a/..", "/.", "//x", "/a%2Eb",
  ],
  query: ["", "", "?q=1", "?", "?a\\b"],
  fragment: ["", "", "#f", "#", "#a\\b"],
};

/** mulberry32: a small seeded generator, so the corpus is the same on every run. */
function generator(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const random = generator(20261202);
const pick = (list) => list[Math.floor(random() * list.length)];
const corpus = new Set(HAND);
while (corpus.size < 3000) {
  const p = Object.fromEntries(Object.entries(PARTS).map(([k, v]) => [k, pick(v)]));
  corpus.add(`${p.scheme}${p.sep}${p.userinfo}${p.host}${p.port}${p.path}${p.query}${p.fragment}`);
}
const inputs = [...corpus];

/** What a WHATWG parser makes of `input`, or null when it fails. Runs in Node and in the page. */
function read(input) {
  let u;
  try {
    u = new URL(input);
  } catch {
    return null;
  }
  return [u.protocol, u.username, u.password, u.hostname, u.port, u.pathname, u.search, u.hash];
}

const node = inputs.map(read);
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium", args: CHROMIUM_ARGS });
let chromiumReadings;
const browserVersion = browser.version();
try {
  const page = await browser.newPage();
  chromiumReadings = await page.evaluate(
    ([list, source]) => {
      const readIt = new Function(`return (${source})`)();
      return list.map(readIt);
    },
    [inputs, read.toString()],
  );
} finally {
  await browser.close();
}

// One row per input: [input, Node's reading, Chromium's reading ("=" when it is Node's)];
// a reading is [protocol, username, password, hostname, port, pathname, search, hash] or null.
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
const cases = inputs.map((input, i) => [input, node[i], same(node[i], chromiumReadings[i]) ? "=" : chromiumReadings[i]]);
const out = new URL("../tests/fixtures/whatwg-urls.json", import.meta.url);
const header = { recorded: new Date().toISOString().slice(0, 10), node: process.version, chromium: browserVersion };
writeFileSync(out, `{"about":${JSON.stringify(header)},"cases":[\n${cases.map((c) => JSON.stringify(c)).join(",\n")}\n]}\n`);
const differ = cases.filter((c) => c[2] !== "=").length;
console.log(`${cases.length} cases recorded in ${out.pathname} (${differ} read differently by Node and Chromium)`);
