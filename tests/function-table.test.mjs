// The release build's table step (scripts/function-table.mjs): entries no
// call_indirect can reach point at a trapping function; anything that could
// reach an entry another way stops the build. Small modules written for each
// case, then the package as built.
import assert from "node:assert/strict";
import { readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import binaryen from "binaryen";
import { dropUncallableEntries } from "../scripts/function-table.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));

/** A module from its text, as bytes (what the build hands the step). */
function wasm(body) {
  const m = binaryen.parseText(`(module ${body})`);
  m.setFeatures(binaryen.Features.MVP | binaryen.Features.ReferenceTypes | binaryen.Features.BulkMemory);
  assert.ok(m.validate(), "the test's module validates");
  const bytes = m.emitBinary();
  m.dispose();
  return bytes;
}

/** What each entry of the table does after the step: "traps", or its result type. */
function entries(bytes) {
  const m = binaryen.readBinary(bytes);
  try {
    const seg = binaryen.getElementSegmentInfo(m.getElementSegmentByIndex(0));
    return seg.data.map((f) => {
      const info = binaryen.getFunctionInfo(m.getFunction(f));
      if (info.body && binaryen.getExpressionId(info.body) === binaryen.UnreachableId) return "traps";
      return info.params === binaryen.i32 ? "takes i32" : "returns i32";
    });
  } finally {
    m.dispose();
  }
}

const FUNCS = `
  (type $unary (func (param i32)))
  (type $nullary (func (result i32)))
  (table $t 4 4 funcref)
  (elem (table $t) (i32.const 1) func $called $uncalled $alsoCalled)
  (func $called (param i32))
  (func $alsoCalled (param i32))
  (func $uncalled (result i32) (i32.const 7))
`;

test("an entry of a signature no call_indirect names is replaced; the called ones stay", () => {
  const out = dropUncallableEntries(
    wasm(`${FUNCS}
      (func $run (export "run") (param i32) (call_indirect $t (type $unary) (i32.const 0) (local.get 0)))`),
  );
  assert.deepEqual(out.removed.map((r) => [r.index, r.type]), [[2, "(func (result i32))"]]);
  assert.deepEqual(entries(out.bytes), ["takes i32", "traps", "takes i32"]);
  // And the module still runs: a call through the table reaches what it did.
  const instance = new WebAssembly.Instance(new WebAssembly.Module(out.bytes));
  instance.exports.run(1);
});

test("with a call_indirect of each signature, nothing is removed (and the bytes are the same)", () => {
  const bytes = wasm(`${FUNCS}
    (func $a (export "a") (param i32) (call_indirect $t (type $unary) (i32.const 0) (local.get 0)))
    (func $b (export "b") (param i32) (result i32) (call_indirect $t (type $nullary) (local.get 0)))`);
  const out = dropUncallableEntries(bytes);
  assert.equal(out.removed.length, 0);
  assert.equal(out.bytes, bytes);
});

test("a return_call_indirect counts as a call", () => {
  const m = binaryen.parseText(`(module ${FUNCS}
    (func $b (export "b") (param i32) (result i32) (return_call_indirect $t (type $nullary) (local.get 0))))`);
  m.setFeatures(binaryen.Features.MVP | binaryen.Features.ReferenceTypes | binaryen.Features.TailCall);
  const bytes = m.emitBinary();
  m.dispose();
  const out = dropUncallableEntries(bytes, binaryen.Features.MVP | binaryen.Features.ReferenceTypes | binaryen.Features.TailCall);
  assert.deepEqual(out.removed.map((r) => r.index), [1, 3]);
  assert.deepEqual(entries(out.bytes), ["traps", "returns i32", "traps"]);
});

test("a table the host can reach stops the build: exported, imported, read, written, or a ref.func", () => {
  const call = `(func $run (export "run") (param i32) (call_indirect $t (type $unary) (i32.const 0) (local.get 0)))`;
  for (const [why, body, message] of [
    ["exported", `${FUNCS} ${call} (export "table" (table $t))`, /exported/],
    [
      "imported",
      `(import "env" "table" (table $t 4 funcref)) (type $unary (func (param i32)))
       (elem (table $t) (i32.const 1) func $f) (func $f (result i32) (i32.const 1)) ${call}`,
      /imported/,
    ],
    ["read", `${FUNCS} ${call} (func (export "get") (result funcref) (table.get $t (i32.const 2)))`, /table\.get/],
    ["written", `${FUNCS} ${call} (func (export "set") (table.set $t (i32.const 0) (ref.null func)))`, /table\.set/],
    ["grown", `${FUNCS} ${call} (func (export "grow") (result i32) (table.grow $t (ref.null func) (i32.const 1)))`, /table\.grow/],
    ["a ref.func", `${FUNCS} ${call} (elem declare func $uncalled) (func (export "ref") (result funcref) (ref.func $uncalled))`, /ref\.func/],
  ]) {
    assert.throws(() => dropUncallableEntries(wasm(body)), message, why);
  }
});

test("the built package: its function table is not exported, and the step's guards hold on it", (t) => {
  for (const file of ["oidc_pkce_bg.wasm", "production/oidc_pkce_bg.wasm", "verifier/oidc_pkce_verifier_bg.wasm"]) {
    const built = join(root, "pkg", file);
    if (!existsSync(built)) return t.skip("pkg/ is not built (node scripts/build.mjs)");
    const bytes = readFileSync(built);
    const m = binaryen.readBinary(bytes);
    try {
      const filled = new Set();
      for (let i = 0; i < m.getNumElementSegments(); i++) filled.add(binaryen.getElementSegmentInfo(m.getElementSegmentByIndex(i)).table);
      assert.ok(filled.size > 0, `${file}: no function table (the step would have nothing to do)`);
      for (let i = 0; i < m.getNumExports(); i++) {
        const e = binaryen.getExportInfo(m.getExportByIndex(i));
        assert.ok(!(e.kind === binaryen.ExternalTable && filled.has(e.value)), `${file}: the function table is exported as ${e.name}`);
      }
    } finally {
      m.dispose();
    }
    // No table instruction, ref.func, import or export of the table: the
    // step would stop the build on any of them.
    assert.doesNotThrow(() => dropUncallableEntries(bytes), `${file}`);
  }
});
