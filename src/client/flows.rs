//! Whole flows under `cargo test`: the core's own operations run by a small
//! scheduler that stands in for the JS driver, against a provider that
//! behaves as oidc-provider does where the flows meet it (PKCE, codes used
//! once, refresh tokens rotated with reuse detection, revocation, a login
//! session for `prompt=none`), with the pure-Rust verifier for signatures.
//!
//! The scheduler runs each operation one action at a time, in the order a
//! test chooses, so two or three operations can be interleaved in each
//! order that matters; pages (tabs) keep their own page state and share
//! `localStorage`, IndexedDB and Web Locks as a browser's tabs do. Each flow
//! has its hostile rows.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use serde_json::{json, Value as Json};
use sha2::{Digest, Sha256};

use super::model::{Action, Call, Input, Next, Operation, Output, Store, Window};
use super::*;
use crate::api::ApiKey;
use crate::authorize::AuthorizeOptions;
use crate::config::ClientOptions;
use crate::http::{HttpAnswer, HttpRequest, HttpResponse, Redirects};
use crate::test_support::{private_jwk, sign};
use crate::uri::Uri;

const ISS: &str = "https://id.example.com";
const APP: &str = "https://app.example.com/cb";
const NOW_MS: u64 = 1_800_000_000_000;

thread_local! {
    static CLOCK: Cell<u64> = const { Cell::new(NOW_MS) };
}

fn clock() -> u64 {
    CLOCK.with(Cell::get)
}

fn advance(ms: u64) {
    CLOCK.with(|c| c.set(c.get() + ms));
}

fn options(extra: impl FnOnce(&mut ClientOptions)) -> ClientOptions {
    let mut o = ClientOptions {
        issuer: Some(ISS.into()),
        client_id: Some("app".into()),
        redirect_uri: Some(APP.into()),
        scope: Some("openid profile offline_access".into()),
        ..Default::default()
    };
    extra(&mut o);
    o
}

fn answer(status: u16, body: impl Into<String>) -> HttpAnswer {
    HttpAnswer::Response(HttpResponse {
        status,
        body: Some(body.into()),
        ..Default::default()
    })
}

fn offline() -> HttpAnswer {
    HttpAnswer::Failed {
        timed_out: false,
        detail: "offline".into(),
    }
}

fn discovery_document(extra: Json) -> String {
    let mut doc = json!({
        "issuer": ISS,
        "authorization_endpoint": format!("{ISS}/auth"),
        "token_endpoint": format!("{ISS}/token"),
        "userinfo_endpoint": format!("{ISS}/me"),
        "jwks_uri": format!("{ISS}/jwks"),
        "end_session_endpoint": format!("{ISS}/session/end"),
        "revocation_endpoint": format!("{ISS}/token/revocation"),
        "pushed_authorization_request_endpoint": format!("{ISS}/request"),
        "authorization_response_iss_parameter_supported": true,
        "code_challenge_methods_supported": ["S256"],
        "dpop_signing_alg_values_supported": ["ES256"],
    });
    for (k, v) in extra.as_object().unwrap() {
        doc[k] = v.clone();
    }
    doc.to_string()
}

fn jwks_body() -> String {
    let public = |name: &str| {
        let mut k = private_jwk(name);
        for p in ["d", "p", "q", "dp", "dq", "qi"] {
            k.as_object_mut().unwrap().remove(p);
        }
        k
    };
    json!({ "keys": [public("rsa"), public("ec")] }).to_string()
}

fn id_token(nonce: Option<&str>, sub: &str) -> String {
    let now = clock() / 1000;
    let mut claims =
        json!({"iss": ISS, "sub": sub, "aud": "app", "exp": now + 600, "iat": now - 5, "name": sub});
    if let Some(n) = nonce {
        claims["nonce"] = n.into();
    }
    sign("rsa", json!({}), &claims)
}

fn form(body: &str) -> Vec<(String, String)> {
    // (The crate's own decoder: form_urlencoded is a host-only dev-dependency,
    // and these flows build for wasm32 too.)
    crate::uri::form_decode_pairs(body)
}

fn param(pairs: &[(String, String)], name: &str) -> Option<String> {
    pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
}

fn query(url: &str) -> Vec<(String, String)> {
    Uri::parse(url).map(|u| u.query_pairs()).unwrap_or_default()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Rt {
    Current,
    Rotated,
}

/// A grant: what a code exchange started, and its refresh tokens.
struct Grant {
    sub: String,
    refresh_tokens: Vec<(String, Rt)>,
    revoked: bool,
}

/// A code the provider issued, until it is exchanged.
struct Issued {
    code: String,
    challenge: String,
    nonce: String,
    sub: String,
    offline: bool,
    resource: Option<String>,
    /// The grant it started (oidc-provider revokes it when the code is used twice).
    grant: Option<usize>,
}

/// What oidc-provider does where the flows meet it.
struct Provider {
    next: u32,
    document: String,
    codes: Vec<Issued>,
    grants: Vec<Grant>,
    /// The provider's login session (`prompt=none` signs this user in).
    session: Option<String>,
    /// Pushed requests: request_uri → the authorization URL's query.
    pushed: Vec<(String, String)>,
    /// Every request, as "METHOD path" (and what it carried that matters).
    seen: Vec<String>,
    /// Every request as sent.
    requests: Vec<HttpRequest>,
    /// Refresh tokens presented after their rotation (the grant was revoked).
    reuse: Vec<String>,
    /// Answers to give instead, by path, in order.
    script: Vec<(&'static str, HttpAnswer)>,
    /// Refresh responses carry an ID token (oidc-provider's do).
    id_token_on_refresh: bool,
    /// Another subject in the next refresh's ID token (a hostile row).
    refresh_sub: Option<String>,
}

impl Provider {
    fn new() -> Provider {
        Provider {
            next: 0,
            document: discovery_document(json!({})),
            codes: Vec::new(),
            grants: Vec::new(),
            session: None,
            pushed: Vec::new(),
            seen: Vec::new(),
            requests: Vec::new(),
            reuse: Vec::new(),
            script: Vec::new(),
            id_token_on_refresh: true,
            refresh_sub: None,
        }
    }

    fn fresh(&mut self, what: &str) -> String {
        self.next += 1;
        format!("{what}-{}", self.next)
    }

    /// The next answer to a request of `path` (after those scripted).
    fn script(&mut self, path: &'static str, a: HttpAnswer) {
        self.script.push((path, a));
    }

    /// The user signs in at the authorization URL: the callback URL.
    fn sign_in(&mut self, authorize_url: &str, sub: &str) -> String {
        let mut q = query(authorize_url);
        if let Some(uri) = param(&q, "request_uri") {
            let pushed = self
                .pushed
                .iter()
                .find(|(u, _)| *u == uri)
                .map(|(_, p)| p.clone());
            q = form(&pushed.unwrap_or_default());
        }
        let code = self.fresh("code");
        self.codes.push(Issued {
            code: code.clone(),
            challenge: param(&q, "code_challenge").unwrap_or_default(),
            nonce: param(&q, "nonce").unwrap_or_default(),
            sub: sub.into(),
            offline: param(&q, "scope").is_some_and(|s| s.contains("offline_access")),
            resource: param(&q, "resource"),
            grant: None,
        });
        self.session = Some(sub.into());
        let state = param(&q, "state").unwrap_or_default();
        let redirect = param(&q, "redirect_uri").unwrap_or_else(|| APP.into());
        format!("{redirect}?code={code}&state={state}&iss=https%3A%2F%2Fid.example.com")
    }

    /// `prompt=none` at the authorization URL: its login session's user, or `login_required`.
    fn silently(&mut self, authorize_url: &str) -> String {
        match self.session.clone() {
            Some(sub) => self.sign_in(authorize_url, &sub),
            None => {
                let state = param(&query(authorize_url), "state").unwrap_or_default();
                format!("{APP}?error=login_required&state={state}&iss=https%3A%2F%2Fid.example.com")
            }
        }
    }

    fn answer(&mut self, r: &HttpRequest) -> HttpAnswer {
        let path = r.url.strip_prefix(ISS).unwrap_or(&r.url).to_string();
        let pairs = form(r.body.as_deref().unwrap_or_default());
        let mut seen = format!("{} {path}", r.method);
        for name in ["grant_type", "refresh_token", "resource", "audience", "token"] {
            if let Some(v) = param(&pairs, name) {
                seen.push_str(&format!(" {name}={v}"));
            }
        }
        self.seen.push(seen);
        self.requests.push(r.clone());
        if let Some(at) = self.script.iter().position(|(p, _)| *p == path) {
            return self.script.remove(at).1;
        }
        match path.as_str() {
            "/.well-known/openid-configuration" => answer(200, self.document.clone()),
            "/jwks" => answer(200, jwks_body()),
            "/token" => self.token(&pairs),
            "/token/revocation" => {
                let token = param(&pairs, "token").unwrap_or_default();
                if let Some(g) = self.grant_of(&token) {
                    self.grants[g].revoked = true;
                }
                answer(200, "")
            }
            "/request" => {
                let uri = self.fresh("urn:request");
                self.pushed
                    .push((uri.clone(), r.body.clone().unwrap_or_default()));
                answer(201, json!({"request_uri": uri, "expires_in": 60}).to_string())
            }
            "/me" => {
                let token = r.authorization.as_deref().unwrap_or_default();
                let token = token.split(' ').nth(1).unwrap_or_default();
                let sub = token.split('.').next().unwrap_or_default().to_string();
                match self.grants.iter().find(|g| g.sub == sub && !g.revoked) {
                    Some(_) => answer(200, json!({ "sub": sub }).to_string()),
                    None => answer(401, ""),
                }
            }
            _ => answer(404, ""),
        }
    }

    fn grant_of(&self, refresh_token: &str) -> Option<usize> {
        self.grants
            .iter()
            .position(|g| g.refresh_tokens.iter().any(|(t, _)| t == refresh_token))
    }

    fn tokens(
        &mut self,
        sub: &str,
        nonce: Option<&str>,
        refresh: Option<String>,
        api: Option<String>,
    ) -> HttpAnswer {
        // The access token names its user (for /me) and its API.
        let access = format!(
            "{sub}.{}{}",
            self.fresh("at"),
            api.map(|a| format!("@{a}")).unwrap_or_default()
        );
        let mut body = json!({"access_token": access, "token_type": "Bearer", "expires_in": 3600});
        if let Some(rt) = refresh {
            body["refresh_token"] = rt.into();
        }
        if nonce.is_some() || self.id_token_on_refresh {
            let sub = self
                .refresh_sub
                .take()
                .filter(|_| nonce.is_none())
                .unwrap_or(sub.into());
            body["id_token"] = id_token(nonce, &sub).into();
        }
        answer(200, body.to_string())
    }

    fn token(&mut self, pairs: &[(String, String)]) -> HttpAnswer {
        let invalid_grant = || {
            answer(
                400,
                r#"{"error":"invalid_grant","error_description":"grant request is invalid"}"#,
            )
        };
        match param(pairs, "grant_type").as_deref() {
            Some("authorization_code") => {
                let code = param(pairs, "code").unwrap_or_default();
                let Some(at) = self.codes.iter().position(|c| c.code == code) else {
                    return invalid_grant();
                };
                if let Some(g) = self.codes[at].grant {
                    // Used twice: the grant it started is revoked too.
                    self.grants[g].revoked = true;
                    return invalid_grant();
                }
                let verifier = param(pairs, "code_verifier").unwrap_or_default();
                if crate::b64::encode(Sha256::digest(verifier.as_bytes())) != self.codes[at].challenge {
                    return invalid_grant();
                }
                let (sub, nonce, offline) = {
                    let c = &self.codes[at];
                    (c.sub.clone(), c.nonce.clone(), c.offline)
                };
                let refresh = offline.then(|| self.fresh("rt"));
                self.grants.push(Grant {
                    sub: sub.clone(),
                    refresh_tokens: refresh.iter().map(|t| (t.clone(), Rt::Current)).collect(),
                    revoked: false,
                });
                self.codes[at].grant = Some(self.grants.len() - 1);
                let api = param(pairs, "resource").or(self.codes[at].resource.clone());
                self.tokens(
                    &sub,
                    Some(&nonce),
                    refresh,
                    api.filter(|_| param(pairs, "resource").is_some()),
                )
            }
            Some("refresh_token") => {
                let rt = param(pairs, "refresh_token").unwrap_or_default();
                let Some(g) = self.grant_of(&rt) else {
                    return invalid_grant();
                };
                let state = self.grants[g]
                    .refresh_tokens
                    .iter()
                    .find(|(t, _)| *t == rt)
                    .map(|(_, s)| *s);
                if self.grants[g].revoked {
                    return invalid_grant();
                }
                if state == Some(Rt::Rotated) {
                    // Reuse: the whole grant is revoked.
                    self.reuse.push(rt);
                    self.grants[g].revoked = true;
                    return invalid_grant();
                }
                let next = self.fresh("rt");
                for (t, s) in self.grants[g].refresh_tokens.iter_mut() {
                    if *t == rt {
                        *s = Rt::Rotated;
                    }
                }
                self.grants[g].refresh_tokens.push((next.clone(), Rt::Current));
                let sub = self.grants[g].sub.clone();
                let api = param(pairs, "resource").or(param(pairs, "audience"));
                self.tokens(&sub, None, Some(next), api)
            }
            _ => answer(400, r#"{"error":"unsupported_grant_type"}"#),
        }
    }
}

/// Where a client keeps something.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum At {
    Local,
    Session,
}

/// A page (a tab): its own sessionStorage and page state.
#[derive(Default)]
struct Page {
    session: Vec<(String, String)>,
    state: PageState,
}

/// What the app's `openUrl` does with the next URL.
enum Opened {
    /// It fails: how ("threw", "rejected"), and its words.
    Refuse(&'static str),
    Back(String),
    /// An auth session: the user signs in, and it resolves to the callback URL.
    SignIn(&'static str),
}

/// A client made in a page.
struct Made {
    page: usize,
    client: Rc<RefCell<Client>>,
    tokens: At,
    events: Vec<&'static str>,
    /// What `openUrl` gets: the URLs opened, and what it answers.
    opened: Vec<String>,
    open_answer: Option<Opened>,
    /// Who signs in when a popup is shown (`None`: the user closes it).
    popup_user: Option<String>,
}

/// An operation being run.
struct Running {
    client: usize,
    op: Operation,
    started: bool,
    /// The action it asked for and is waiting on.
    action: Option<Action>,
    /// The input for it, performed already but not handed back yet.
    input: Option<Input>,
    out: Option<Result<Output>>,
}

/// The browser (the origin's shared parts), the provider, and the operations.
struct World {
    provider: Provider,
    local: Vec<(String, String)>,
    handoff: Vec<(String, String)>,
    /// The DPoP key in IndexedDB: its public coordinates.
    dpop: Option<(String, String)>,
    /// The sealing secret in IndexedDB (base64url).
    secret: String,
    locks: Vec<(String, usize)>,
    pages: Vec<Page>,
    /// The page whose state is in the thread now.
    current: Option<usize>,
    clients: Vec<Made>,
    ops: Vec<Running>,
    /// Operations a test holds where they are: [`World::settle`] leaves them.
    held: Vec<usize>,
    /// What `fetchWithAuth`'s requests carried (Authorization, the proof's input).
    resource_requests: Vec<(String, Option<String>)>,
    /// The resource server's next answers (last first).
    resource_answers: Vec<HttpAnswer>,
}

fn get(store: &[(String, String)], key: &str) -> Option<String> {
    store.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
}

fn set(store: &mut Vec<(String, String)>, key: String, value: String) {
    store.retain(|(k, _)| *k != key);
    store.push((key, value));
}

/// RFC 9449's example key (§4.1).
fn dpop_key() -> (String, String) {
    (
        "l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs".into(),
        "9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA".into(),
    )
}

impl World {
    fn new() -> World {
        super::new_page();
        CLOCK.with(|c| c.set(NOW_MS));
        World {
            provider: Provider::new(),
            local: Vec::new(),
            handoff: Vec::new(),
            dpop: None,
            secret: crate::b64::encode([7u8; 32]),
            locks: Vec::new(),
            pages: Vec::new(),
            current: None,
            clients: Vec::new(),
            ops: Vec::new(),
            held: Vec::new(),
            resource_requests: Vec::new(),
            resource_answers: Vec::new(),
        }
    }

    /// A new page (tab) of the origin.
    fn page(&mut self) -> usize {
        self.pages.push(Page::default());
        self.pages.len() - 1
    }

    /// The page's state in the thread.
    fn enter(&mut self, page: usize) {
        if self.current == Some(page) {
            return;
        }
        if let Some(c) = self.current.take() {
            self.pages[c].state.swap();
        }
        self.pages[page].state.swap();
        self.current = Some(page);
    }

    /// `createAuthClient` in `page` (not yet run: see [`World::create`]).
    fn make(&mut self, page: usize, o: ClientOptions, tokens: At) -> usize {
        self.enter(page);
        let storage = match tokens {
            At::Local => StorageOption::Named("local".into()),
            At::Session => StorageOption::Named("session".into()),
        };
        let client = Client::new(o, StorageOption::Default, storage).unwrap();
        self.clients.push(Made {
            page,
            client: Rc::new(RefCell::new(client)),
            tokens,
            events: Vec::new(),
            opened: Vec::new(),
            open_answer: None,
            popup_user: None,
        });
        self.clients.len() - 1
    }

    /// A client made and created (discovery, the stored session).
    fn create(&mut self, page: usize, o: ClientOptions, tokens: At) -> Result<usize> {
        let c = self.make(page, o, tokens);
        self.call(c, Call::Create)?;
        Ok(c)
    }

    fn client(&self, c: usize) -> std::cell::RefMut<'_, Client> {
        self.clients[c].client.borrow_mut()
    }

    fn start(&mut self, c: usize, call: Call) -> usize {
        self.enter(self.clients[c].page);
        let op = Operation::call(&self.clients[c].client, clock, call);
        self.ops.push(Running {
            client: c,
            op,
            started: false,
            action: None,
            input: None,
            out: None,
        });
        self.ops.len() - 1
    }

    fn done(&self, op: usize) -> bool {
        self.ops[op].out.is_some()
    }

    /// What operation `op` waits on.
    fn waiting(&self, op: usize) -> Option<&Action> {
        self.ops[op].action.as_ref()
    }

    /// Whether `op` waits on a request to `path`.
    fn sends(&self, op: usize, path: &str) -> bool {
        matches!(self.waiting(op), Some(Action::Http(r)) if r.iter().any(|r| r.url == format!("{ISS}{path}")))
    }

    /// Performs the action `op` waits on, without handing the result back
    /// (a request the provider answered, whose answer is still on its way).
    /// False when it cannot be performed yet (a lock held, a flight under way).
    fn perform(&mut self, op: usize) -> bool {
        if self.ops[op].input.is_some() || self.ops[op].out.is_some() {
            return true;
        }
        if !self.ops[op].started {
            return true;
        }
        let c = self.ops[op].client;
        self.enter(self.clients[c].page);
        let Some(action) = self.ops[op].action.take() else {
            return true;
        };
        let input = match self.act(op, c, &action) {
            Some(input) => input,
            None => {
                self.ops[op].action = Some(action);
                return false;
            }
        };
        self.ops[op].input = Some(input);
        true
    }

    /// One step of `op`: its action performed, then run to its next action.
    /// False when it is blocked.
    fn step(&mut self, op: usize) -> bool {
        if self.done(op) {
            return false;
        }
        if !self.perform(op) {
            return false;
        }
        let c = self.ops[op].client;
        self.enter(self.clients[c].page);
        let input = match self.ops[op].started {
            false => {
                self.ops[op].started = true;
                Input::Nothing
            }
            true => self.ops[op].input.take().unwrap_or(Input::Nothing),
        };
        match self.ops[op].op.resume(input) {
            Next::Do(action) => self.ops[op].action = Some(action),
            Next::Done(out) => {
                self.ops[op].out = Some(out);
                self.locks.retain(|(_, holder)| *holder != op);
            }
        }
        true
    }

    /// Steps `op` until `until` holds of what it waits on (or it ends).
    fn step_until(&mut self, op: usize, until: impl Fn(&World, usize) -> bool) {
        while !self.done(op) && !until(self, op) {
            assert!(self.step(op), "blocked: {:?}", self.waiting(op));
        }
    }

    /// Runs `op` to its end, running the others when it waits on them.
    fn finish(&mut self, op: usize) -> Result<Output> {
        self.held.retain(|h| *h != op);
        while !self.done(op) {
            if !self.step(op) {
                let others: Vec<usize> = (0..self.ops.len())
                    .filter(|o| *o != op && !self.done(*o))
                    .collect();
                let moved = others.iter().any(|o| self.step(*o));
                assert!(moved, "deadlock: op {op} waits on {:?}", self.waiting(op));
            }
        }
        self.result(op)
    }

    fn result(&self, op: usize) -> Result<Output> {
        match &self.ops[op].out {
            Some(Ok(o)) => Ok(match o {
                Output::Nothing => Output::Nothing,
                Output::Value(v) => Output::Value(v.clone()),
                Output::AppState(a) => Output::AppState(a.clone()),
            }),
            Some(Err(e)) => Err(e.clone()),
            None => panic!("op {op} has not ended"),
        }
    }

    /// Leaves `op` where it is until [`World::finish`] runs it.
    fn hold(&mut self, op: usize) {
        self.held.push(op);
    }

    /// Runs every operation to its end (round robin), but those held.
    fn settle(&mut self) {
        loop {
            let open: Vec<usize> = (0..self.ops.len())
                .filter(|o| !self.done(*o) && !self.held.contains(o))
                .collect();
            if open.is_empty() {
                return;
            }
            let moved = open.iter().fold(false, |m, o| self.step(*o) | m);
            assert!(moved, "deadlock among {open:?}");
        }
    }

    /// A call run to its end (and everything it set off after it).
    fn call(&mut self, c: usize, call: Call) -> Result<Output> {
        let op = self.start(c, call);
        let out = self.finish(op);
        self.settle();
        out
    }

    fn tokens_store(&mut self, c: usize) -> &mut Vec<(String, String)> {
        match self.clients[c].tokens {
            At::Local => &mut self.local,
            At::Session => &mut self.pages[self.clients[c].page].session,
        }
    }

    fn tx_store(&mut self, c: usize) -> &mut Vec<(String, String)> {
        &mut self.pages[self.clients[c].page].session
    }

    fn stored_session(&mut self, c: usize) -> Option<String> {
        let key = self.client(c).session_storage_key();
        get(self.tokens_store(c), &key)
    }

    /// The driver's side of one action; `None`: it cannot be done yet.
    fn act(&mut self, op: usize, c: usize, action: &Action) -> Option<Input> {
        Some(match action {
            Action::Http(requests) => {
                Input::Answers(requests.iter().map(|r| self.provider.answer(r)).collect())
            }
            Action::Resource {
                authorization,
                dpop_input,
            } => {
                self.resource_requests
                    .push((authorization.clone(), dpop_input.clone()));
                Input::Answers(vec![self
                    .resource_answers
                    .pop()
                    .unwrap_or_else(|| answer(200, ""))])
            }
            Action::Read(store, keys) => {
                let s = match store {
                    Store::Tokens => self.tokens_store(c).clone(),
                    Store::Transactions => self.tx_store(c).clone(),
                };
                Input::Values(keys.iter().map(|k| get(&s, k)).collect())
            }
            Action::List => Input::Keys(Some(self.tx_store(c).iter().map(|(k, _)| k.clone()).collect())),
            Action::Write { set: entry, remove } => {
                let s = self.tx_store(c);
                if let Some((k, v)) = entry.clone() {
                    set(s, k, v);
                }
                s.retain(|(k, _)| !remove.contains(k));
                Input::Nothing
            }
            Action::Apply(effects) => {
                self.apply(c, effects);
                Input::Nothing
            }
            Action::Handoff(key) => Input::Values(vec![get(&self.handoff, key)]),
            Action::Secret => Input::Values(vec![Some(self.secret.clone())]),
            Action::Key(create) => {
                if *create && self.dpop.is_none() {
                    self.dpop = Some(dpop_key());
                }
                Input::Key(self.dpop.clone())
            }
            Action::Check(check) => Input::Signed(crate::crypto::verify_signature(check)),
            Action::Sleep(ms) => {
                advance(u64::from(*ms));
                Input::Nothing
            }
            Action::Lock(name) => {
                if self.locks.iter().any(|(n, holder)| n == name && *holder != op) {
                    return None;
                }
                self.locks.push((name.clone(), op));
                Input::Nothing
            }
            Action::Wait(id) => {
                if timeline::in_flight(*id) {
                    return None;
                }
                Input::Nothing
            }
            Action::Window(url) => {
                let silent = param(&query(url), "prompt").as_deref() == Some("none")
                    || query(url).iter().any(|(k, _)| k == "request_uri")
                        && self.clients[c].popup_user.is_none();
                let back = if silent {
                    Some(self.provider.silently(url))
                } else {
                    self.clients[c]
                        .popup_user
                        .clone()
                        .map(|sub| self.provider.sign_in(url, &sub))
                };
                Input::Window(match back {
                    Some(u) if self.client(c).arrived(&u) => Window::Arrived(u),
                    _ => Window::Closed,
                })
            }
            Action::Open(url) => {
                self.clients[c].opened.push(url.clone());
                match self.clients[c].open_answer.take() {
                    Some(Opened::Back(back)) => Input::Opened(Some(back)),
                    Some(Opened::SignIn(sub)) => Input::Opened(Some(self.provider.sign_in(url, sub))),
                    Some(Opened::Refuse(how)) => Input::Refused(how, "it failed".into()),
                    None => Input::Opened(None),
                }
            }
        })
    }

    /// Effects on `tokenStorage`; a write to `localStorage` is a `storage`
    /// event in the origin's other pages.
    fn apply(&mut self, c: usize, e: &Effects) {
        let mut changed = Vec::new();
        for (k, v) in &e.set {
            set(self.tokens_store(c), k.clone(), v.clone());
            changed.push(k.clone());
        }
        for k in &e.remove {
            let s = self.tokens_store(c);
            if s.iter().any(|(key, _)| key == k) {
                changed.push(k.clone());
            }
            s.retain(|(key, _)| key != k);
        }
        if let Some((k, v)) = &e.handoff {
            set(&mut self.handoff, k.clone(), v.clone());
        }
        if e.forget_key {
            self.dpop = None;
        }
        if let Some(event) = e.emit {
            self.clients[c].events.push(event);
        }
        if self.clients[c].tokens == At::Local {
            let page = self.clients[c].page;
            let others: Vec<usize> = (0..self.clients.len())
                .filter(|o| self.clients[*o].page != page && self.clients[*o].tokens == At::Local)
                .collect();
            for other in others {
                for key in &changed {
                    self.start(other, Call::Follow(Some(key.clone())));
                }
            }
            self.enter(page);
        }
    }

    /// A whole login by redirect for `sub`: the URL, the provider's pages,
    /// the callback. The callback URL.
    fn login(&mut self, c: usize, sub: &str) -> Result<String> {
        let url = self.authorize_url(
            c,
            AuthorizeOptions {
                app_state: Some(r#"{"to":"/inbox"}"#.into()),
                ..Default::default()
            },
        )?;
        let callback = self.provider.sign_in(&url, sub);
        let out = self.call(c, Call::HandleRedirectCallback(callback.clone()))?;
        assert_eq!(out, Output::AppState(Some(r#"{"to":"/inbox"}"#.into())));
        Ok(callback)
    }

    fn authorize_url(&mut self, c: usize, opts: AuthorizeOptions) -> Result<String> {
        match self.call(c, Call::BuildAuthorizeUrl(opts))? {
            Output::Value(v) => Ok(v.as_str().unwrap_or_default().to_string()),
            other => panic!("{other:?}"),
        }
    }

    fn token(&mut self, c: usize, api: Option<ApiKey>) -> Result<String> {
        match self.call(c, Call::GetAccessToken { force: false, api })? {
            Output::Value(v) => Ok(v.as_str().unwrap_or_default().to_string()),
            other => panic!("{other:?}"),
        }
    }

    fn access_token(&self, c: usize) -> Option<String> {
        let tokens = self.clients[c].client.borrow().tokens()?;
        tokens
            .get("accessToken")
            .and_then(|t| t.as_str())
            .map(str::to_string)
    }

    fn sub(&self, c: usize) -> Option<String> {
        let user = self.clients[c].client.borrow().user()?;
        user.get("sub").and_then(|t| t.as_str()).map(str::to_string)
    }

    fn refresh_tokens_sent(&self) -> Vec<String> {
        self.provider
            .seen
            .iter()
            .filter_map(|s| s.split(' ').find_map(|w| w.strip_prefix("refresh_token=")))
            .map(str::to_string)
            .collect()
    }
}

impl World {
    /// What a script running in the page could write: `edit` applied to the
    /// stored session's text, sealed again with the origin's secret.
    fn resealed(&self, stored: &str, edit: impl Fn(String) -> String) -> String {
        let secret = crate::b64::decode(&self.secret).unwrap();
        let text = crate::session::unseal(stored, &secret).expect("sealed");
        crate::session::seal(&edit(text), &secret)
    }
}

/// A signed-in world: one page, one client (tokens in `at`), alice.
fn signed_in(at: At) -> (World, usize) {
    let mut w = World::new();
    let page = w.page();
    let c = w.create(page, options(|_| {}), at).unwrap();
    w.login(c, "alice").unwrap();
    (w, c)
}

fn api(w: &World, audience: &str, scope: Option<&str>) -> ApiKey {
    ApiKey::asked(&w.clients[0].client.borrow().config, Some(audience), scope)
        .unwrap()
        .unwrap()
}

#[test]
fn login_exchanges_the_code_once_and_verifies_the_id_token() {
    let (w, c) = signed_in(At::Session);
    assert_eq!(w.clients[c].events, ["signed_in"]);
    assert!(
        w.pages[0]
            .session
            .iter()
            .all(|(k, _)| !k.starts_with("oidc-pkce:tx:")),
        "the pending login was consumed"
    );
    // Discovery; then the code exchange with the key set fetched beside it.
    assert_eq!(
        w.provider.seen,
        [
            "GET /.well-known/openid-configuration",
            "POST /token grant_type=authorization_code",
            "GET /jwks"
        ]
    );
    let exchange = &w.provider.requests[1];
    assert_eq!(exchange.redirects, Redirects::Refuse);
    let body = form(exchange.body.as_deref().unwrap());
    for name in ["grant_type", "code", "client_id", "code_verifier", "redirect_uri"] {
        assert!(param(&body, name).is_some(), "{name}: {body:?}");
    }
    assert_eq!(w.access_token(c).as_deref(), Some("alice.at-3"));
    assert_eq!(
        w.client(c).tokens().unwrap().get("refreshToken"),
        None,
        "kept inside"
    );
    let stored = get(&w.pages[0].session, &w.client(c).session_storage_key()).unwrap();
    assert!(stored.contains("rt-2"));
    assert!(
        get(
            &w.pages[0].session,
            "oidc-pkce:discovery:https%3A%2F%2Fid.example.com"
        )
        .is_some(),
        "kept for an offline start"
    );
}

#[test]
fn not_signed_in_says_what_was_forgotten_a_login_or_the_callback() {
    let mut w = World::new();
    let page = w.page();
    let c = w.create(page, options(|_| {}), At::Session).unwrap();
    let reason = |w: &mut World, c| {
        let e = w.token(c, None).unwrap_err();
        assert_eq!(e.code(), code::LOGIN_REQUIRED);
        (e.reason().unwrap_or_default(), e.message().to_string())
    };
    let (why, words) = reason(&mut w, c);
    assert_eq!(why, "not_signed_in");
    assert!(words.contains("loginWithRedirect()"), "{words}");

    // The page opened at the callback, and the app asks for a token first.
    let url = w.authorize_url(c, Default::default()).unwrap();
    let callback = w.provider.sign_in(&url, "alice");
    let at_callback = w.create(page, options(|_| {}), At::Session).unwrap();
    w.client(at_callback).page_at(Some(&callback));
    let (why, words) = reason(&mut w, at_callback);
    assert_eq!(why, "callback_not_handled");
    assert!(words.contains("handleRedirectCallback()"), "{words}");
    // The same address on another client's redirect URI, or another page: not its callback.
    w.client(c)
        .page_at(Some("https://app.example/elsewhere?code=c&state=s"));
    assert_eq!(reason(&mut w, c).0, "not_signed_in");
    w.client(c).page_at(None);
    assert_eq!(reason(&mut w, c).0, "not_signed_in");
    // Once it is handled, the session is there.
    w.call(at_callback, Call::HandleRedirectCallback(callback))
        .unwrap();
    assert!(w.token(at_callback, None).is_ok());
    // A callback that failed is handled too: "not signed in" asks for a login again.
    let elsewhere = w.page();
    let other = w.create(elsewhere, options(|_| {}), At::Session).unwrap();
    let stale = [APP, "?code=spent&state=unknown"].concat();
    w.client(other).page_at(Some(&stale));
    assert_eq!(reason(&mut w, other).0, "callback_not_handled");
    assert!(w.call(other, Call::HandleRedirectCallback(stale)).is_err());
    assert_eq!(reason(&mut w, other).0, "not_signed_in");
}

#[test]
fn a_callback_works_once_and_only_for_its_own_state() {
    let (mut w, c) = signed_in(At::Session);
    let url = w.authorize_url(c, Default::default()).unwrap();
    // Another state, with this login pending: state_mismatch, and it stays pending.
    let forged = format!(
        "{APP}?code=x&state={}&iss=https%3A%2F%2Fid.example.com",
        "A".repeat(43)
    );
    let e = w.call(c, Call::HandleRedirectCallback(forged)).unwrap_err();
    assert_eq!(e.code(), code::STATE_MISMATCH);
    assert_eq!(
        w.pages[0]
            .session
            .iter()
            .filter(|(k, _)| k.starts_with("oidc-pkce:tx:"))
            .count(),
        1
    );
    assert!(
        w.client(c).is_authenticated(clock()),
        "a crafted link cannot sign the user out"
    );
    // The real callback, twice: the second finds no pending login, sends nothing.
    let real = w.provider.sign_in(&url, "alice");
    w.provider
        .script("/token", answer(400, r#"{"error":"invalid_grant"}"#));
    let e = w.call(c, Call::HandleRedirectCallback(real.clone())).unwrap_err();
    assert_eq!(e.code(), "invalid_grant");
    let sent = w.provider.seen.len();
    let again = w.call(c, Call::HandleRedirectCallback(real)).unwrap_err();
    assert_eq!(again.code(), code::MISSING_TRANSACTION);
    assert_eq!(w.provider.seen.len(), sent, "no second exchange");
    assert!(
        !w.client(c).is_authenticated(clock()),
        "a redirect login that failed leaves no session"
    );
}

/// callback ∥ callback: two clients of the same provider and client id in
/// one page (two mounts), and one client asked twice, in both orders.
#[test]
fn one_callback_is_exchanged_once_whatever_asks_for_it_in_the_page() {
    for (two_clients, first_wins) in [(true, true), (true, false), (false, true)] {
        let mut w = World::new();
        let page = w.page();
        let a = w.create(page, options(|_| {}), At::Session).unwrap();
        let b = match two_clients {
            true => w.create(page, options(|_| {}), At::Session).unwrap(),
            false => a,
        };
        let url = w.authorize_url(a, Default::default()).unwrap();
        let callback = w.provider.sign_in(&url, "alice");
        let x = w.start(a, Call::HandleRedirectCallback(callback.clone()));
        let y = w.start(b, Call::HandleRedirectCallback(callback));
        let (first, second) = if first_wins { (x, y) } else { (y, x) };
        // The first is at the token endpoint when the second asks.
        w.step_until(first, |w, op| w.sends(op, "/token"));
        let lost = w.finish(second).unwrap_err();
        assert_eq!(lost.code(), code::MISSING_TRANSACTION);
        assert!(w.finish(first).is_ok());
        let exchanges = w
            .provider
            .seen
            .iter()
            .filter(|s| s.contains("authorization_code"))
            .count();
        assert_eq!(exchanges, 1, "one code exchange");
        // The grant is good: a refresh works, no reuse, nothing revoked.
        let winner = w.ops[first].client;
        w.call(winner, Call::Refresh(None)).unwrap();
        assert!(w.provider.grants.iter().all(|g| !g.revoked));
    }
}

#[test]
fn hostile_token_responses_are_refused_and_leave_no_session() {
    for (response, want) in [
        (HttpAnswer::Redirected { status: 307 }, code::INVALID_TOKEN_RESPONSE),
        (answer(200, "<html>"), code::INVALID_TOKEN_RESPONSE),
        (
            HttpAnswer::Failed {
                timed_out: true,
                detail: String::new(),
            },
            code::TIMEOUT,
        ),
        (
            answer(200, json!({"access_token": "at", "token_type": "Bearer", "id_token": id_token(Some("other"), "alice")}).to_string()),
            code::INVALID_ID_TOKEN,
        ),
    ] {
        let mut w = World::new();
        let page = w.page();
        let c = w.create(page, options(|_| {}), At::Session).unwrap();
        let url = w.authorize_url(c, Default::default()).unwrap();
        let callback = w.provider.sign_in(&url, "alice");
        w.provider.script("/token", response);
        let e = w.call(c, Call::HandleRedirectCallback(callback)).unwrap_err();
        assert_eq!(e.code(), want);
        assert!(w.client(c).tokens().is_none());
    }
}

#[test]
fn refresh_rotates_the_refresh_token_and_keeps_the_subject() {
    let (mut w, c) = signed_in(At::Session);
    let first = w.access_token(c).unwrap();
    assert_eq!(w.token(c, None).unwrap(), first, "fresh: used as it is");
    let forced = w
        .call(
            c,
            Call::GetAccessToken {
                force: true,
                api: None,
            },
        )
        .unwrap();
    let Output::Value(second) = forced else { panic!() };
    assert_ne!(second.as_str(), Some(first.as_str()));
    assert_eq!(w.clients[c].events, ["signed_in", "refreshed"]);
    assert_eq!(w.refresh_tokens_sent(), ["rt-2"]);
    let stored = w.stored_session(c).unwrap();
    assert!(
        stored.contains("rt-4") && !stored.contains("rt-2"),
        "the rotated token replaced the old one"
    );

    // §12.2: a refreshed ID token for another subject is refused whole.
    w.provider.refresh_sub = Some("mallory".into());
    let e = w.call(c, Call::Refresh(None)).unwrap_err();
    assert_eq!((e.code(), e.reason()), (code::INVALID_ID_TOKEN, Some("sub")));
    assert_eq!(
        w.access_token(c).as_deref(),
        second.as_str(),
        "the session stays as it was"
    );

    // No answer: tried three times in all (after 300 and 900 ms), then network_error; the session stays.
    for _ in 0..3 {
        w.provider.script("/token", offline());
    }
    let before = clock();
    assert_eq!(
        w.call(c, Call::Refresh(None)).unwrap_err().code(),
        code::NETWORK_ERROR
    );
    assert_eq!(clock() - before, 1200);
    assert!(w.client(c).is_authenticated(clock()));

    // invalid_grant: the session is over.
    w.provider.script(
        "/token",
        answer(400, r#"{"error":"invalid_grant","error_description":"reused"}"#),
    );
    let e = w.call(c, Call::Refresh(None)).unwrap_err();
    assert_eq!(
        (e.code(), e.server().map(|s| s.error.as_str())),
        (code::LOGIN_REQUIRED, Some("invalid_grant"))
    );
    assert_eq!(w.clients[c].events.last(), Some(&"signed_out"));
    assert!(w.stored_session(c).is_none());
}

/// refresh ∥ refresh: two APIs' tokens asked for at once, with no Web Locks
/// (the page's flights alone order them), in both orders; a third call for
/// the first API joins its refresh.
#[test]
fn refreshes_for_two_apis_at_once_never_send_a_refresh_token_twice() {
    for first_orders in [true, false] {
        let (mut w, c) = signed_in(At::Session);
        let orders = api(&w, "https://orders.example.com", None);
        let billing = api(&w, "https://billing.example.com", None);
        let (x, y) = match first_orders {
            true => (orders.clone(), billing.clone()),
            false => (billing.clone(), orders.clone()),
        };
        let a = w.start(
            c,
            Call::GetAccessToken {
                force: false,
                api: Some(x.clone()),
            },
        );
        let b = w.start(
            c,
            Call::GetAccessToken {
                force: false,
                api: Some(y.clone()),
            },
        );
        let again = w.start(
            c,
            Call::GetAccessToken {
                force: false,
                api: Some(x),
            },
        );
        w.step_until(a, |w, op| w.sends(op, "/token"));
        // The others ask meanwhile: the second API waits, the same API joins.
        w.step_until(b, |w, op| matches!(w.waiting(op), Some(Action::Wait(_))));
        w.step_until(again, |w, op| matches!(w.waiting(op), Some(Action::Wait(_))));
        assert!(
            !w.step(b) && !w.step(again),
            "both wait for the refresh under way"
        );
        let ta = w.finish(a).unwrap();
        let tb = w.finish(b).unwrap();
        assert_eq!(w.finish(again).unwrap(), ta, "joined: the same token");
        assert_ne!(ta, tb);
        assert_eq!(
            w.refresh_tokens_sent(),
            ["rt-2", "rt-4"],
            "each refresh sent the token the last one returned"
        );
        assert!(w.provider.reuse.is_empty());
        assert!(w.provider.grants.iter().all(|g| !g.revoked));
        let Output::Value(ta) = ta else { panic!() };
        assert!(ta.as_str().unwrap().ends_with(if first_orders {
            "@https://orders.example.com"
        } else {
            "@https://billing.example.com"
        }));
        assert_eq!(w.clients[c].events, ["signed_in", "refreshed", "refreshed"]);
    }
}

/// Two tabs refreshing at once take turns under the Web Lock, and the second
/// takes up the first's rotated token (handed over) instead of sending its own.
#[test]
fn tabs_take_turns_and_adopt_the_rotated_refresh_token() {
    let mut w = World::new();
    let (p1, p2) = (w.page(), w.page());
    let a = w.create(p1, options(|_| {}), At::Local).unwrap();
    w.login(a, "alice").unwrap();
    let b = w.create(p2, options(|_| {}), At::Local).unwrap();
    w.settle();
    let x = w.start(a, Call::Refresh(None));
    let y = w.start(
        b,
        Call::GetAccessToken {
            force: true,
            api: None,
        },
    );
    w.step_until(x, |w, op| w.sends(op, "/token"));
    w.step_until(y, |w, op| matches!(w.waiting(op), Some(Action::Lock(_))));
    assert!(!w.step(y), "tab B waits for the lock");
    w.finish(x).unwrap();
    w.finish(y).unwrap();
    w.settle();
    assert!(w.provider.reuse.is_empty(), "{:?}", w.provider.seen);
    assert_eq!(w.access_token(a), w.access_token(b));
}

/// follow ∥ logout: a tab still verifying another tab's refresh when the user
/// signs out there stays signed out (logout is final), in each order.
#[test]
fn logout_is_final_for_a_follow_under_way() {
    for at in ["verifying", "reading"] {
        let mut w = World::new();
        let (p1, p2) = (w.page(), w.page());
        let a = w.create(p1, options(|_| {}), At::Local).unwrap();
        w.login(a, "alice").unwrap();
        let b = w.create(p2, options(|_| {}), At::Local).unwrap();
        w.settle();
        w.clients[a].events.clear();
        // Tab B refreshes; tab A is told (a follow operation starts there).
        let refresh = w.start(b, Call::Refresh(None));
        w.finish(refresh).unwrap();
        let follow = (0..w.ops.len())
            .find(|o| w.ops[*o].client == a && !w.done(*o))
            .unwrap();
        match at {
            "verifying" => w.step_until(follow, |w, op| matches!(w.waiting(op), Some(Action::Check(_)))),
            _ => w.step_until(follow, |w, op| matches!(w.waiting(op), Some(Action::Read(..)))),
        }
        w.call(a, Call::Logout(None, None)).unwrap();
        w.finish(follow).unwrap();
        w.settle();
        assert!(!w.client(a).is_authenticated(clock()), "{at}");
        assert!(w.client(a).tokens().is_none());
        assert_eq!(w.clients[a].events, ["signed_out"], "{at}");
        assert!(w.stored_session(a).is_none());
    }
}

/// refresh ∥ another tab's sign-out and sign-in: a refresh the provider
/// answered before, whose answer arrives after, does not land on the new
/// session; nor does one answered after a logout here, whose new refresh
/// token is revoked.
#[test]
fn a_refresh_answer_lands_only_on_the_session_that_sent_it() {
    let mut w = World::new();
    let (p1, p2) = (w.page(), w.page());
    let a = w.create(p1, options(|_| {}), At::Local).unwrap();
    w.login(a, "alice").unwrap();
    let b = w.create(p2, options(|_| {}), At::Local).unwrap();
    w.settle();
    let refresh = w.start(a, Call::Refresh(None));
    w.step_until(refresh, |w, op| w.sends(op, "/token"));
    assert!(
        w.perform(refresh),
        "the provider answered; the answer is on its way"
    );
    w.hold(refresh);
    // Tab B: logout and a new login (a new grant); tab A follows.
    w.call(b, Call::Logout(None, None)).unwrap();
    w.login(b, "alice").unwrap();
    w.settle();
    let new = w.access_token(b).unwrap();
    assert_eq!(w.access_token(a).as_deref(), Some(new.as_str()));
    let out = w.finish(refresh).unwrap();
    let Output::Value(tokens) = out else { panic!() };
    assert_eq!(
        tokens.get("accessToken").and_then(|t| t.as_str()),
        Some(new.as_str())
    );
    assert_eq!(
        w.access_token(a).as_deref(),
        Some(new.as_str()),
        "not the old grant's"
    );
    assert_eq!(w.stored_session(a).map(|s| s.contains(&new)), Some(true));
    assert_eq!(w.clients[a].events, ["signed_in", "signed_out", "signed_in"]);

    // The same tab: a refresh answered after logout is dropped, its refresh token revoked.
    let refresh = w.start(a, Call::Refresh(None));
    w.step_until(refresh, |w, op| w.sends(op, "/token"));
    w.perform(refresh);
    w.hold(refresh);
    w.call(a, Call::Logout(None, None)).unwrap();
    assert_eq!(w.finish(refresh).unwrap_err().code(), code::LOGIN_REQUIRED);
    assert!(!w.client(a).is_authenticated(clock()));
    let rotated = w
        .provider
        .grants
        .last()
        .unwrap()
        .refresh_tokens
        .last()
        .unwrap()
        .0
        .clone();
    assert!(
        w.provider
            .seen
            .last()
            .unwrap()
            .ends_with(&format!("token={rotated}")),
        "the dropped answer's refresh token was revoked: {:?}",
        w.provider.seen
    );
}

/// A login (popup) under way when the user signs out: cancelled, nothing adopted.
#[test]
fn a_login_under_way_is_cancelled_by_a_logout() {
    let (mut w, c) = signed_in(At::Session);
    w.clients[c].popup_user = Some("bob".into());
    let popup = w.start(c, Call::LoginWithPopup(Default::default(), 60_000));
    w.step_until(popup, |w, op| w.sends(op, "/token"));
    w.call(c, Call::Logout(None, None)).unwrap();
    assert_eq!(w.finish(popup).unwrap_err().code(), code::LOGIN_CANCELLED);
    assert!(!w.client(c).is_authenticated(clock()));
    assert_eq!(w.clients[c].events, ["signed_in", "signed_out"]);
    // A login after the logout is not undone by it.
    w.call(c, Call::LoginWithPopup(Default::default(), 60_000))
        .unwrap();
    assert_eq!(w.sub(c).as_deref(), Some("bob"));
}

#[test]
fn another_tabs_session_is_taken_up_and_an_ended_one_ends_here() {
    let mut w = World::new();
    let (p1, p2) = (w.page(), w.page());
    let a = w.create(p1, options(|_| {}), At::Local).unwrap();
    w.login(a, "alice").unwrap();
    let b = w.create(p2, options(|_| {}), At::Local).unwrap();
    // Tab B misses A's refresh (its storage event not run): under the lock,
    // it takes the stored session up instead of refreshing.
    w.call(a, Call::Refresh(None)).unwrap();
    let follows: Vec<usize> = (0..w.ops.len()).filter(|o| !w.done(*o)).collect();
    let sent = w.provider.seen.len();
    let token = w.token(b, None).unwrap();
    assert_eq!(Some(token), w.access_token(a));
    assert!(
        w.provider.seen[sent..].iter().all(|s| !s.contains("POST /token")),
        "{:?}",
        &w.provider.seen[sent..]
    );
    for f in follows {
        w.finish(f).unwrap();
    }
    // Another tab signed out (its storage event not run either).
    let key = w.client(a).session_storage_key();
    w.local.retain(|(k, _)| *k != key);
    w.handoff.clear();
    assert_eq!(
        w.call(b, Call::Refresh(None)).unwrap_err().code(),
        code::LOGIN_REQUIRED
    );
    assert!(!w.client(b).is_authenticated(clock()));
}

#[test]
fn a_token_per_api_comes_with_the_refresh_token_and_never_replaces_the_sessions() {
    let (mut w, c) = signed_in(At::Session);
    let own = w.access_token(c).unwrap();
    let orders = api(&w, "https://orders.example.com", None);
    let billing = api(&w, "https://billing.example.com", Some("read:invoices"));
    let t1 = w.token(c, Some(orders.clone())).unwrap();
    assert!(t1.ends_with("@https://orders.example.com"), "{t1}");
    let sent = form(w.provider.requests.last().unwrap().body.as_deref().unwrap());
    assert_eq!(
        param(&sent, "audience").as_deref(),
        Some("https://orders.example.com")
    );
    assert_eq!(w.token(c, Some(orders.clone())).unwrap(), t1, "cached");
    assert_eq!(
        w.access_token(c),
        Some(own.clone()),
        "the session's own token stays"
    );
    let t2 = w.token(c, Some(billing.clone())).unwrap();
    let sent = form(w.provider.requests.last().unwrap().body.as_deref().unwrap());
    assert_eq!(param(&sent, "scope").as_deref(), Some("openid read:invoices"));
    assert_eq!(
        w.refresh_tokens_sent(),
        ["rt-2", "rt-4"],
        "the rotated refresh token was the one sent"
    );
    assert_eq!(w.clients[c].events, ["signed_in", "refreshed", "refreshed"]);
    // Kept with the session: a new page has them.
    let next = w.page();
    let stored = w.pages[0].session.clone();
    w.pages[next].session = stored;
    let d = w.create(next, options(|_| {}), At::Session).unwrap();
    assert_eq!(w.token(d, Some(orders.clone())).unwrap(), t1);
    assert_eq!(w.token(d, Some(billing.clone())).unwrap(), t2);
    // Expired: refreshed again (one refresh token for all).
    advance(3_600_000);
    let t3 = w.token(c, Some(orders.clone())).unwrap();
    assert_ne!(t3, t1);
    // §12.2: an ID token of another subject refuses the whole answer.
    advance(3_600_000);
    w.provider.refresh_sub = Some("mallory".into());
    let e = w
        .call(
            c,
            Call::GetAccessToken {
                force: false,
                api: Some(orders.clone()),
            },
        )
        .unwrap_err();
    assert_eq!((e.code(), e.reason()), (code::INVALID_ID_TOKEN, Some("sub")));
    // A provider refusing this API (RFC 8707 §2: invalid_target) leaves the session.
    w.provider
        .script("/token", answer(400, r#"{"error":"invalid_target"}"#));
    let e = w
        .call(
            c,
            Call::GetAccessToken {
                force: false,
                api: Some(orders.clone()),
            },
        )
        .unwrap_err();
    assert_eq!(e.code(), "invalid_target");
    assert!(w.client(c).is_authenticated(clock()));
    // A spent refresh token ends the session, every API's token with it.
    w.provider
        .script("/token", answer(400, r#"{"error":"invalid_grant"}"#));
    let e = w
        .call(
            c,
            Call::GetAccessToken {
                force: false,
                api: Some(orders.clone()),
            },
        )
        .unwrap_err();
    assert_eq!(e.code(), code::LOGIN_REQUIRED);
    assert!(w.stored_session(c).is_none());
    let e = w
        .call(
            c,
            Call::GetAccessToken {
                force: false,
                api: Some(orders),
            },
        )
        .unwrap_err();
    assert_eq!(e.code(), code::LOGIN_REQUIRED);
}

#[test]
fn resource_indicators_name_every_api_at_login_and_one_per_token_request() {
    let mut w = World::new();
    let page = w.page();
    let o = options(|o| {
        o.api_parameter = Some("resource".into());
        o.audience = Some("https://orders.example.com/".into());
        o.apis = Some(vec!["https://billing.example.com/".into()]);
    });
    let c = w.create(page, o, At::Session).unwrap();
    let url = w.authorize_url(c, Default::default()).unwrap();
    let resources: Vec<String> = query(&url)
        .into_iter()
        .filter(|(k, _)| k == "resource")
        .map(|(_, v)| v)
        .collect();
    assert_eq!(
        resources,
        ["https://orders.example.com/", "https://billing.example.com/"]
    );
    assert!(!url.contains("audience="), "{url}");
    let callback = w.provider.sign_in(&url, "alice");
    w.call(c, Call::HandleRedirectCallback(callback)).unwrap();
    let exchange = form(w.provider.requests[1].body.as_deref().unwrap());
    assert_eq!(
        param(&exchange, "resource").as_deref(),
        Some("https://orders.example.com/"),
        "RFC 8707 §2.2"
    );
    let billing = api(&w, "https://billing.example.com/", None);
    let t = w.token(c, Some(billing)).unwrap();
    assert!(t.ends_with("@https://billing.example.com/"), "{t}");
    assert!(w
        .access_token(c)
        .unwrap()
        .ends_with("@https://orders.example.com/"));
    // Not a resource indicator: refused before anything is sent.
    assert_eq!(
        ApiKey::asked(&w.client(c).config, Some("billing"), None)
            .unwrap_err()
            .code(),
        code::INVALID_CONFIG
    );
}

/// Without a refresh token: silent authentication, for the same End-User
/// only; concurrent callers share one renewal.
#[test]
fn without_a_refresh_token_tokens_come_by_silent_authentication_for_the_same_user_only() {
    let mut w = World::new();
    let page = w.page();
    let c = w
        .create(
            page,
            options(|o| o.scope = Some("openid profile".into())),
            At::Session,
        )
        .unwrap();
    w.login(c, "alice").unwrap();
    let orders = api(&w, "https://orders.example.com", None);
    // Three callers at once for the API: one renewal.
    let ops: Vec<usize> = (0..3)
        .map(|_| {
            w.start(
                c,
                Call::GetAccessToken {
                    force: false,
                    api: Some(orders.clone()),
                },
            )
        })
        .collect();
    let tokens: Vec<Output> = ops.iter().map(|o| w.finish(*o).unwrap()).collect();
    assert!(tokens.windows(2).all(|t| t[0] == t[1]));
    let exchanges = w
        .provider
        .seen
        .iter()
        .filter(|s| s.contains("authorization_code"))
        .count();
    assert_eq!(exchanges, 2, "the login, then one renewal");
    let auth = w.provider.codes.last().unwrap();
    assert_eq!(auth.sub, "alice");
    assert_eq!(w.clients[c].events, ["signed_in", "refreshed"]);
    // The provider's session is bob's now: refused, alice's session stays, nothing kept.
    w.provider.session = Some("bob".into());
    let billing = api(&w, "https://billing.example.com", None);
    let e = w
        .call(
            c,
            Call::GetAccessToken {
                force: false,
                api: Some(billing),
            },
        )
        .unwrap_err();
    assert_eq!((e.code(), e.reason()), (code::LOGIN_REQUIRED, Some("sub")));
    assert_eq!(w.sub(c).as_deref(), Some("alice"));
    // No provider session: login_required, the session stays.
    w.provider.session = None;
    advance(3_600_000);
    let e = w
        .call(
            c,
            Call::GetAccessToken {
                force: false,
                api: None,
            },
        )
        .unwrap_err();
    assert_eq!(e.code(), code::LOGIN_REQUIRED);
    assert_eq!(w.sub(c).as_deref(), Some("alice"));
}

/// renewal ∥ logout: a renewal whose session ended meanwhile is dropped.
#[test]
fn a_renewal_under_way_is_dropped_by_a_logout() {
    let mut w = World::new();
    let page = w.page();
    let c = w
        .create(
            page,
            options(|o| o.scope = Some("openid profile".into())),
            At::Session,
        )
        .unwrap();
    w.login(c, "alice").unwrap();
    advance(3_600_000);
    let renewal = w.start(
        c,
        Call::GetAccessToken {
            force: false,
            api: None,
        },
    );
    w.step_until(renewal, |w, op| w.sends(op, "/token"));
    w.call(c, Call::Logout(None, None)).unwrap();
    assert_eq!(w.finish(renewal).unwrap_err().code(), code::LOGIN_REQUIRED);
    assert!(!w.client(c).is_authenticated(clock()));
    assert!(w.stored_session(c).is_none());
    assert_eq!(w.clients[c].events, ["signed_in", "signed_out"]);
}

#[test]
fn tabs_agree_a_sign_in_refresh_user_switch_and_sign_out_elsewhere_are_followed() {
    let mut w = World::new();
    let (p1, p2) = (w.page(), w.page());
    let a = w.create(p1, options(|_| {}), At::Local).unwrap();
    // Tab B, open before tab A signed in: no session yet.
    let b = w.create(p2, options(|_| {}), At::Local).unwrap();
    w.login(a, "alice").unwrap();
    assert_eq!(w.clients[b].events, ["signed_in"]);
    assert_eq!(w.access_token(b), w.access_token(a));
    // A refreshed.
    w.call(a, Call::Refresh(None)).unwrap();
    assert_eq!(w.clients[b].events, ["signed_in", "refreshed"]);
    assert_eq!(w.access_token(b), w.access_token(a));
    // Hostile rows: garbage, and a session whose ID token was tampered with, leave B as it is.
    let key = w.client(a).session_storage_key();
    let alices = get(&w.local, &key).unwrap();
    let token = w.access_token(b);
    set(&mut w.local, key.clone(), "{not json".into());
    w.call(b, Call::Follow(Some(key.clone()))).unwrap();
    let raw = w.client(a).id_token_claims().unwrap()["__raw"]
        .as_str()
        .unwrap()
        .to_string();
    let mut forged = raw.clone();
    forged.pop();
    forged.push(if raw.ends_with('A') { 'B' } else { 'A' });
    let planted = w.resealed(&alices, |t| {
        t.replace(&raw, &forged).replace("alice.at", "forged.at")
    });
    set(&mut w.local, key.clone(), planted);
    w.call(b, Call::Follow(Some(key.clone()))).unwrap();
    assert_eq!(w.access_token(b), token);
    // Another key changed: nothing to do.
    w.call(b, Call::Follow(Some("unrelated".into()))).unwrap();
    assert_eq!(w.clients[b].events, ["signed_in", "refreshed"]);
    // A signed out, then Bob signed in there: B follows.
    set(&mut w.local, key.clone(), alices);
    w.call(a, Call::Logout(None, None)).unwrap();
    assert_eq!(w.clients[b].events, ["signed_in", "refreshed", "signed_out"]);
    assert_eq!(
        w.call(
            b,
            Call::GetAccessToken {
                force: false,
                api: None
            }
        )
        .unwrap_err()
        .code(),
        code::LOGIN_REQUIRED
    );
    w.login(a, "bob").unwrap();
    assert_eq!(w.clients[b].events.last(), Some(&"signed_in"));
    assert_eq!(w.sub(b).as_deref(), Some("bob"));
}

#[test]
fn a_stored_session_is_restored_against_the_providers_key_set() {
    let (mut w, c) = signed_in(At::Session);
    let stored = w.pages[0].session.clone();
    // A new page: the session and the key set are stored; the set is fetched anyway.
    let next = w.page();
    w.pages[next].session = stored.clone();
    let sent = w.provider.seen.len();
    let d = w.create(next, options(|_| {}), At::Session).unwrap();
    assert!(w.client(d).is_authenticated(clock()));
    assert_eq!(
        w.provider.seen.last().map(String::as_str),
        Some("GET /jwks"),
        "fetched, not the stored copy"
    );
    assert!(w.provider.seen.len() > sent);

    // A tampered session (another subject, forged signature), sealed again
    // (by a script of the page, which can): the signature refuses it; removed.
    let key = w.client(c).session_storage_key();
    let raw = w.client(c).id_token_claims().unwrap()["__raw"]
        .as_str()
        .unwrap()
        .to_string();
    let mut parts: Vec<&str> = raw.split('.').collect();
    let payload = crate::b64::encode(json!({"iss": ISS, "sub": "mallory", "aud": "app", "exp": clock() / 1000 + 600, "iat": clock() / 1000}).to_string());
    parts[1] = &payload;
    let tampered = w.resealed(&get(&stored, &key).unwrap(), |t| {
        t.replace(&raw, &parts.join("."))
    });
    let third = w.page();
    w.pages[third].session = vec![(key.clone(), tampered)];
    let e = w.create(third, options(|_| {}), At::Session).unwrap();
    assert!(!w.client(e).is_authenticated(clock()));
    assert!(get(&w.pages[third].session, &key).is_none(), "removed");
}

/// A writer of Web Storage alone (a DOM-based storage injection, another
/// browser's copied storage) cannot make a session this one takes up: not
/// one put together from genuine parts, nor a whole one from elsewhere. A
/// script running in the page can seal (it can read IndexedDB): what it
/// writes is taken up if its ID token verifies (SECURITY.md says so).
#[test]
fn a_stored_session_is_taken_up_only_as_this_library_sealed_it_here() {
    let mut w = World::new();
    let page = w.page();
    let bob = w.create(page, options(|_| {}), At::Local).unwrap();
    w.login(bob, "bob").unwrap();
    let key = w.client(bob).session_storage_key();
    let bobs = get(&w.local, &key).unwrap();
    let secret = crate::b64::decode(&w.secret).unwrap();
    let bobs_text = crate::session::unseal(&bobs, &secret).unwrap();
    let bobs_token = w.access_token(bob).unwrap();
    w.call(bob, Call::Logout(None, None)).unwrap();
    let alice = w.create(page, options(|_| {}), At::Local).unwrap();
    w.login(alice, "alice").unwrap();
    let alices = get(&w.local, &key).unwrap();
    let alices_text = crate::session::unseal(&alices, &secret).unwrap();
    let alices_token = w.access_token(alice).unwrap();
    let fresh = |w: &mut World| {
        let p = w.page();
        let c = w.create(p, options(|_| {}), At::Local).unwrap();
        let signed_in = w.client(c).is_authenticated(clock());
        (signed_in, w.access_token(c), get(&w.local, &key).is_some())
    };
    // Alice's ID token with bob's tokens, written unsealed, or with alice's seal.
    let paired = alices_text.replace(&alices_token, &bobs_token);
    for planted in [paired.clone(), alices.replace(&alices_token, &bobs_token)] {
        set(&mut w.local, key.clone(), planted);
        assert_eq!(fresh(&mut w), (false, None, false), "not taken up, removed");
    }
    // A whole session sealed in another browser (another secret).
    set(
        &mut w.local,
        key.clone(),
        crate::session::seal(&bobs_text, b"another browser's secret, 32 bytes"),
    );
    assert_eq!(fresh(&mut w), (false, None, false));
    // Its own seal: taken up as it was.
    set(&mut w.local, key.clone(), alices.clone());
    assert_eq!(fresh(&mut w), (true, Some(alices_token.clone()), true));
    // What a script in the page can do: seal the pairing itself.
    set(&mut w.local, key.clone(), crate::session::seal(&paired, &secret));
    assert_eq!(
        fresh(&mut w).1,
        Some(bobs_token),
        "a script that reads IndexedDB can seal"
    );
}

#[test]
fn an_offline_start_trusts_the_kept_document_only_as_storage() {
    let (mut w, c) = signed_in(At::Session);
    let mut stored = w.pages[0].session.clone();
    // A planted document: its end_session elsewhere.
    let doc_key = "oidc-pkce:discovery:https%3A%2F%2Fid.example.com".to_string();
    let planted = discovery_document(json!({"end_session_endpoint": "https://evil.example/logout"}));
    set(&mut stored, doc_key.clone(), planted);
    let next = w.page();
    w.pages[next].session = stored;
    w.provider.script("/.well-known/openid-configuration", offline());
    let sent = w.provider.seen.len();
    let d = w.create(next, options(|_| {}), At::Session).unwrap();
    assert!(
        w.client(d).is_authenticated(clock()),
        "started offline with the stored key set"
    );
    assert_eq!(
        w.provider.seen.len() - sent,
        1,
        "only discovery was tried: no key set fetched"
    );
    assert_eq!(
        w.client(d).logout_url(None, None).unwrap_err().code(),
        code::NETWORK_ERROR
    );
    // Online again: the provider's document differs from the kept one.
    let e = w
        .call(
            d,
            Call::GetAccessToken {
                force: true,
                api: None,
            },
        )
        .unwrap_err();
    assert_eq!(e.code(), code::INVALID_DISCOVERY);
    assert!(!w.client(d).is_authenticated(clock()));
    assert!(get(&w.pages[next].session, &doc_key).is_none());
    assert!(w.provider.seen.iter().all(|s| !s.contains("evil")));
    let _ = c;
}

#[test]
fn silent_renewal_never_switches_the_user() {
    let mut w = World::new();
    let page = w.page();
    let c = w
        .create(
            page,
            options(|o| o.scope = Some("openid profile".into())),
            At::Session,
        )
        .unwrap();
    w.login(c, "alice").unwrap();
    let before = w.access_token(c);
    w.provider.session = Some("bob".into());
    let e = w
        .call(
            c,
            Call::GetAccessToken {
                force: true,
                api: None,
            },
        )
        .unwrap_err();
    assert_eq!((e.code(), e.reason()), (code::LOGIN_REQUIRED, Some("sub")));
    assert!(
        !crate::callback::user_must_interact(&e),
        "not a provider's refusal: it keeps its reason"
    );
    assert_eq!(w.access_token(c), before, "alice's session stays");
    assert_eq!(w.clients[c].events, ["signed_in"]);
    // checkSession asks the provider and answers whether it signed someone in.
    w.provider.session = None;
    let out = w.call(c, Call::CheckSession(Default::default(), 10_000)).unwrap();
    assert_eq!(out, Output::Value(false.into()));
}

#[test]
fn logout_revokes_best_effort_and_revoke_tokens_reports_failures() {
    let (mut w, c) = signed_in(At::Session);
    // revokeTokens: both tokens; a failure is the call's error and the session stays.
    w.provider
        .script("/token/revocation", HttpAnswer::Redirected { status: 0 });
    assert_eq!(
        w.call(c, Call::RevokeTokens).unwrap_err().code(),
        code::REVOCATION_FAILED
    );
    assert!(w.client(c).is_authenticated(clock()));
    // logout: the session ends here first; a failing revocation changes nothing.
    w.provider.script("/token/revocation", answer(503, ""));
    w.call(c, Call::Logout(Some("https://app.example.com/bye".into()), None))
        .unwrap();
    assert_eq!(w.clients[c].events.last(), Some(&"signed_out"));
    assert!(w.stored_session(c).is_none());
    let target = w.clients[c].opened.last().unwrap().clone();
    assert!(
        target.starts_with("https://id.example.com/session/end?client_id=app&id_token_hint="),
        "{target}"
    );
    let e = w
        .call(
            c,
            Call::Logout(Some("http://evil.test\\@localhost/".into()), None),
        )
        .unwrap_err();
    assert_eq!(e.code(), code::INVALID_CONFIG);
    // revokeTokens of a live session revokes both.
    w.login(c, "alice").unwrap();
    let sent = w.provider.seen.len();
    w.call(c, Call::RevokeTokens).unwrap();
    let hints: Vec<&String> = w.provider.seen[sent..]
        .iter()
        .filter(|s| s.contains("revocation"))
        .collect();
    assert_eq!(hints.len(), 2, "{hints:?}");
    assert!(!w.client(c).is_authenticated(clock()));
}

#[test]
fn what_an_open_url_answer_means() {
    let (mut w, c) = signed_in(At::Session);
    let pending = |w: &World| {
        w.pages[0]
            .session
            .iter()
            .filter(|(k, _)| k.starts_with("oidc-pkce:tx:"))
            .count()
    };
    // Rejected: the user cancelled; no pending login is left.
    w.clients[c].open_answer = Some(Opened::Refuse("rejected"));
    let e = w
        .call(c, Call::LoginWithRedirect(Default::default()))
        .unwrap_err();
    assert_eq!(e.code(), code::LOGIN_CANCELLED);
    assert_eq!(pending(&w), 0);
    // Thrown: the app's failure, not a cancel.
    w.clients[c].open_answer = Some(Opened::Refuse("threw"));
    let e = w
        .call(c, Call::LoginWithRedirect(Default::default()))
        .unwrap_err();
    assert_eq!(e.code(), code::INVALID_CONFIG);
    // Resolved to something that is not this client's callback (a logout's
    // return, say): nothing to finish, the login waits for its callback.
    w.clients[c].open_answer = Some(Opened::Back("com.example.app://logout".into()));
    assert_eq!(
        w.call(c, Call::LoginWithRedirect(Default::default())).unwrap(),
        Output::Nothing
    );
    assert_eq!(pending(&w), 1);
    // Resolved to the callback (an auth session): the login completes here.
    w.clients[c].open_answer = Some(Opened::SignIn("carol"));
    let out = w.call(c, Call::LoginWithRedirect(Default::default())).unwrap();
    assert_eq!(out, Output::AppState(None));
    assert_eq!(w.sub(c).as_deref(), Some("carol"));
    // A logout's browser opens the provider's logout; its rejection is the app's failure there.
    w.clients[c].open_answer = Some(Opened::Refuse("rejected"));
    let e = w.call(c, Call::Logout(None, None)).unwrap_err();
    assert_eq!(e.code(), code::INVALID_CONFIG);
    assert!(!w.client(c).is_authenticated(clock()), "signed out all the same");
}

#[test]
fn dpop_binds_the_login_and_retries_once_with_the_servers_nonce() {
    let mut w = World::new();
    let page = w.page();
    let c = w.create(page, options(|o| o.dpop = true), At::Session).unwrap();
    let url = w.authorize_url(c, Default::default()).unwrap();
    let jkt = PublicKey::from_coordinates(&dpop_key().0, &dpop_key().1)
        .unwrap()
        .thumbprint();
    assert!(url.contains(&format!("dpop_jkt={jkt}")), "{url}");
    // The token endpoint asks for a nonce (§8), then answers with bound tokens.
    w.provider.script(
        "/token",
        HttpAnswer::Response(HttpResponse {
            status: 400,
            body: Some(r#"{"error":"use_dpop_nonce"}"#.into()),
            dpop_nonce: Some("n-1".into()),
            ..Default::default()
        }),
    );
    let callback = w.provider.sign_in(&url, "alice");
    let nonce = w.provider.codes.last().unwrap().nonce.clone();
    w.provider.script(
        "/token",
        answer(200, json!({"access_token": "bound", "token_type": "DPoP", "id_token": id_token(Some(&nonce), "alice")}).to_string()),
    );
    w.call(c, Call::HandleRedirectCallback(callback)).unwrap();
    let proofs: Vec<String> = w
        .provider
        .requests
        .iter()
        .filter(|r| r.url.ends_with("/token"))
        .map(|r| {
            let payload = r.dpop_input.as_deref().unwrap().split('.').nth(1).unwrap();
            String::from_utf8(crate::b64::decode(payload).unwrap()).unwrap()
        })
        .collect();
    assert_eq!(proofs.len(), 2);
    assert!(!proofs[0].contains("nonce"), "{}", proofs[0]);
    assert!(proofs[1].contains(r#""nonce":"n-1""#), "{}", proofs[1]);
    assert!(proofs[1].contains(r#""htu":"https://id.example.com/token""#));
    assert_eq!(w.client(c).binding().unwrap(), Some(jkt.clone()));
    let (authorization, proof) = w
        .client(c)
        .resource_credentials("GET", "https://api.example/x?y=1", None, clock())
        .unwrap();
    assert_eq!(authorization, "DPoP bound");
    assert!(proof.unwrap().len() > 100);
    // fetchWithAuth: the resource server asks for a nonce once; the request
    // is sent again with a proof carrying it.
    let asks_once = HttpAnswer::Response(HttpResponse {
        status: 401,
        body: Some(String::new()),
        www_authenticate: Some(r#"DPoP error="use_dpop_nonce""#.into()),
        dpop_nonce: Some("rs-1".into()),
        ..Default::default()
    });
    w.resource_answers = vec![answer(200, ""), asks_once];
    w.call(
        c,
        Call::FetchWithAuth(None, "GET".into(), "https://api.example/orders".into()),
    )
    .unwrap();
    let sent: Vec<(String, Option<String>)> = std::mem::take(&mut w.resource_requests);
    assert_eq!(sent.len(), 2);
    assert!(sent.iter().all(|(a, _)| a == "DPoP bound"));
    let proof = |i: usize| {
        let input = sent[i].1.as_deref().unwrap();
        String::from_utf8(crate::b64::decode(input.split('.').nth(1).unwrap()).unwrap()).unwrap()
    };
    assert!(
        !proof(0).contains("rs-1") && proof(1).contains(r#""nonce":"rs-1""#),
        "{}",
        proof(1)
    );
    // A resource server that keeps asking: one retry only.
    let asks = HttpAnswer::Response(HttpResponse {
        status: 401,
        body: Some(String::new()),
        www_authenticate: Some(r#"DPoP error="use_dpop_nonce""#.into()),
        dpop_nonce: Some("n-2".into()),
        ..Default::default()
    });
    assert!(w
        .client(c)
        .retry_with_nonce("https://api.example/x", true, true, &asks, 0));
    assert!(!w
        .client(c)
        .retry_with_nonce("https://api.example/x", true, true, &asks, 1));
    // The key gone (another tab logged out): login_required, never Bearer.
    w.dpop = None;
    let e = w.call(c, Call::FetchUserInfo).unwrap_err();
    assert_eq!(e.code(), code::LOGIN_REQUIRED);
}

#[test]
fn a_provider_that_answers_bearer_to_a_dpop_client_is_refused() {
    let mut w = World::new();
    let page = w.page();
    let c = w.create(page, options(|o| o.dpop = true), At::Session).unwrap();
    let url = w.authorize_url(c, Default::default()).unwrap();
    let callback = w.provider.sign_in(&url, "alice");
    let e = w.call(c, Call::HandleRedirectCallback(callback)).unwrap_err();
    assert_eq!(e.code(), code::INVALID_TOKEN_RESPONSE);
    assert!(w.client(c).tokens().is_none());
}

#[test]
fn pushed_authorization_requests_send_the_parameters_by_post() {
    let mut w = World::new();
    let page = w.page();
    let c = w
        .create(
            page,
            options(|o| o.pushed_authorization_requests = true),
            At::Session,
        )
        .unwrap();
    let url = w.authorize_url(c, Default::default()).unwrap();
    assert!(
        url.starts_with("https://id.example.com/auth?client_id=app&request_uri=urn"),
        "{url}"
    );
    let push = w.provider.requests.last().unwrap();
    assert_eq!(
        (push.method, push.url.as_str()),
        ("POST", "https://id.example.com/request")
    );
    assert!(push
        .body
        .as_deref()
        .unwrap()
        .contains("code_challenge_method=S256"));
    let callback = w.provider.sign_in(&url, "alice");
    w.call(c, Call::HandleRedirectCallback(callback)).unwrap();
    assert_eq!(w.sub(c).as_deref(), Some("alice"));
    // A refused push: its error, and nothing pending.
    w.provider
        .script("/request", HttpAnswer::Redirected { status: 307 });
    let e = w.authorize_url(c, Default::default()).unwrap_err();
    assert_eq!(e.code(), code::INVALID_PAR_RESPONSE);
    assert!(w.pages[0]
        .session
        .iter()
        .all(|(k, _)| !k.starts_with("oidc-pkce:tx:")));
}

#[test]
fn stale_pending_logins_are_removed_and_current_ones_kept() {
    let (mut w, c) = signed_in(At::Session);
    let prefix = w.client(c).transaction_storage_prefix();
    w.pages[0]
        .session
        .push((format!("{prefix}old"), "garbage".into()));
    w.authorize_url(c, Default::default()).unwrap();
    let pending: Vec<&String> = w.pages[0]
        .session
        .iter()
        .map(|(k, _)| k)
        .filter(|k| k.starts_with(&prefix))
        .collect();
    assert_eq!(pending.len(), 1, "the unreadable one went, the new one stays");
    advance(crate::transaction::TRANSACTION_TTL_MS + 1);
    w.authorize_url(c, Default::default()).unwrap();
    let pending = w.pages[0]
        .session
        .iter()
        .filter(|(k, _)| k.starts_with(&prefix))
        .count();
    assert_eq!(pending, 1, "the expired one went");
}
