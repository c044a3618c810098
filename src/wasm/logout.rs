//! Logout, the session's end and revocation (client/logout.rs).

use super::*;

#[wasm_bindgen]
impl Core {
    #[wasm_bindgen(js_name = checkLogout)]
    pub fn check_logout(
        &self,
        #[wasm_bindgen(unchecked_param_type = "object | undefined")] opts: JsValue,
    ) -> std::result::Result<(), JsValue> {
        self.client
            .check_logout(Core::return_to(&opts).as_deref(), page_origin().as_deref())
            .map_err(js_error)
    }

    #[wasm_bindgen(js_name = logoutUrl)]
    pub fn logout_url(
        &self,
        #[wasm_bindgen(unchecked_param_type = "object | undefined")] opts: JsValue,
    ) -> std::result::Result<String, JsValue> {
        self.client
            .logout_url(Core::return_to(&opts).as_deref(), page_origin().as_deref())
            .map_err(js_error)
    }

    /// Where `logout()` sends the browser (after `endSession`).
    #[wasm_bindgen(js_name = logoutTarget)]
    pub fn logout_target(
        &self,
        #[wasm_bindgen(unchecked_param_type = "object | undefined")] opts: JsValue,
    ) -> std::result::Result<Option<String>, JsValue> {
        self.client
            .logout_target(Core::return_to(&opts).as_deref(), page_origin().as_deref())
            .map_err(js_error)
    }

    /// The revocation requests: the ended session's refresh token
    /// (`"logout"`), or the session's two tokens (`"tokens"`: a revocation
    /// endpoint is required).
    #[wasm_bindgen(unchecked_return_type = "HttpRequest[]")]
    pub fn revocations(
        &self,
        #[wasm_bindgen(unchecked_param_type = "\"logout\" | \"tokens\"")] what: &str,
    ) -> std::result::Result<JsValue, JsValue> {
        let what = revocation(what).map_err(js_error)?;
        if what == Revocation::Tokens {
            self.client.check_revocation().map_err(js_error)?;
        }
        let list: js_sys::Array = self.client.revocations(what).iter().map(request_to_js).collect();
        Ok(list.into())
    }

    pub fn revoked(
        &self,
        #[wasm_bindgen(unchecked_param_type = "HttpAnswer")] answer: JsValue,
        #[wasm_bindgen(unchecked_param_type = "\"logout\" | \"tokens\"")] what: &str,
    ) -> std::result::Result<(), JsValue> {
        let what = revocation(what).map_err(js_error)?;
        self.client
            .revoked(answer_from_js(&answer), what)
            .map_err(js_error)
    }

    /// `logout()`, `revokeTokens()`: the session and its DPoP key forgotten
    /// here, final for every operation under way; what the provider hears
    /// after a logout comes from what it was.
    #[wasm_bindgen(js_name = endSession, unchecked_return_type = "Effects")]
    pub fn end_session(&mut self) -> JsValue {
        effects_to_js(self.client.end_session())
    }
}

impl Core {
    /// `returnTo` of a logout's options.
    pub(super) fn return_to(opts: &JsValue) -> Option<String> {
        option(opts, "returnTo").as_string()
    }
}

pub(super) fn revocation(what: &str) -> Result<Revocation> {
    match what {
        "logout" => Ok(Revocation::Logout),
        "tokens" => Ok(Revocation::Tokens),
        _ => Err(unknown("revocation")),
    }
}
