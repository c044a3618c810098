//! The stored session read back, and a verification that failed (client/restore.rs).

use super::*;

#[wasm_bindgen]
impl Core {
    /// The values read under `Setup`'s `session` and `legacy` keys.
    #[wasm_bindgen(unchecked_return_type = "{ effects: Effects; verify?: Verification; jkt?: string }")]
    pub fn restore(&self, stored: Option<String>, legacy: Option<String>) -> JsValue {
        match self.client.restore(stored, legacy, self.client.since()) {
            crate::client::restore::Restore::Nothing(effects) => {
                with(Map::new(), "effects", effects_to_js(effects))
            }
            crate::client::restore::Restore::Verify {
                effects,
                dpop_jkt,
                verification,
            } => {
                let mut o = Map::new();
                crate::json::put(&mut o, "jkt", dpop_jkt.as_deref());
                let out = with(o, "effects", effects_to_js(effects));
                let _ = Reflect::set(&out, &"verify".into(), &Verification(*verification).into());
                out
            }
        }
    }

    /// Verifying the session's own token (`v`: the stored session's, or
    /// its check after an offline start's confirmation) failed with `error`:
    /// what that leaves (the driver rethrows the error after these effects).
    #[wasm_bindgen(unchecked_return_type = "Effects")]
    pub fn failed(&mut self, v: &Verification, error: JsValue) -> JsValue {
        effects_to_js(self.client.failed(&v.0, &error_of(&error)))
    }
}
