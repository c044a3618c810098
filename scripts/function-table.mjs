// The function table's entries no call can reach (release builds).
//
// rustc puts every function whose address is taken into the module's
// function table: wasm-bindgen's generic closure shims, js-sys's JSPI
// wakers, fmt's `Display` impls of types the module never formats, and
// wasm-opt must keep each, since a `call_indirect` could reach it. It
// cannot: where the table is neither imported nor exported and no
// instruction reads or writes it (table.get, table.set, ...), an entry is
// reached only by a `call_indirect` of the entry's own signature (any other
// traps: the WebAssembly spec's call_indirect checks the callee's type).
// Entries of a signature no call_indirect names are pointed at one function
// that traps, and wasm-opt then drops what only they kept alive.
//
// The module is read and changed with binaryen's API; its text is only read
// to find the call_indirect signatures and the instructions on the table.
// Anything that would make an entry reachable another way (an exported or
// imported table, a table instruction, a `ref.func`, a second funcref
// table) stops the build instead.
import binaryen from "binaryen";

const TRAP = "oidc_pkce$uncallable";

// The features the build's wasm-opt enables, no more: with all of
// binaryen's (GC among them) the module that comes out optimizes 164 B
// gzip worse.
const F = binaryen.Features;
export const BUILD_FEATURES =
  F.MVP | F.BulkMemory | F.BulkMemoryOpt | F.CallIndirectOverlong | F.MutableGlobals | F.NontrappingFPToInt | F.ReferenceTypes | F.SignExt | F.Multivalue;

/**
 * @param {Uint8Array} bytes a module as wasm-bindgen wrote it
 * @param {number} [features] binaryen's feature flags the module uses
 * @returns {{ bytes: Uint8Array, removed: { index: number, func: string, type: string }[], called: string[] }}
 */
export function dropUncallableEntries(bytes, features = BUILD_FEATURES) {
  const m = binaryen.readBinary(bytes);
  try {
    m.setFeatures(features);
    const text = m.emitText();
    const segments = [];
    for (let i = 0; i < m.getNumElementSegments(); i++) segments.push(binaryen.getElementSegmentInfo(m.getElementSegmentByIndex(i)));
    // (The API does not give a table's element type: a table is one of
    // functions where it is declared funcref or an element segment fills it.)
    const funcrefs = new Set([
      ...[...text.matchAll(/\(table \$([^\s()]+) [^()]*funcref\)/g)].map((t) => t[1]),
      ...segments.map((seg) => seg.table).filter(Boolean),
    ]);
    const tables = [];
    for (let i = 0; i < m.getNumTables(); i++) tables.push(binaryen.getTableInfo(m.getTableByIndex(i)));
    const funcTables = tables.filter((t) => funcrefs.has(t.name));
    if (funcTables.length === 0) return { bytes, removed: [], called: [] };
    if (funcTables.length > 1) throw new Error(`${funcTables.length} funcref tables: a call_indirect's table must then be read too`);
    const table = funcTables[0];
    if (table.module) throw new Error(`the function table is imported (${table.module}.${table.base}): the host can call any entry`);
    for (let i = 0; i < m.getNumExports(); i++) {
      const e = binaryen.getExportInfo(m.getExportByIndex(i));
      if (e.kind === binaryen.ExternalTable && e.value === table.name) throw new Error(`the function table is exported as "${e.name}": the host can call any entry`);
    }
    const name = escape(table.name);
    const touch = new RegExp(`\\((table\\.(get|set|grow|fill|copy|init|size)|elem\\.drop)\\s+\\$${name}[\\s)]`);
    const touched = text.match(touch);
    if (touched) throw new Error(`${touched[1]} on the function table: its entries can escape or change`);
    if (/\(ref\.func\s/.test(text)) throw new Error("a ref.func: a function reference can reach a table or the host");

    // Signatures (as binaryen prints them) by type name, and the functions' types.
    const signature = new Map();
    for (const [, t, def] of text.matchAll(/^\s*\(type \$([^\s()]+) (\(func.*\))\)\s*$/gm)) signature.set(t, def);
    const typeOf = (f) => {
      const func = m.getFunction(f);
      if (!func) return undefined;
      const { params, results } = binaryen.getFunctionInfo(func);
      return printed(params, results);
    };
    const called = new Set();
    for (const [, , t] of text.matchAll(/\((return_)?call_indirect(?: \$[^\s()]+)? \(type \$([^\s()]+)\)/g)) {
      if (!signature.has(t)) throw new Error(`a call_indirect of type $${t}, whose signature was not found`);
      called.add(signature.get(t));
    }

    const removed = [];
    for (const seg of segments.filter((s) => s.table === table.name)) {
      const offset = binaryen.getExpressionInfo(seg.offset);
      if (offset.id !== binaryen.ConstId) throw new Error(`element segment ${seg.name}: its offset is not a constant`);
      const data = seg.data.map((f, k) => {
        const type = typeOf(f);
        if (type === undefined) throw new Error(`element segment ${seg.name}: no type found for $${f}`);
        if (called.has(type)) return f;
        removed.push({ index: offset.value + k, func: f, type });
        return TRAP;
      });
      if (!removed.length) continue;
      if (!m.getFunction(TRAP)) m.addFunction(TRAP, binaryen.none, binaryen.none, [], m.unreachable());
      m.removeElementSegment(seg.name);
      m.addActiveElementSegment(table.name, seg.name, data, m.i32.const(offset.value));
    }
    if (!removed.length) return { bytes, removed, called: [...called] };
    if (!m.validate()) throw new Error("the module does not validate after the table's entries were replaced");
    return { bytes: m.emitBinary(), removed, called: [...called] };
  } finally {
    m.dispose();
  }
}

// A signature as binaryen prints a type's definition: `(func (param i32 i32) (result externref))`.
const TYPE_NAMES = [["i32", "i32"], ["i64", "i64"], ["f32", "f32"], ["f64", "f64"], ["v128", "v128"], ["externref", "externref"], ["funcref", "funcref"]];
function printed(params, results) {
  const names = (t) =>
    binaryen.expandType(t).map((one) => {
      const hit = TYPE_NAMES.find(([n]) => binaryen[n] === one);
      if (!hit) throw new Error(`a value type the table step does not know (${one})`);
      return hit[1];
    });
  const p = names(params);
  const r = names(results);
  return `(func${p.length ? ` (param ${p.join(" ")})` : ""}${r.length ? ` (result ${r.join(" ")})` : ""})`;
}

/**
 * The module with only the exports `keep` names among the API's (wasm-bindgen's
 * class methods `core_*`, free functions, `__wbg_*_free`); wasm-bindgen's
 * own exports (`__wbindgen_*`, the memory, the externref table) stay. -Oz
 * then drops what only the others reached.
 * @param {Uint8Array} bytes @param {Set<string>} keep
 * @returns {{ bytes: Uint8Array, dropped: string[] }}
 */
export function keepExports(bytes, keep) {
  const m = binaryen.readBinary(bytes);
  try {
    m.setFeatures(BUILD_FEATURES);
    const dropped = [];
    for (let i = 0; i < m.getNumExports(); i++) {
      const { name, kind } = binaryen.getExportInfo(m.getExportByIndex(i));
      const api = name.startsWith("__wbg_") || (kind === binaryen.ExternalFunction && !name.startsWith("__"));
      if (api && !keep.has(name)) dropped.push(name);
    }
    for (const name of dropped) m.removeExport(name);
    if (!m.validate()) throw new Error("the module does not validate without the dropped exports");
    return { bytes: m.emitBinary(), dropped };
  } finally {
    m.dispose();
  }
}

/**
 * The module with the import and export names `map` gives (binaryen's
 * mapping of the module it is a subset of, from
 * --minify-imports-and-exports-and-modules): one glue then serves both.
 * @param {Uint8Array} bytes
 * @param {{ imports: [string, string, string][]; exports: [string, string][] }} map
 * @returns {Uint8Array}
 */
export function renameAs(bytes, map) {
  const m = binaryen.readBinary(bytes);
  try {
    m.setFeatures(BUILD_FEATURES);
    const imports = new Map(map.imports.map(([module, from, to]) => [`${module} ${from}`, to]));
    const exports = new Map(map.exports);
    const functions = [];
    for (let i = 0; i < m.getNumFunctions(); i++) functions.push(binaryen.getFunctionInfo(m.getFunctionByIndex(i)));
    for (const f of functions.filter((f) => f.module)) {
      const to = imports.get(`${f.module} ${f.base}`);
      if (to === undefined) throw new Error(`import ${f.module} ${f.base} is not in the mapping`);
      // (Calls name the function, not the import: removed and added again under the same name.)
      m.removeFunction(f.name);
      m.addFunctionImport(f.name, "a", to, f.params, f.results);
    }
    const seen = [];
    for (let i = 0; i < m.getNumExports(); i++) seen.push(binaryen.getExportInfo(m.getExportByIndex(i)));
    for (const e of seen) {
      const to = exports.get(e.name);
      if (to === undefined) throw new Error(`export ${e.name} is not in the mapping`);
      m.removeExport(e.name);
      if (e.kind === binaryen.ExternalFunction) m.addFunctionExport(e.value, to);
      else if (e.kind === binaryen.ExternalMemory) m.addMemoryExport(e.value, to);
      else if (e.kind === binaryen.ExternalTable) m.addTableExport(e.value, to);
      else if (e.kind === binaryen.ExternalGlobal) m.addGlobalExport(e.value, to);
      else throw new Error(`export ${e.name}: a kind the renaming does not know`);
    }
    for (let i = 0; i < m.getNumTables(); i++) {
      const t = binaryen.getTableInfo(m.getTableByIndex(i));
      if (t.module) throw new Error(`table ${t.name} is imported: the renaming knows function imports only`);
    }
    if (!m.validate()) throw new Error("the module does not validate after its renaming");
    return m.emitBinary();
  } finally {
    m.dispose();
  }
}

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
