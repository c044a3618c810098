//! Access tokens: the plan, refresh, renewal, another tab's session (client/access.rs).

use super::*;

#[wasm_bindgen]
impl Core {
    /// Silent authentication for the token `access` asks for (no refresh
    /// token): its pending login, as `authorize` gives one, and its kind.
    #[wasm_bindgen(
        unchecked_return_type = "{ url?: string; push?: HttpRequest; pending: [string, string]; kind: LoginKindName }"
    )]
    pub fn renewal(&mut self, access: &Access) -> std::result::Result<JsValue, JsValue> {
        let (options, kind) = self.client.renewal(&access.0);
        let out = self.pending(options, kind).map_err(js_error)?;
        let _ = Reflect::set(&out, &"kind".into(), &login_kind_name(kind).into());
        Ok(out)
    }

    /// A call that wants an access token: `getAccessToken(opts)` (the API
    /// asked for: `audience`, `scope`; `forceRefresh`), or with `refresh`,
    /// `refresh(opts)` (a narrower `scope` for the session's own token).
    pub fn access(
        &self,
        #[wasm_bindgen(unchecked_param_type = "object | undefined")] opts: JsValue,
        refresh: Option<bool>,
    ) -> std::result::Result<Access, JsValue> {
        let run = || -> Result<Access> {
            let scope = convert::text(&opts, "scope")?;
            if refresh == Some(true) {
                return Ok(Access(AccessRequest::refresh(scope)));
            }
            let audience = convert::text(&opts, "audience")?;
            let api = crate::api::ApiKey::asked(&self.client.config, audience.as_deref(), scope.as_deref())?;
            let force = option(&opts, "forceRefresh").is_truthy();
            Ok(Access(AccessRequest::token(force, api)))
        };
        run().map_err(js_error)
    }

    /// What `access` does next: use a token, refresh, or renew.
    #[wasm_bindgen(
        js_name = accessPlan,
        unchecked_return_type = "{ use?: string; refresh?: true; renew?: true }"
    )]
    pub fn access_plan(&self, access: &mut Access) -> std::result::Result<JsValue, JsValue> {
        let mut o = Map::new();
        match self
            .client
            .access_plan(&mut access.0, now_ms())
            .map_err(js_error)?
        {
            crate::client::access::AccessPlan::Use(t) => o.insert("use".into(), t.into()),
            crate::client::access::AccessPlan::Refresh => o.insert("refresh".into(), true.into()),
            crate::client::access::AccessPlan::Renew => o.insert("renew".into(), true.into()),
        };
        Ok(object_to_js(o))
    }

    /// The token `access` asked for, after a refresh or a renewal (`renewed`:
    /// false when silent authentication said the provider wants the user).
    #[wasm_bindgen(js_name = accessToken)]
    pub fn access_token(&self, access: &Access, renewed: bool) -> std::result::Result<String, JsValue> {
        self.client.access_token(&access.0, renewed).map_err(js_error)
    }

    /// Under the lock, before a refresh: the session another tab stored
    /// (`handed`: the hand-off record; `stored`: tokenStorage), read after `since`.
    #[wasm_bindgen(unchecked_return_type = "{ effects?: Effects; verify?: Verification; again?: true }")]
    pub fn shared(&mut self, handed: Option<String>, stored: Option<String>, since: f64) -> JsValue {
        shared_to_js(self.client.shared(handed, stored, Since(since as u64)))
    }

    /// Another tab changed the stored session: what this tab does (see
    /// `Client::notified`); `stored` was read after `since`.
    #[wasm_bindgen(unchecked_return_type = "{ effects?: Effects; verify?: Verification; again?: true }")]
    pub fn notified(&mut self, stored: Option<String>, since: f64) -> JsValue {
        shared_to_js(self.client.notified(stored, Since(since as u64)))
    }

    #[wasm_bindgen(js_name = refreshPlan, unchecked_return_type = "{ fresh?: true; jkt?: string }")]
    pub fn refresh_plan(&self, access: &mut Access) -> std::result::Result<JsValue, JsValue> {
        let mut o = Map::new();
        match self
            .client
            .refresh_plan(&mut access.0, now_ms())
            .map_err(js_error)?
        {
            crate::client::access::RefreshPlan::Fresh => {
                o.insert("fresh".into(), true.into());
            }
            crate::client::access::RefreshPlan::Send { dpop_jkt } => {
                crate::json::put(&mut o, "jkt", dpop_jkt.as_deref())
            }
        }
        Ok(object_to_js(o))
    }

    #[wasm_bindgen(js_name = refreshRequest, unchecked_return_type = "HttpRequest")]
    pub fn refresh_request(&self, access: &Access) -> std::result::Result<JsValue, JsValue> {
        self.client
            .refresh_request(&access.0, now_ms())
            .map(|r| request_to_js(&r))
            .map_err(js_error)
    }

    #[wasm_bindgen(js_name = refreshRetryMs)]
    pub fn refresh_retry_ms(
        &self,
        #[wasm_bindgen(unchecked_param_type = "HttpAnswer")] answer: JsValue,
        attempt: u32,
    ) -> Option<u32> {
        self.client.refresh_retry_ms(&answer_from_js(&answer), attempt)
    }

    /// The refresh answer: effects to apply, an ID token to verify, or
    /// `stale` (the session it was for changed meanwhile; `revoke`: the
    /// refresh token it brought, after a logout).
    #[wasm_bindgen(
        unchecked_return_type = "{ effects?: Effects; verify?: Verification; stale?: true; revoke?: HttpRequest[] }"
    )]
    pub fn refreshed(
        &mut self,
        access: &mut Access,
        #[wasm_bindgen(unchecked_param_type = "HttpAnswer")] answer: JsValue,
    ) -> std::result::Result<JsValue, JsValue> {
        let r = self
            .client
            .refreshed(&mut access.0, answer_from_js(&answer), now_ms())
            .map_err(js_error)?;
        Ok(match r {
            crate::client::access::Refreshed::Stored(effects) => {
                with(Map::new(), "effects", effects_to_js(effects))
            }
            crate::client::access::Refreshed::Verify(v) => {
                with(Map::new(), "verify", Verification(*v).into())
            }
            crate::client::access::Refreshed::Stale(revoke) => {
                let mut o = Map::new();
                o.insert("stale".into(), true.into());
                let list: js_sys::Array = revoke.iter().map(request_to_js).collect();
                with(o, "revoke", list.into())
            }
        })
    }
}

pub(super) fn shared_to_js(s: crate::client::access::Shared) -> JsValue {
    match s {
        crate::client::access::Shared::Same => object_to_js(Map::new()),
        crate::client::access::Shared::Stale => with(Map::new(), "again", JsValue::TRUE),
        crate::client::access::Shared::Ended(effects) => with(Map::new(), "effects", effects_to_js(effects)),
        crate::client::access::Shared::Verify(v) => with(Map::new(), "verify", Verification(*v).into()),
    }
}
