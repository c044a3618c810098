//! DPoP keys and proofs, resource requests, `/userinfo` (client/proof.rs).

use super::*;

#[wasm_bindgen]
impl Core {
    /// The public half of the DPoP key the platform read (none: undefined):
    /// its thumbprint; with `jkt`, it must be that key (`login_required`).
    #[wasm_bindgen(js_name = keyRead)]
    pub fn key_read(
        &mut self,
        x: Option<String>,
        y: Option<String>,
        jkt: Option<String>,
    ) -> std::result::Result<Option<String>, JsValue> {
        let coordinates = x.as_deref().zip(y.as_deref());
        let read = self.client.key_read(coordinates).map_err(js_error)?;
        if let Some(jkt) = jkt {
            self.client.require_key(&jkt).map_err(js_error)?;
        }
        Ok(read)
    }

    pub fn binding(&self) -> std::result::Result<Option<String>, JsValue> {
        self.client.binding().map_err(js_error)
    }

    /// After an answer to `request`: send it once more with the server's DPoP nonce?
    #[wasm_bindgen(js_name = retryWithNonce)]
    pub fn retry_with_nonce(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "{ url: string; dpopInput?: string; authorization?: string }")]
        request: JsValue,
        #[wasm_bindgen(unchecked_param_type = "HttpAnswer")] answer: JsValue,
        attempt: u32,
    ) -> bool {
        let (url, proof, resource) = convert::proof_of(&request);
        self.client
            .retry_with_nonce(&url, proof, resource, &answer_from_js(&answer), attempt)
    }

    /// For `fetchWithAuth`'s request of `method` to `url` (`mode` is
    /// checked first), with the token `access` got: the `Authorization`
    /// header, and a proof to sign.
    #[wasm_bindgen(js_name = resourceCredentials, unchecked_return_type = "{ authorization: string; dpopInput?: string }")]
    pub fn resource_credentials(
        &self,
        method: &str,
        url: &str,
        mode: Option<String>,
        access: &Access,
    ) -> std::result::Result<JsValue, JsValue> {
        self.client.check_app_request(mode.as_deref()).map_err(js_error)?;
        let (authorization, proof) = self
            .client
            .resource_credentials(method, url, access.0.api(), now_ms())
            .map_err(js_error)?;
        let mut o = Map::new();
        o.insert("authorization".into(), authorization.into());
        crate::json::put(&mut o, "dpopInput", proof.as_deref());
        Ok(object_to_js(o))
    }

    #[wasm_bindgen(js_name = userinfoRequest, unchecked_return_type = "HttpRequest")]
    pub fn userinfo_request(&self) -> std::result::Result<JsValue, JsValue> {
        self.client
            .userinfo_request(now_ms())
            .map(|r| request_to_js(&r))
            .map_err(js_error)
    }

    #[wasm_bindgen(unchecked_return_type = "Record<string, unknown>")]
    pub fn userinfo(
        &self,
        #[wasm_bindgen(unchecked_param_type = "HttpAnswer")] answer: JsValue,
    ) -> std::result::Result<JsValue, JsValue> {
        self.client
            .userinfo(answer_from_js(&answer))
            .map(object_to_js)
            .map_err(js_error)
    }
}
