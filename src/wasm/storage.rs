//! Where pending logins wait: sessionStorage, localStorage, or this page's memory.

use std::cell::RefCell;
use std::collections::BTreeMap;

use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::config::{parse_storage_kind, StorageKind};
use crate::error::{code, AuthError, Result};

thread_local! {
    /// "memory" storage: one map per page, shared by the page's clients.
    static MEMORY: RefCell<BTreeMap<String, String>> = const { RefCell::new(BTreeMap::new()) };
}

pub enum Store {
    Web(web_sys::Storage),
    Memory,
}

fn storage_error(what: &str) -> AuthError {
    AuthError::new(code::STORAGE_ERROR, format!("Web Storage refused to {what}"))
}

impl Store {
    pub fn open(kind: StorageKind) -> Result<Store> {
        let window =
            || web_sys::window().ok_or_else(|| storage_error("open: there is no window (use \"memory\")"));
        let storage = match kind {
            StorageKind::Memory => return Ok(Store::Memory),
            StorageKind::Session => window()?.session_storage(),
            StorageKind::Local => window()?.local_storage(),
        };
        match storage {
            Ok(Some(s)) => Ok(Store::Web(s)),
            _ => Err(storage_error("open (it is disabled or blocked in this context)")),
        }
    }

    pub fn get(&self, key: &str) -> Result<Option<String>> {
        match self {
            Store::Web(s) => s.get_item(key).map_err(|_| storage_error("read")),
            Store::Memory => Ok(MEMORY.with(|m| m.borrow().get(key).cloned())),
        }
    }

    pub fn set(&self, key: &str, value: &str) -> Result<()> {
        match self {
            Store::Web(s) => s
                .set_item(key, value)
                .map_err(|_| storage_error("write (is it full?)")),
            Store::Memory => {
                MEMORY.with(|m| m.borrow_mut().insert(key.to_string(), value.to_string()));
                Ok(())
            }
        }
    }

    pub fn remove(&self, key: &str) -> Result<()> {
        match self {
            Store::Web(s) => s.remove_item(key).map_err(|_| storage_error("remove an entry")),
            Store::Memory => {
                MEMORY.with(|m| m.borrow_mut().remove(key));
                Ok(())
            }
        }
    }

    /// Every key, to find the transactions of a client.
    pub fn keys(&self) -> Result<Vec<String>> {
        match self {
            Store::Web(s) => {
                let n = s.length().map_err(|_| storage_error("list its keys"))?;
                let mut keys = Vec::with_capacity(n as usize);
                for i in 0..n {
                    if let Ok(Some(k)) = s.key(i) {
                        keys.push(k);
                    }
                }
                Ok(keys)
            }
            Store::Memory => Ok(MEMORY.with(|m| m.borrow().keys().cloned().collect())),
        }
    }
}

/// Where the signed-in session (and the cached key set) is kept between page loads.
pub enum TokenStore {
    /// Only in the client object: gone on reload.
    Memory,
    Web(web_sys::Storage),
    /// The app's `{ get(key), set(key, value), remove(key) }`; each may return a promise.
    Adapter(js_sys::Object),
}

impl TokenStore {
    /// `tokenStorage`: undefined (memory), "memory" | "session" | "local", or an adapter object.
    pub fn from_option(value: &JsValue) -> Result<TokenStore> {
        if value.is_undefined() || value.is_null() {
            return Ok(TokenStore::Memory);
        }
        if let Some(s) = value.as_string() {
            return match parse_storage_kind(Some(&s), "tokenStorage")? {
                StorageKind::Memory => Ok(TokenStore::Memory),
                kind => match Store::open(kind)? {
                    Store::Web(s) => Ok(TokenStore::Web(s)),
                    Store::Memory => Ok(TokenStore::Memory),
                },
            };
        }
        let obj: js_sys::Object = value.clone().dyn_into().map_err(|_| bad_adapter())?;
        for m in ["get", "set", "remove"] {
            if !js_sys::Reflect::get(&obj, &m.into()).is_ok_and(|f| f.is_function()) {
                return Err(bad_adapter());
            }
        }
        Ok(TokenStore::Adapter(obj))
    }

    pub fn persists(&self) -> bool {
        !matches!(self, TokenStore::Memory)
    }

    async fn call(obj: &js_sys::Object, method: &str, args: &[&str]) -> Result<JsValue> {
        let f: js_sys::Function = js_sys::Reflect::get(obj, &method.into())
            .ok()
            .and_then(|f| f.dyn_into().ok())
            .ok_or_else(bad_adapter)?;
        let args: js_sys::Array = args.iter().map(|a| JsValue::from_str(a)).collect();
        let out = f
            .apply(obj, &args)
            .map_err(|_| storage_error(&format!("{method} (the tokenStorage adapter threw)")))?;
        if out.has_type::<js_sys::Promise>() {
            JsFuture::from(js_sys::Promise::from(out)).await.map_err(|_| {
                storage_error(&format!("{method} (the tokenStorage adapter's promise rejected)"))
            })
        } else {
            Ok(out)
        }
    }

    pub async fn get(&self, key: &str) -> Result<Option<String>> {
        match self {
            TokenStore::Memory => Ok(None),
            TokenStore::Web(s) => s.get_item(key).map_err(|_| storage_error("read")),
            TokenStore::Adapter(o) => Ok(Self::call(o, "get", &[key]).await?.as_string()),
        }
    }

    pub async fn set(&self, key: &str, value: &str) -> Result<()> {
        match self {
            TokenStore::Memory => Ok(()),
            TokenStore::Web(s) => s
                .set_item(key, value)
                .map_err(|_| storage_error("write (is it full?)")),
            TokenStore::Adapter(o) => Self::call(o, "set", &[key, value]).await.map(|_| ()),
        }
    }

    pub async fn remove(&self, key: &str) -> Result<()> {
        match self {
            TokenStore::Memory => Ok(()),
            TokenStore::Web(s) => s.remove_item(key).map_err(|_| storage_error("remove an entry")),
            TokenStore::Adapter(o) => Self::call(o, "remove", &[key]).await.map(|_| ()),
        }
    }
}

fn bad_adapter() -> AuthError {
    AuthError::new(
        code::INVALID_CONFIG,
        "`tokenStorage` must be \"memory\", \"session\", \"local\" or an object with get, set and remove methods",
    )
}
