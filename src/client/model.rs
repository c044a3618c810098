//! Tests: the JS driver (js/driver/client.js) as a model in Rust, so that
//! the flows (`client/flows.rs`) run its operations over the core's steps
//! and interleave them in the order a test chooses. Each operation is an
//! `async fn` over a [`Ctx`] whose only wait is [`Ctx::perform`]: an
//! [`Action`] the flows' scheduler performs (a request, a storage read, a
//! lock, the end of a flight) before it resumes the operation
//! ([`Operation::resume`], synchronous). The model calls the same core
//! functions, in the same order, as the driver does, function for function
//! (each names the driver's); it decides nothing itself.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use super::access::{Access, AccessPlan, RefreshPlan, Refreshed, Shared};
use super::endpoints::{Confirmation, Discovered};
use super::keys::{Input as StepInput, KeySetWrite, Step, Verification};
use super::login::LoginKind;
use super::logout::Revocation;
use super::restore::Restore;
use super::timeline::{Begin, Kind};
use super::{Adopted, Client, Effects};
use crate::api::ApiKey;
use crate::authorize::AuthorizeOptions;
use crate::error::{code, AuthError, Result};
use crate::http::{HttpAnswer, HttpRequest};
use crate::id_token::SignatureCheck;

/// The store an action reads or writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Store {
    /// `tokenStorage`.
    Tokens,
    /// `transactionStorage` (pending logins).
    Transactions,
}

/// What the driver does next for an operation. (Handed over at once, not
/// kept: its variants' sizes do not matter.)
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
pub enum Action {
    /// Send these requests at once (a DPoP proof signed over each
    /// `dpop_input`): [`Input::Answers`], in order.
    Http(Vec<HttpRequest>),
    /// Read these keys of a store: [`Input::Values`], in order.
    Read(Store, Vec<String>),
    /// List `transactionStorage`'s keys: [`Input::Keys`] (`None`: it cannot list them).
    List,
    /// Write to `transactionStorage`: the entry, then the removals.
    Write {
        set: Option<(String, String)>,
        remove: Vec<String>,
    },
    /// Apply effects to `tokenStorage` in their order (see [`Effects`]); its
    /// error is the operation's, not the driver's.
    Apply(Effects),
    /// Read the hand-off record of tabs sharing `localStorage`: [`Input::Values`].
    Handoff(String),
    /// Read this origin's sealing secret (made when missing): [`Input::Values`].
    Secret,
    /// Read this client's DPoP key (with `true`: made if missing): [`Input::Key`].
    Key(bool),
    /// Check a signature: [`Input::Signed`].
    Check(SignatureCheck),
    Sleep(u32),
    /// Take this Web Lock (tabs take turns); held until the operation ends.
    Lock(String),
    /// Wait until flight `id` ends (see [`super::timeline`]).
    Wait(u32),
    /// Show `url` in the operation's window (its popup, or a hidden iframe)
    /// and wait for the callback: [`Input::Window`].
    Window(String),
    /// Send the browser to `url` (the app's `openUrl`, else
    /// `location.assign`): [`Input::Opened`].
    Open(String),
    /// Send the app's request with these credentials: [`Input::Answers`]
    /// with the answer's status and headers (the driver keeps the response).
    Resource {
        authorization: String,
        dpop_input: Option<String>,
    },
}

/// How a window came back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Window {
    /// It showed a URL the core took for the callback.
    Arrived(String),
    Closed,
}

/// What the driver brings back for an [`Action`].
#[derive(Debug)]
pub enum Input {
    /// Done (a write, a sleep, a lock, a wait), or the operation's start.
    Nothing,
    Answers(Vec<HttpAnswer>),
    Values(Vec<Option<String>>),
    Keys(Option<Vec<String>>),
    /// The DPoP key's public coordinates (`x`, `y`), or none.
    Key(Option<(String, String)>),
    /// `Ok(valid)`, or `Err(why)` when the platform could not check it.
    Signed(std::result::Result<bool, String>),
    Window(Window),
    /// What the app's `openUrl` resolved to, if text.
    Opened(Option<String>),
    /// A failure of the step: its kind and the platform's words (see [`super::driver_failure`]).
    Refused(&'static str, String),
}

/// What an operation gives the app when it ends.
#[derive(Debug, PartialEq)]
pub enum Output {
    Nothing,
    Value(crate::json::Value),
    /// `{ appState }`, the app's JSON text as it stored it (`None`: undefined).
    AppState(Option<String>),
}

/// The next thing an operation needs, or its end.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
pub enum Next {
    Do(Action),
    Done(Result<Output>),
}

#[derive(Default)]
struct Exchange {
    action: Option<Action>,
    input: Option<Input>,
}

/// The one place an operation waits: on the driver.
pub struct Yield {
    exchange: Rc<RefCell<Exchange>>,
    action: Option<Action>,
}

impl Future for Yield {
    type Output = Input;

    fn poll(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Input> {
        match self.action.take() {
            Some(action) => {
                self.exchange.borrow_mut().action = Some(action);
                Poll::Pending
            }
            None => Poll::Ready(self.exchange.borrow_mut().input.take().unwrap_or(Input::Nothing)),
        }
    }
}

/// An action, then a synchronous reading of what came back (a leaf step:
/// no state machine of its own).
pub struct Then<F> {
    step: Yield,
    then: Option<F>,
}

impl<T, F: FnOnce(Input) -> T + Unpin> Future for Then<F> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let input = match Pin::new(&mut self.step).poll(cx) {
            Poll::Ready(input) => input,
            Poll::Pending => return Poll::Pending,
        };
        match self.then.take() {
            Some(then) => Poll::Ready(then(input)),
            None => Poll::Pending,
        }
    }
}

type Task = Pin<Box<dyn Future<Output = Result<Output>>>>;

/// An operation under way.
pub struct Operation {
    task: Option<Task>,
    exchange: Rc<RefCell<Exchange>>,
}

impl Operation {
    /// An operation of `client` made by `run` over its context.
    pub fn start<F, Fut>(client: &Rc<RefCell<Client>>, clock: fn() -> u64, run: F) -> Operation
    where
        F: FnOnce(Ctx) -> Fut,
        Fut: Future<Output = Result<Output>> + 'static,
    {
        let exchange = Rc::new(RefCell::new(Exchange::default()));
        let ctx = Ctx {
            client: Rc::clone(client),
            exchange: Rc::clone(&exchange),
            clock,
        };
        Operation {
            task: Some(Box::pin(run(ctx))),
            exchange,
        }
    }

    /// Resumes with what the driver brought back (the start: [`Input::Nothing`]).
    pub fn resume(&mut self, input: Input) -> Next {
        let Some(task) = self.task.as_mut() else {
            return Next::Done(Err(AuthError::new(
                code::INVALID_CONFIG,
                "the operation has ended",
            )));
        };
        self.exchange.borrow_mut().input = Some(input);
        let mut cx = Context::from_waker(Waker::noop());
        match task.as_mut().poll(&mut cx) {
            Poll::Ready(out) => {
                self.task = None;
                Next::Done(out)
            }
            Poll::Pending => match self.exchange.borrow_mut().action.take() {
                Some(action) => Next::Do(action),
                None => {
                    self.task = None;
                    Next::Done(Err(AuthError::new(code::INVALID_CONFIG, "the operation stopped")))
                }
            },
        }
    }
}

/// What an operation runs with: its client, the driver, the clock.
pub struct Ctx {
    client: Rc<RefCell<Client>>,
    exchange: Rc<RefCell<Exchange>>,
    clock: fn() -> u64,
}

fn wrong_input() -> AuthError {
    AuthError::new(
        code::INVALID_CONFIG,
        "the driver answered a step with something else",
    )
}

impl Ctx {
    /// A synchronous step of the client (never held across a wait).
    pub fn with<R>(&self, f: impl FnOnce(&mut Client) -> R) -> R {
        f(&mut self.client.borrow_mut())
    }

    pub fn now(&self) -> u64 {
        (self.clock)()
    }

    /// Hands `action` to the driver; what it brought back.
    pub fn perform(&self, action: Action) -> Yield {
        Yield {
            exchange: Rc::clone(&self.exchange),
            action: Some(action),
        }
    }

    fn then<T, F: FnOnce(Input) -> T + Unpin>(&self, action: Action, then: F) -> Then<F> {
        Then {
            step: self.perform(action),
            then: Some(then),
        }
    }

    /// Sends requests at once; the answers in order.
    pub fn http_all(&self, requests: Vec<HttpRequest>) -> impl Future<Output = Result<Vec<HttpAnswer>>> {
        let n = requests.len();
        self.then(Action::Http(requests), move |input| match input {
            Input::Answers(a) if a.len() == n => Ok(a),
            Input::Refused(what, why) => Err(super::driver_failure(what, why, false)),
            _ => Err(wrong_input()),
        })
    }

    pub fn http(&self, request: HttpRequest) -> impl Future<Output = Result<HttpAnswer>> {
        self.then(Action::Http(vec![request]), |input| match input {
            Input::Answers(mut a) if a.len() == 1 => a.pop().ok_or_else(wrong_input),
            Input::Refused(what, why) => Err(super::driver_failure(what, why, false)),
            _ => Err(wrong_input()),
        })
    }

    /// Sends the request `build` makes; once more when the server asks for a
    /// DPoP nonce (RFC 9449 §8, §9), as [`Client::retry_with_nonce`] says.
    pub async fn send(&self, build: &dyn Fn(&Client, u64) -> Result<HttpRequest>) -> Result<HttpAnswer> {
        Ok(self.send_with(build, None).await?.0)
    }

    /// [`Ctx::send`], with `also` sent at the same time as the first attempt
    /// (its answer comes back beside).
    pub async fn send_with(
        &self,
        build: &dyn Fn(&Client, u64) -> Result<HttpRequest>,
        also: Option<HttpRequest>,
    ) -> Result<(HttpAnswer, Option<HttpAnswer>)> {
        let mut also = also;
        let mut beside = None;
        let mut attempt = 0;
        loop {
            let request = self.with(|c| build(c, self.now()))?;
            let (url, proof) = (request.url.clone(), request.dpop_input.is_some());
            let mut requests = vec![request];
            requests.extend(also.take());
            let mut answers = self.http_all(requests).await?.into_iter();
            let answer = answers.next().ok_or_else(wrong_input)?;
            beside = beside.or(answers.next());
            if !self.with(|c| c.retry_with_nonce(&url, proof, false, &answer, attempt)) {
                return Ok((answer, beside));
            }
            attempt += 1;
        }
    }

    /// Reads keys of a store.
    pub fn read(&self, store: Store, keys: Vec<String>) -> impl Future<Output = Result<Vec<Option<String>>>> {
        let n = keys.len();
        self.then(Action::Read(store, keys), move |input| match input {
            Input::Values(v) if v.len() == n => Ok(v),
            Input::Refused(what, why) => Err(super::driver_failure(what, why, false)),
            _ => Err(wrong_input()),
        })
    }

    pub fn read_one(&self, store: Store, key: String) -> impl Future<Output = Result<Option<String>>> {
        self.then(Action::Read(store, vec![key]), |input| match input {
            Input::Values(mut v) if v.len() == 1 => Ok(v.pop().flatten()),
            Input::Refused(what, why) => Err(super::driver_failure(what, why, false)),
            _ => Err(wrong_input()),
        })
    }

    /// A store's keys (`None`: an adapter without `keys()`).
    pub fn list(&self) -> impl Future<Output = Result<Option<Vec<String>>>> {
        self.then(Action::List, |input| match input {
            Input::Keys(k) => Ok(k),
            Input::Refused(what, why) => Err(super::driver_failure(what, why, false)),
            _ => Err(wrong_input()),
        })
    }

    /// Writes to `transactionStorage`.
    pub fn write_tx(
        &self,
        set: Option<(String, String)>,
        remove: Vec<String>,
    ) -> impl Future<Output = Result<()>> {
        self.then(Action::Write { set, remove }, |input| match input {
            Input::Refused(what, why) => Err(super::driver_failure(what, why, false)),
            _ => Ok(()),
        })
    }

    /// Applies `effects`; a refused write is `storage_error`; then their error, if any.
    pub async fn apply(&self, mut effects: Effects) -> Result<()> {
        let error = effects.error.take();
        if !effects.is_empty() {
            if let Input::Refused(what, why) = self.perform(Action::Apply(effects)).await {
                return Err(super::driver_failure(what, why, false));
            }
        }
        error.map_or(Ok(()), Err)
    }

    /// Applies `effects`, whatever the storage says (what is lost is a cache
    /// or a removal), and drops their error.
    pub async fn apply_best_effort(&self, mut effects: Effects) {
        effects.error = None;
        let _ = self.apply(effects).await;
    }

    /// Reads this client's DPoP key into the core (`create`: made when
    /// missing); with `jkt`, it must be that key (`login_required`).
    pub async fn read_key(&self, create: bool, jkt: Option<String>) -> Result<()> {
        let coordinates = match self.perform(Action::Key(create)).await {
            Input::Key(k) => k,
            Input::Refused(what, why) => return Err(super::driver_failure(what, why, false)),
            _ => return Err(wrong_input()),
        };
        self.with(|c| {
            c.key_read(coordinates.as_ref().map(|(x, y)| (x.as_str(), y.as_str())))?;
            match &jkt {
                Some(jkt) => c.require_key(jkt),
                None => Ok(()),
            }
        })
    }

    /// The key of thumbprint `jkt`, if any, must be the one stored.
    pub async fn require_key(&self, jkt: Option<String>) -> Result<()> {
        match jkt {
            Some(_) => self.read_key(false, jkt).await,
            None => Ok(()),
        }
    }

    /// Runs a verification to its end: the core chooses the keys, the platform checks the signature.
    pub async fn verify(&self, v: &mut Verification) -> Result<()> {
        let mut input = StepInput::Start;
        loop {
            let (step, keep) = self.with(|c| c.verify_step(v, input, self.now()))?;
            self.keep_key_set(keep).await;
            input = match step {
                Step::Done => return Ok(()),
                Step::Read(key) => StepInput::Stored(self.read_one(Store::Tokens, key).await.unwrap_or(None)),
                Step::Fetch(request) => StepInput::Fetched(self.http(request).await?),
                Step::Check(check) => match self.perform(Action::Check(check)).await {
                    Input::Signed(answer) => StepInput::Signed(answer),
                    Input::Refused(what, why) => return Err(super::driver_failure(what, why, false)),
                    _ => return Err(wrong_input()),
                },
            };
        }
    }

    /// A key set readied ahead of a token ([`Verification::keys_ahead`]):
    /// taken from the page or storage when it can be, else the request that
    /// fetches it (to send beside the token request).
    pub async fn keys_ahead(&self, v: &mut Verification) -> Option<HttpRequest> {
        let mut input = StepInput::Start;
        loop {
            let (step, _) = self.with(|c| c.verify_step(v, input, self.now())).ok()?;
            match step {
                Step::Read(key) => {
                    input = StepInput::Stored(self.read_one(Store::Tokens, key).await.unwrap_or(None))
                }
                Step::Fetch(request) => return Some(request),
                _ => return None,
            }
        }
    }

    /// The key set fetched ahead: kept (a failure is left to the verification).
    pub async fn keys_arrived(&self, v: &mut Verification, answer: HttpAnswer) {
        if let Ok((_, keep)) = self.with(|c| c.verify_step(v, StepInput::Fetched(answer), self.now())) {
            self.keep_key_set(keep).await;
        }
    }

    /// A key set kept in (or removed from) `tokenStorage`: only a cache.
    async fn keep_key_set(&self, write: KeySetWrite) {
        let Some((key, value)) = write else { return };
        let mut effects = Effects::default();
        match value {
            Some(value) => effects.set.push((key, value)),
            None => effects.remove.push(key),
        }
        self.apply_best_effort(effects).await;
    }

    /// Waits until flight `id` ends; the outcome its starter recorded.
    pub async fn wait(&self, id: u32) -> Result<bool> {
        if super::timeline::in_flight(id) {
            self.perform(Action::Wait(id)).await;
        }
        OUTCOMES
            .with(|o| {
                o.borrow()
                    .iter()
                    .rev()
                    .find(|(x, _)| *x == id)
                    .map(|(_, r)| r.clone())
            })
            .unwrap_or(Ok(false))
    }
}

thread_local! {
    /// What each flight's starter came to (the driver's flight promises).
    static OUTCOMES: RefCell<Vec<(u32, Result<bool>)>> = const { RefCell::new(Vec::new()) };
}

/// The calls of the JS API.
#[derive(Debug)]
pub enum Call {
    Create,
    BuildAuthorizeUrl(AuthorizeOptions),
    LoginWithRedirect(AuthorizeOptions),
    HandleRedirectCallback(String),
    LoginWithPopup(AuthorizeOptions, u32),
    CheckSession(AuthorizeOptions, u32),
    GetAccessToken {
        force: bool,
        api: Option<ApiKey>,
    },
    Refresh(Option<String>),
    FetchUserInfo,
    /// The app's request: the token's API, its method and URL.
    FetchWithAuth(Option<ApiKey>, String, String),
    /// `returnTo`, and the page's origin.
    Logout(Option<String>, Option<String>),
    RevokeTokens,
    /// Another tab changed this key (`None`: maybe every key).
    Follow(Option<String>),
}

impl Operation {
    /// The operation of `call` on `client`.
    pub fn call(client: &Rc<RefCell<Client>>, clock: fn() -> u64, call: Call) -> Operation {
        Operation::start(client, clock, move |cx| run(cx, call))
    }
}

async fn run(cx: Ctx, call: Call) -> Result<Output> {
    let state = |r: Option<Finished>| Output::AppState(r.and_then(|f| f.app_state));
    Ok(match call {
        Call::Create => {
            create(&cx).await?;
            Output::Nothing
        }
        Call::BuildAuthorizeUrl(opts) => {
            let (url, _, _) = pending(&cx, opts, LoginKind::Redirect, None).await?;
            Output::Value(url.into())
        }
        Call::LoginWithRedirect(opts) => match login_with_redirect(&cx, opts).await? {
            Some(f) => Output::AppState(f.app_state),
            None => Output::Nothing,
        },
        Call::HandleRedirectCallback(url) => state(Some(finish_login(&cx, &url, LoginKind::Redirect).await?)),
        Call::LoginWithPopup(opts, timeout) => {
            state(login_in(&cx, opts, LoginKind::Popup, None, timeout).await?)
        }
        Call::CheckSession(mut opts, timeout) => {
            opts.prompt = Some("none".into());
            Output::Value(
                silent(&cx, opts, LoginKind::Silent, None, timeout)
                    .await?
                    .is_some()
                    .into(),
            )
        }
        Call::GetAccessToken { force, api } => {
            let mut access = Access::token(force, api);
            Output::Value(access_token(&cx, &mut access).await?.into())
        }
        Call::Refresh(scope) => {
            let mut access = Access::refresh(scope);
            refresh_shared(&cx, &mut access).await?;
            let tokens = cx
                .with(|c| c.tokens())
                .ok_or_else(|| AuthError::new(code::LOGIN_REQUIRED, "not signed in"))?;
            Output::Value(crate::json::Value::Object(tokens))
        }
        Call::FetchUserInfo => {
            let mut access = Access::token(false, None);
            access_token(&cx, &mut access).await?;
            online(&cx).await?;
            binding_key(&cx).await?;
            let answer = cx.send(&|c, now| c.userinfo_request(now)).await?;
            Output::Value(crate::json::Value::Object(cx.with(|c| c.userinfo(answer))?))
        }
        Call::FetchWithAuth(api, method, url) => {
            let mut access = Access::token(false, api);
            access_token(&cx, &mut access).await?;
            binding_key(&cx).await?;
            let mut attempt = 0;
            loop {
                let (authorization, dpop_input) =
                    cx.with(|c| c.resource_credentials(&method, &url, access.api(), cx.now()))?;
                let proof = dpop_input.is_some();
                let answer = match cx
                    .perform(Action::Resource {
                        authorization,
                        dpop_input,
                    })
                    .await
                {
                    Input::Answers(mut a) => a.pop().ok_or_else(wrong_input)?,
                    _ => return Err(wrong_input()),
                };
                if !cx.with(|c| c.retry_with_nonce(&url, proof, true, &answer, attempt)) {
                    break Output::Nothing;
                }
                attempt += 1;
            }
        }
        Call::Logout(return_to, origin) => {
            logout(&cx, return_to, origin).await?;
            Output::Nothing
        }
        Call::RevokeTokens => {
            revoke(&cx, Revocation::Tokens).await?;
            let effects = cx.with(|c| c.end_session());
            cx.apply(effects).await?;
            Output::Nothing
        }
        Call::Follow(key) => {
            if cx.with(|c| c.follows(key.as_deref()) && c.stores.persists()) {
                let _ = follow(&cx).await;
            }
            Output::Nothing
        }
    })
}

/// A login that completed (`finishLogin`'s answer).
#[derive(Debug)]
struct Finished {
    app_state: Option<String>,
    stale: bool,
}

/// `createAuthClient`: the sealing secret, discovery (or an offline start), then `restore`.
async fn create(cx: &Ctx) -> Result<()> {
    if cx.with(|c| c.stores.sealed()) {
        let secret = match cx.perform(Action::Secret).await {
            Input::Values(mut v) => v.pop().flatten(),
            _ => None,
        };
        cx.with(|c| c.seal_with(secret.and_then(|s| crate::b64::decode(&s))));
    }
    if let Some(request) = cx.with(|c| c.discovery_request())? {
        let answer = cx.http(request).await?;
        match cx.with(|c| c.discovered(answer))? {
            Discovered::Ready { keep: Some((k, v)) } => {
                cx.apply_best_effort(Effects {
                    set: vec![(k, v)],
                    ..Effects::default()
                })
                .await
            }
            Discovered::Ready { keep: None } => {}
            Discovered::Offline {
                session_key,
                document_key,
            } => {
                let read = cx.read(Store::Tokens, vec![session_key, document_key]).await;
                let [s, d] = <[Option<String>; 2]>::try_from(read.unwrap_or_default()).unwrap_or_default();
                cx.with(|c| c.start_offline(s.as_deref(), d.as_deref()))?;
            }
        }
    }
    restore(cx).await;
    Ok(())
}

/// `restore()`: the stored session, if it still serves.
async fn restore(cx: &Ctx) {
    let (key, legacy) = cx.with(|c| c.restore_keys());
    let read = cx.read(Store::Tokens, vec![key, legacy]).await;
    let [stored, legacy] = <[Option<String>; 2]>::try_from(read.unwrap_or_default()).unwrap_or_default();
    let r = cx.with(|c| c.restore(stored, legacy, c.since()));
    let (effects, jkt, mut v) = match r {
        Restore::Nothing(effects) => return cx.apply_best_effort(effects).await,
        Restore::Verify {
            effects,
            dpop_jkt,
            verification,
        } => (effects, dpop_jkt, verification),
    };
    cx.apply_best_effort(effects).await;
    let taken = async {
        cx.require_key(jkt).await?;
        cx.verify(&mut v).await?;
        if let Adopted::Applied(effects, _) = cx.with(|c| c.adopt(&mut v, cx.now()))? {
            cx.apply(effects).await?;
        }
        Ok(())
    };
    if let Err(e) = taken.await {
        let effects = cx.with(|c| c.failed(&v, &e));
        cx.apply_best_effort(effects).await;
    }
}

/// `online()`: the endpoints of an offline start confirmed first.
async fn online(cx: &Ctx) -> Result<()> {
    let Some(request) = cx.with(|c| c.confirmation_request())? else {
        return Ok(());
    };
    let answer = cx.http(request).await?;
    match cx.with(|c| c.confirmed(answer)) {
        Confirmation::Refused(effects) => cx.apply(effects).await,
        Confirmation::Confirmed(None) => Ok(()),
        Confirmation::Confirmed(Some(mut v)) => {
            if let Err(e) = cx.verify(&mut v).await {
                let effects = cx.with(|c| c.failed(&v, &e));
                cx.apply(effects).await?;
                return Err(e);
            }
            Ok(())
        }
    }
}

/// `pending(opts, kind, access)`: a new pending login, stored; its URL,
/// key and kind (a renewal's: the core's).
async fn pending(
    cx: &Ctx,
    opts: AuthorizeOptions,
    kind: LoginKind,
    access: Option<&Access>,
) -> Result<(String, String, LoginKind)> {
    online(cx).await?;
    if cx.with(|c| c.config.dpop) {
        cx.read_key(true, None).await?;
    }
    let (opts, kind) = match access {
        Some(access) => cx.with(|c| c.renewal(access)),
        None => (opts, kind),
    };
    let a = cx.with(|c| c.authorize(opts, kind, cx.now()))?;
    let url = match (a.push, a.url) {
        (Some(push), _) => {
            let answer = cx.http(push).await?;
            cx.with(|c| c.pushed(answer))?
        }
        (None, url) => url.unwrap_or_default(),
    };
    forget_stale(cx).await;
    let key = a.pending.0.clone();
    cx.write_tx(Some(a.pending), Vec::new()).await?;
    Ok((url, key, kind))
}

/// `forgetStale()`: best effort.
async fn forget_stale(cx: &Ctx) {
    let Ok(keys) = cx.list().await else {
        return;
    };
    let prefix = cx.with(|c| c.transaction_storage_prefix());
    let mine: Vec<String> = keys
        .unwrap_or_default()
        .into_iter()
        .filter(|k| k.starts_with(&prefix))
        .collect();
    let Ok(values) = cx.read(Store::Transactions, mine.clone()).await else {
        return;
    };
    let entries: Vec<(String, Option<String>)> = mine.into_iter().zip(values).collect();
    let stale = cx.with(|c| c.stale_pending(&entries, cx.now()));
    if !stale.is_empty() {
        let _ = cx.write_tx(None, stale).await;
    }
}

/// `finishLogin(url, kind)`.
async fn finish_login(cx: &Ctx, url: &str, kind: LoginKind) -> Result<Finished> {
    let mut login = cx.with(|c| c.callback(url, kind))?;
    online(cx).await?;
    let keys = cx.list().await?;
    let key = cx.with(|c| c.claim(&mut login, keys.as_deref()))?;
    let value = cx.read_one(Store::Transactions, key.clone()).await?;
    cx.write_tx(None, vec![key]).await?;
    let jkt = cx.with(|c| c.take_pending(&mut login, value.as_deref(), cx.now()))?;
    let exchanged = async {
        cx.require_key(jkt).await?;
        // `prefetchKeys()`: the key set fetched while the code is exchanged.
        let mut ahead = Verification::keys_ahead();
        let keys_request = cx.keys_ahead(&mut ahead).await;
        let (answer, keys_answer) = cx
            .send_with(&|c, now| c.token_request(&login, now), keys_request)
            .await?;
        if let Some(a) = keys_answer {
            cx.keys_arrived(&mut ahead, a).await;
        }
        let mut v = cx.with(|c| c.exchanged(&mut login, answer, cx.now()))?;
        cx.verify(&mut v).await?;
        match cx.with(|c| c.adopt(&mut v, cx.now()))? {
            Adopted::Applied(effects, app_state) => {
                cx.apply(effects).await?;
                Ok(Finished {
                    app_state,
                    stale: false,
                })
            }
            Adopted::Stale => Ok(Finished {
                app_state: None,
                stale: true,
            }),
        }
    };
    let result = exchanged.await;
    if let Err(e) = result {
        let effects = cx.with(|c| c.login_failed(&login));
        cx.apply(effects).await?;
        return Err(e);
    }
    result
}

/// `loginWithRedirect(opts)`.
async fn login_with_redirect(cx: &Ctx, opts: AuthorizeOptions) -> Result<Option<Finished>> {
    let (url, key, _) = pending(cx, opts, LoginKind::Redirect, None).await?;
    match cx.perform(Action::Open(url)).await {
        Input::Refused(what, why) => {
            let _ = cx.write_tx(None, vec![key]).await;
            Err(super::driver_failure(what, why, true))
        }
        Input::Opened(Some(back)) if cx.with(|c| c.arrived(&back)) => {
            finish_login(cx, &back, LoginKind::Redirect).await.map(Some)
        }
        _ => Ok(None),
    }
}

/// `loginIn(target, opts, kind, access)`.
async fn login_in(
    cx: &Ctx,
    opts: AuthorizeOptions,
    kind: LoginKind,
    access: Option<&Access>,
    timeout_ms: u32,
) -> Result<Option<Finished>> {
    let (url, _, kind) = pending(cx, opts, kind, access).await?;
    match cx.perform(Action::Window(url)).await {
        Input::Window(Window::Arrived(url)) => finish_login(cx, &url, kind).await.map(Some),
        _ => {
            cx.with(|c| c.window_outcome(kind, super::login::Window::Closed, timeout_ms))?;
            Ok(None)
        }
    }
}

/// `silent(opts, kind, access)`.
async fn silent(
    cx: &Ctx,
    opts: AuthorizeOptions,
    kind: LoginKind,
    access: Option<&Access>,
    timeout_ms: u32,
) -> Result<Option<Finished>> {
    match login_in(cx, opts, kind, access, timeout_ms).await {
        Err(e) if cx.with(|c| c.user_must_interact(&e)) => Ok(None),
        other => other,
    }
}

/// `fly(begin, work)`: the flight the core begins, or the one to join or wait for.
async fn fly<F, Fut>(cx: &Ctx, begin: impl Fn(&Client) -> Begin, work: F) -> Result<bool>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<bool>>,
{
    let mut work = Some(work);
    loop {
        match cx.with(|c| begin(c)) {
            Begin::Start(id) => {
                let Some(work) = work.take() else {
                    return Err(wrong_input());
                };
                let out = work().await;
                OUTCOMES.with(|o| o.borrow_mut().push((id, out.clone())));
                super::timeline::end(id);
                return out;
            }
            Begin::Join(id) => return cx.wait(id).await,
            Begin::After(id) | Begin::Taken(id) => {
                let _ = cx.wait(id).await;
            }
        }
    }
}

/// `accessToken(access)`.
async fn access_token(cx: &Ctx, access: &mut Access) -> Result<String> {
    loop {
        let plan = cx.with(|c| c.access_plan(access, cx.now()))?;
        let stale = match plan {
            AccessPlan::Use(t) => return Ok(t),
            AccessPlan::Refresh => refresh_shared(cx, access).await?,
            AccessPlan::Renew => renew(cx, access).await?,
        };
        if !stale {
            return cx.with(|c| c.access_token(access, true));
        }
    }
}

/// `renew(access)`.
async fn renew(cx: &Ctx, access: &Access) -> Result<bool> {
    let timeout = cx.with(|c| c.config.silent_timeout_ms);
    fly(
        cx,
        |c| c.flight(Kind::Renewal, access),
        || async {
            let r = silent(
                cx,
                AuthorizeOptions::default(),
                LoginKind::Renewal,
                Some(access),
                timeout,
            )
            .await?;
            match r {
                None => cx.with(|c| c.access_token(access, false)).map(|_| false),
                Some(f) => Ok(f.stale),
            }
        },
    )
    .await
}

/// `refreshShared(access)` (its `fly` written out: the work needs `access` mutably).
async fn refresh_shared(cx: &Ctx, access: &mut Access) -> Result<bool> {
    loop {
        match cx.with(|c| c.flight(Kind::Refresh, access)) {
            Begin::Start(id) => {
                let lock = cx.with(|c| c.lock_name());
                cx.perform(Action::Lock(lock)).await;
                let out = refresh_locked(cx, access).await;
                OUTCOMES.with(|o| o.borrow_mut().push((id, out.clone())));
                super::timeline::end(id);
                return out;
            }
            Begin::Join(id) => return cx.wait(id).await,
            Begin::After(id) | Begin::Taken(id) => {
                let _ = cx.wait(id).await;
            }
        }
    }
}

/// `refreshLocked(access)`.
async fn refresh_locked(cx: &Ctx, access: &mut Access) -> Result<bool> {
    online(cx).await?;
    adopt_shared(cx).await?;
    let plan = cx.with(|c| c.refresh_plan(access, cx.now()))?;
    let RefreshPlan::Send { dpop_jkt } = plan else {
        return Ok(false);
    };
    cx.require_key(dpop_jkt).await?;
    let mut attempt = 0;
    let answer = loop {
        let answer = cx.send(&|c, now| c.refresh_request(access, now)).await?;
        match cx.with(|c| c.refresh_retry_ms(&answer, attempt)) {
            Some(ms) => {
                cx.perform(Action::Sleep(ms)).await;
                attempt += 1;
            }
            None => break answer,
        }
    };
    match cx.with(|c| c.refreshed(access, answer, cx.now()))? {
        Refreshed::Stale(revoke) => {
            for request in revoke {
                let _ = cx.http(request).await;
            }
            Ok(true)
        }
        Refreshed::Stored(effects) => cx.apply(effects).await.map(|()| false),
        Refreshed::Verify(mut v) => {
            cx.verify(&mut v).await?;
            match cx.with(|c| c.adopt(&mut v, cx.now()))? {
                Adopted::Applied(effects, _) => cx.apply(effects).await.map(|()| false),
                Adopted::Stale => Ok(true),
            }
        }
    }
}

/// `follow()`.
async fn follow(cx: &Ctx) -> Result<bool> {
    fly(
        cx,
        |c| c.flight(Kind::Follow, &Access::default()),
        || async {
            let key = cx.with(|c| c.session_storage_key());
            loop {
                let since = cx.with(|c| c.since());
                let stored = cx.read_one(Store::Tokens, key.clone()).await?;
                match cx.with(|c| c.notified(stored, since)) {
                    Shared::Stale => continue,
                    Shared::Same => return Ok(false),
                    Shared::Ended(effects) => return cx.apply(effects).await.map(|()| false),
                    Shared::Verify(mut v) => {
                        cx.verify(&mut v).await?;
                        match cx.with(|c| c.adopt(&mut v, cx.now()))? {
                            Adopted::Stale => continue,
                            Adopted::Applied(effects, _) => return cx.apply(effects).await.map(|()| false),
                        }
                    }
                }
            }
        },
    )
    .await
}

/// `adoptShared()`.
async fn adopt_shared(cx: &Ctx) -> Result<()> {
    let (key, shared) = cx.with(|c| (c.session_storage_key(), c.stores.shared_by_tabs()));
    loop {
        let since = cx.with(|c| c.since());
        let handed = match shared {
            true => match cx.perform(Action::Handoff(key.clone())).await {
                Input::Values(mut v) => v.pop().flatten(),
                _ => None,
            },
            false => None,
        };
        let stored = cx.read_one(Store::Tokens, key.clone()).await?;
        match cx.with(|c| c.shared(handed, stored, since)) {
            Shared::Stale => continue,
            Shared::Same => return Ok(()),
            Shared::Ended(effects) => return cx.apply(effects).await,
            Shared::Verify(mut v) => {
                cx.verify(&mut v).await?;
                match cx.with(|c| c.adopt(&mut v, cx.now()))? {
                    Adopted::Stale => continue,
                    Adopted::Applied(effects, _) => return cx.apply(effects).await,
                }
            }
        }
    }
}

/// `revoke(what)`.
async fn revoke(cx: &Ctx, what: Revocation) -> Result<()> {
    online(cx).await?;
    if what == Revocation::Tokens {
        cx.with(|c| c.check_revocation())?;
    }
    for request in cx.with(|c| c.revocations(what)) {
        let answer = cx.http(request).await?;
        cx.with(|c| c.revoked(answer, what))?;
    }
    Ok(())
}

/// `logout(opts)`.
async fn logout(cx: &Ctx, return_to: Option<String>, origin: Option<String>) -> Result<()> {
    cx.with(|c| c.check_logout(return_to.as_deref(), origin.as_deref()))?;
    let effects = cx.with(|c| c.end_session());
    cx.apply(effects).await?;
    online(cx).await?;
    let target = cx.with(|c| c.logout_target(return_to.as_deref(), origin.as_deref()))?;
    let _ = revoke(cx, Revocation::Logout).await;
    if let Some(url) = target {
        if let Input::Refused(what, why) = cx.perform(Action::Open(url)).await {
            return Err(super::driver_failure(what, why, false));
        }
    }
    Ok(())
}

/// `bindingKey()`.
async fn binding_key(cx: &Ctx) -> Result<()> {
    let jkt = cx.with(|c| c.binding())?;
    cx.require_key(jkt).await
}
