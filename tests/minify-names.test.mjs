// The glue's side of binaryen's name minification (scripts/minify-names.mjs),
// on a fixture of the glue's shapes: imports as import-object keys (either
// syntax the minifier writes), exports read as `wasm.<name>`, a JS wrapper of
// the same name as an export; and the refusals that keep a module that
// could not link from shipping.
import assert from "node:assert/strict";
import { test } from "node:test";
import { renameGlue } from "../scripts/minify-names.mjs";

const glue = [
  'let w;function init(e){w=e.exports;}',
  'function createPkcePair(){return w.createPkcePair()}',
  'const api={createPkcePair};api.createPkcePair();',
  'const i={__proto__:null,__wbg_now_463ac581d2fc7ea3:function(){return Date.now()},__wbg_keys_105f5c0857898f84(e){return Object.keys(e)}};',
  'const imports={"./oidc_pkce_bg.js":i};',
  'w.core_isAuthenticated(p);w.__wbindgen_malloc(1);w.memory.buffer;',
].join("\n");
const map = {
  imports: [
    ["./oidc_pkce_bg.js", "__wbg_now_463ac581d2fc7ea3", "a"],
    ["./oidc_pkce_bg.js", "__wbg_keys_105f5c0857898f84", "b"],
  ],
  exports: [
    ["createPkcePair", "$"],
    ["core_isAuthenticated", "Aa"],
    ["__wbindgen_malloc", "c"],
    ["memory", "d"],
  ],
};

test("imports, the module and exports are renamed in the glue as in the .wasm", () => {
  const out = renameGlue(glue, map, "./oidc_pkce_bg.js");
  assert.match(out, /\ba:function\(\)\{return Date\.now\(\)\}/);
  assert.match(out, /\bb\(e\)\{return Object\.keys\(e\)\}/);
  assert.match(out, /\{"a":i\}/);
  assert.match(out, /function createPkcePair\(\)\{return w\.\$\(\)\}/, "the JS wrapper keeps its name");
  assert.match(out, /api\.createPkcePair\(\)/, "a JS object's property of the same name is not the export");
  assert.match(out, /w\.Aa\(p\);w\.c\(1\);w\.d\.buffer/);
  assert.doesNotMatch(out, /__wbg_|core_isAuthenticated|oidc_pkce_bg/);
});

test("what would not link is refused", () => {
  assert.throws(() => renameGlue(glue.replace("__wbg_keys_105f5c0857898f84", "x"), map, "./oidc_pkce_bg.js"), /occurs 0 times/);
  assert.throws(() => renameGlue(glue + "\n__wbg_now_463ac581d2fc7ea3", map, "./oidc_pkce_bg.js"), /occurs 2 times/);
  assert.throws(() => renameGlue(glue + '\nw["memory"]', map, "./oidc_pkce_bg.js"), /read by a string/);
  assert.throws(() => renameGlue(glue, { ...map, imports: [["env", "x", "a"]] }, "./oidc_pkce_bg.js"), /module env/);
  assert.throws(() => renameGlue(glue, map, "./other_bg.js"), /module \.\/oidc_pkce_bg\.js/);
  assert.throws(() => renameGlue(glue + "\nw.gone()", map, "./oidc_pkce_bg.js"), /reads export gone/);
  assert.throws(() => renameGlue(glue.replace("w=e.exports;", ""), map, "./oidc_pkce_bg.js"), /0 times/);
});
