//! The page's operations in flight and the session's generation (client/timeline.rs).

use super::*;

#[wasm_bindgen]
impl Core {
    /// Before a refresh (`kind` "refresh") or a silent renewal ("renewal")
    /// of the token `access` asks for: start it, join the one under way, or
    /// wait for it and ask again (see `Flight`).
    #[wasm_bindgen(unchecked_return_type = "Flight")]
    pub fn begin(
        &self,
        #[wasm_bindgen(unchecked_param_type = "\"refresh\" | \"renewal\"")] kind: &str,
        access: &Access,
    ) -> std::result::Result<JsValue, JsValue> {
        let kind = match kind {
            "refresh" => Kind::Refresh,
            "renewal" => Kind::Renewal,
            _ => return Err(js_error(unknown("flight kind"))),
        };
        Ok(flight_to_js(self.client.flight(kind, &access.0)))
    }

    /// Another tab (or the adapter's other writer) changed `key` of
    /// tokenStorage (none: maybe every key): nothing when it is not this
    /// client's session; else the flight that follows it, one at a time.
    #[wasm_bindgen(unchecked_return_type = "Flight")]
    pub fn following(&self, key: Option<String>) -> JsValue {
        if !(self.client.follows(key.as_deref()) && self.client.stores.persists()) {
            return object_to_js(Map::new());
        }
        flight_to_js(self.client.flight(Kind::Follow, &AccessRequest::default()))
    }

    /// Flight `id` (begun with `begin`) is over.
    pub fn end(&self, id: u32) {
        crate::client::timeline::end(id)
    }

    /// The session's generation now: what an operation that reads storage
    /// notes before the read (`shared`, `notified`).
    pub fn since(&self) -> f64 {
        self.client.since().0 as f64
    }
}

pub(super) fn flight_to_js(b: Begin) -> JsValue {
    let (name, id) = match b {
        Begin::Start(id) => ("start", id),
        Begin::Join(id) => ("join", id),
        Begin::After(id) | Begin::Taken(id) => ("after", id),
    };
    let mut o = Map::new();
    o.insert(name.into(), u64::from(id).into());
    object_to_js(o)
}
