//! ID token verifications: the steps, their adoption, and `verifyIdToken` (client/keys.rs).

use super::*;

#[wasm_bindgen]
impl Core {
    /// One step of a verification: what the driver brought back in, what to do next out.
    #[wasm_bindgen(unchecked_return_type = "Step")]
    pub fn verify(
        &mut self,
        v: &mut Verification,
        #[wasm_bindgen(unchecked_param_type = "StepInput")] input: JsValue,
    ) -> std::result::Result<JsValue, JsValue> {
        let (step, keep) = self
            .client
            .verify_step(&mut v.0, step_input(&input), now_ms())
            .map_err(js_error)?;
        Ok(step_to_js(step, keep))
    }

    /// A verified token becomes what it was verified for, if what happened
    /// since it began allows (else `stale`); a login's gives back the app's
    /// `appState` (JSON text).
    #[wasm_bindgen(unchecked_return_type = "Effects & { appState?: string }")]
    pub fn adopt(&mut self, v: &mut Verification) -> std::result::Result<JsValue, JsValue> {
        match self.client.adopt(&mut v.0, now_ms()).map_err(js_error)? {
            Adopted::Applied(effects, app_state) => {
                let app_state = app_state.map_or(JsValue::UNDEFINED, |s| JsValue::from_str(&s));
                Ok(effects_with(effects, "appState", app_state))
            }
            Adopted::Stale => Ok(effects_with(Default::default(), "stale", JsValue::TRUE)),
        }
    }

    /// A verification that only readies the key set (see `Verification::keys_ahead`).
    #[wasm_bindgen(js_name = keysAhead)]
    pub fn keys_ahead(&self) -> Verification {
        Verification(crate::client::keys::Verification::keys_ahead())
    }
}

/// A verification step's input as the driver gives it (`StepInput`).
pub(super) fn step_input(input: &JsValue) -> Input {
    if !input.is_object() {
        return Input::Start;
    }
    let stored = option(input, "stored");
    if Reflect::has(input, &"stored".into()).unwrap_or(false) {
        return Input::Stored(stored.as_string());
    }
    let answer = option(input, "answer");
    if !answer.is_undefined() {
        return Input::Fetched(answer_from_js(&answer));
    }
    Input::Signed(signature_answer(
        option(input, "valid").is_truthy(),
        option(input, "why").as_string(),
    ))
}

pub(super) fn signature_answer(valid: bool, why: Option<String>) -> std::result::Result<bool, String> {
    match why {
        // What the platform said goes into the message only (see `msg!`).
        Some(why) => Err(msg!("{why}")),
        None => Ok(valid),
    }
}

#[wasm_bindgen]
impl Verification {
    /// `verifyIdToken(idToken, options)`: a verification against the key set
    /// and expectations the app gives.
    #[wasm_bindgen(js_name = ofToken)]
    pub fn of_token(
        token: &str,
        #[wasm_bindgen(unchecked_param_type = "object")] options: JsValue,
    ) -> std::result::Result<Verification, JsValue> {
        let read = || -> Result<Verification> {
            let required = |name: &str| {
                convert::text(&options, name)?
                    .ok_or_else(|| AuthError::new(code::INVALID_CONFIG, msg!("`{name}` is required")))
            };
            let (issuer, client_id) = (required("issuer")?, required("clientId")?);
            let algorithms = convert::strings(&options, "algorithms")?;
            let jwks_json = js_sys::JSON::stringify(&option(&options, "jwks"))
                .ok()
                .and_then(|s| s.as_string())
                .ok_or_else(|| AuthError::new(code::INVALID_CONFIG, "`jwks` must be a key set object"))?;
            let keys = crate::jwks::parse_jwks(&jwks_json)?;
            Ok(Verification(crate::client::keys::Verification::given(
                token,
                Given {
                    keys,
                    algs: crate::id_token::allowed_algs(algorithms.as_deref(), None),
                    nonce: convert::text(&options, "nonce")?,
                    max_age: convert::seconds(&options, "maxAge")?,
                    leeway_s: convert::seconds(&options, "leeway")?
                        .unwrap_or(crate::id_token::DEFAULT_LEEWAY_S),
                    trusted_audiences: convert::strings(&options, "trustedAudiences")?.unwrap_or_default(),
                    issuer,
                    client_id,
                },
            )))
        };
        read().map_err(js_error)
    }

    /// A step of a verification of `ofToken`: the signature to check, then
    /// (with the platform's answer) done.
    #[wasm_bindgen(unchecked_return_type = "Step")]
    pub fn step(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "StepInput")] input: JsValue,
    ) -> std::result::Result<JsValue, JsValue> {
        let step = self
            .0
            .step_given(step_input(&input), now_ms() / 1000)
            .map_err(js_error)?;
        Ok(step_to_js(step, None))
    }

    /// The verified token's claims, with the raw token as `__raw` (once).
    #[wasm_bindgen(unchecked_return_type = "Record<string, unknown>")]
    pub fn claims(&mut self) -> JsValue {
        match self.0.take_verified() {
            Ok(t) => {
                let mut claims = t.claims;
                claims.insert("__raw".into(), t.raw.expose().into());
                object_to_js(claims)
            }
            Err(_) => JsValue::NULL,
        }
    }
}
