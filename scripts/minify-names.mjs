// Short names between a .wasm and its wasm-bindgen glue (release builds).
//
// wasm-bindgen names each import `__wbg_<name>_<16 hex digits>`, and its
// exports after the Rust items (`core_adoptLogin`); each name is written in
// both files and the hashes do not compress. binaryen's own pass
// (`--minify-imports-and-exports-and-modules`) renames them in the .wasm, all
// modules becoming "a", and prints the mapping; the glue is rewritten here
// from it: each import's key in the glue's import object, the module's key,
// and each export read as a property of the instance's exports. An import
// key not found exactly once, or an export read by a string, fails the build
// rather than ship a module that cannot link. (This replaced a hand-written rewriter of the
// .wasm's import and export sections: binaryen's is smaller or equal and
// leaves the binary format to binaryen; measured in the commit.)
/**
 * Renames the glue's side from binaryen's mapping; `glue` is the glue's text.
 * @param {string} glue
 * @param {{ imports: [string, string, string][]; exports: [string, string][] }} map
 * @param {string} glueModule the one module of the imports (`./name_bg.js`)
 * @returns {string}
 */
export function renameGlue(glue, map, glueModule) {
  const escape = (s) => s.replace(/[$]/g, "\\$");
  const word = (name) => new RegExp(`(?<![\\w$])${escape(name)}(?![\\w$])`, "g");
  const identifier = /^[A-Za-z_$][\w$]*$/;
  for (const [module, from, to] of map.imports) {
    if (module !== glueModule) throw new Error(`an import of module ${module}, not ${glueModule}`);
    if (!identifier.test(to)) throw new Error(`import ${from} renamed to ${to}, not an identifier`);
    // Its key in the import object, in whichever syntax the minifier wrote.
    const hits = glue.match(word(from))?.length ?? 0;
    if (hits !== 1) throw new Error(`import ${from} occurs ${hits} times in the glue, not once`);
    glue = glue.replace(word(from), to);
  }
  const quoted = JSON.stringify(glueModule);
  if (glue.split(quoted).length !== 2) throw new Error(`${quoted} is not in the glue exactly once`);
  glue = glue.replace(quoted, '"a"');
  // The exports are read as properties of one variable, the instance's
  // exports (`wasm = instance.exports` in wasm-bindgen's glue, whatever the
  // minifier named it); a JS function of the same name (the glue's wrapper
  // of an export) is not renamed.
  const wasm = [...glue.matchAll(/([\w$]+)=[\w$]+\.exports[,;]/g)].map((m) => m[1]);
  if (wasm.length !== 1) throw new Error(`the glue names the instance's exports ${wasm.length} times, not once`);
  for (const [from, to] of map.exports) {
    if (glue.includes(`"${from}"`) || glue.includes(`'${from}'`)) {
      throw new Error(`export ${from} is read by a string in the glue`);
    }
    const access = new RegExp(`(?<![\\w$.])${escape(wasm[0])}\\.${escape(from)}(?![\\w$])`, "g");
    glue = glue.replace(access, identifier.test(to) ? `${wasm[0]}.${to}` : `${wasm[0]}[${JSON.stringify(to)}]`);
  }
  // Every export the glue reads must be one binaryen named.
  const names = new Set(map.exports.map(([, to]) => to));
  for (const [, name] of glue.matchAll(new RegExp(`(?<![\\w$.])${escape(wasm[0])}\\.([\\w$]+)`, "g"))) {
    if (!names.has(name)) throw new Error(`the glue reads export ${name}, which the .wasm does not have`);
  }
  return glue;
}
