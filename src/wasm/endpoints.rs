//! Discovery, an offline start and its confirmation (client/endpoints.rs).

use super::*;

#[wasm_bindgen]
impl Core {
    #[wasm_bindgen(unchecked_return_type = "{ keep?: [string, string]; offline?: [string, string] }")]
    pub fn discovered(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "HttpAnswer")] answer: JsValue,
    ) -> std::result::Result<JsValue, JsValue> {
        let mut o = Map::new();
        let pair = |a: String, b: String| Value::Array(vec![a.into(), b.into()]);
        match self
            .client
            .discovered(answer_from_js(&answer))
            .map_err(js_error)?
        {
            Discovered::Ready { keep: Some((k, v)) } => o.insert("keep".into(), pair(k, v)),
            Discovered::Ready { keep: None } => {}
            Discovered::Offline {
                session_key,
                document_key,
            } => o.insert("offline".into(), pair(session_key, document_key)),
        }
        Ok(object_to_js(o))
    }

    #[wasm_bindgen(js_name = startOffline)]
    pub fn start_offline(
        &mut self,
        session: Option<String>,
        document: Option<String>,
    ) -> std::result::Result<(), JsValue> {
        self.client
            .start_offline(session.as_deref(), document.as_deref())
            .map_err(js_error)
    }

    #[wasm_bindgen(unchecked_return_type = "HttpRequest | undefined")]
    pub fn confirmation(&self) -> std::result::Result<JsValue, JsValue> {
        match self.client.confirmation_request().map_err(js_error)? {
            Some(r) => Ok(request_to_js(&r)),
            None => Ok(JsValue::UNDEFINED),
        }
    }

    #[wasm_bindgen(unchecked_return_type = "{ verify?: Verification; effects?: Effects }")]
    pub fn confirmed(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "HttpAnswer")] answer: JsValue,
    ) -> JsValue {
        match self.client.confirmed(answer_from_js(&answer)) {
            Confirmation::Confirmed(Some(v)) => with(Map::new(), "verify", Verification(*v).into()),
            Confirmation::Confirmed(None) => object_to_js(Map::new()),
            Confirmation::Refused(effects) => with(Map::new(), "effects", effects_to_js(effects)),
        }
    }
}
