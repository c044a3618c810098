//! Key-value storage for pending logins and sessions: Web Storage, this page's
//! memory, or the app's own adapter (e.g. over Capacitor Preferences), whose
//! methods may return promises.

use std::cell::RefCell;

use js_sys::{Function, Object, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use super::few::Few;
use crate::config::{parse_storage_kind, StorageKind};
use crate::error::{code, AuthError, Result};

thread_local! {
    /// "memory" transaction storage: one map per page, shared by the page's clients.
    static PAGE: RefCell<Few<String, String>> = const { RefCell::new(Few::new()) };
}

pub enum KvStore {
    /// Nothing is kept (the session lives only in the client object).
    Nothing,
    /// This page's memory.
    Page,
    Web(web_sys::Storage),
    /// `{ get(key), set(key, value), remove(key), keys?() }`.
    Adapter(Object),
}

fn storage_error(what: &str) -> AuthError {
    AuthError::new(code::STORAGE_ERROR, format!("the storage refused to {what}"))
}

fn bad_adapter(name: &str) -> AuthError {
    AuthError::new(
        code::INVALID_CONFIG,
        format!("`{name}` must be \"memory\", \"session\", \"local\" or an object with get, set and remove methods"),
    )
}

impl KvStore {
    pub fn open_web(kind: StorageKind) -> Result<KvStore> {
        let window =
            || web_sys::window().ok_or_else(|| storage_error("open: there is no window (use \"memory\")"));
        let storage = match kind {
            StorageKind::Memory => return Ok(KvStore::Page),
            StorageKind::Session => window()?.session_storage(),
            StorageKind::Local => window()?.local_storage(),
        };
        match storage {
            Ok(Some(s)) => Ok(KvStore::Web(s)),
            _ => Err(storage_error("open (Web Storage is disabled or blocked here)")),
        }
    }

    /// An option value: undefined (→ `default`), "memory" | "session" | "local", or an adapter.
    /// `memory` is what "memory" means for this use.
    pub fn from_option(
        value: &JsValue,
        name: &str,
        default: StorageKind,
        memory: KvStore,
    ) -> Result<KvStore> {
        let kind = if value.is_undefined() || value.is_null() {
            default
        } else if let Some(s) = value.as_string() {
            parse_storage_kind(Some(&s), name)?
        } else {
            let obj: Object = value.clone().dyn_into().map_err(|_| bad_adapter(name))?;
            for m in ["get", "set", "remove"] {
                if !Reflect::get(&obj, &m.into()).is_ok_and(|f| f.is_function()) {
                    return Err(bad_adapter(name));
                }
            }
            return Ok(KvStore::Adapter(obj));
        };
        match kind {
            StorageKind::Memory => Ok(memory),
            kind => KvStore::open_web(kind),
        }
    }

    /// True when what is stored outlives the page.
    pub fn persists(&self) -> bool {
        matches!(self, KvStore::Web(_) | KvStore::Adapter(_))
    }

    async fn call(obj: &Object, method: &str, args: &[&str]) -> Result<JsValue> {
        let f: Function = Reflect::get(obj, &method.into())
            .ok()
            .and_then(|f| f.dyn_into().ok())
            .ok_or_else(|| storage_error(&format!("{method}: the adapter has no such method")))?;
        let args: js_sys::Array = args.iter().map(|a| JsValue::from_str(a)).collect();
        let out = f
            .apply(obj, &args)
            .map_err(|_| storage_error(&format!("{method} (the storage adapter threw)")))?;
        if out.has_type::<Promise>() {
            JsFuture::from(Promise::from(out))
                .await
                .map_err(|_| storage_error(&format!("{method} (the storage adapter's promise rejected)")))
        } else {
            Ok(out)
        }
    }

    pub async fn get(&self, key: &str) -> Result<Option<String>> {
        match self {
            KvStore::Nothing => Ok(None),
            KvStore::Page => Ok(PAGE.with(|m| m.borrow().get(key).cloned())),
            KvStore::Web(s) => s.get_item(key).map_err(|_| storage_error("read")),
            KvStore::Adapter(o) => Ok(Self::call(o, "get", &[key]).await?.as_string()),
        }
    }

    pub async fn set(&self, key: &str, value: &str) -> Result<()> {
        match self {
            KvStore::Nothing => Ok(()),
            KvStore::Page => {
                PAGE.with(|m| m.borrow_mut().insert(key.to_string(), value.to_string()));
                Ok(())
            }
            KvStore::Web(s) => s
                .set_item(key, value)
                .map_err(|_| storage_error("write (is it full?)")),
            KvStore::Adapter(o) => Self::call(o, "set", &[key, value]).await.map(|_| ()),
        }
    }

    pub async fn remove(&self, key: &str) -> Result<()> {
        match self {
            KvStore::Nothing => Ok(()),
            KvStore::Page => {
                PAGE.with(|m| m.borrow_mut().remove(key));
                Ok(())
            }
            KvStore::Web(s) => s.remove_item(key).map_err(|_| storage_error("remove an entry")),
            KvStore::Adapter(o) => Self::call(o, "remove", &[key]).await.map(|_| ()),
        }
    }

    /// Every key, or `None` for an adapter without a `keys()` method
    /// (Capacitor Preferences has one; its result may be `{ keys: [...] }`).
    pub async fn keys(&self) -> Result<Option<Vec<String>>> {
        match self {
            KvStore::Nothing => Ok(Some(Vec::new())),
            KvStore::Page => Ok(Some(PAGE.with(|m| m.borrow().keys().cloned().collect()))),
            KvStore::Web(s) => {
                let n = s.length().map_err(|_| storage_error("list its keys"))?;
                Ok(Some((0..n).filter_map(|i| s.key(i).ok().flatten()).collect()))
            }
            KvStore::Adapter(o) => {
                if !Reflect::get(o, &"keys".into()).is_ok_and(|f| f.is_function()) {
                    return Ok(None);
                }
                let out = Self::call(o, "keys", &[]).await?;
                let list = if js_sys::Array::is_array(&out) {
                    out
                } else {
                    Reflect::get(&out, &"keys".into()).unwrap_or(JsValue::UNDEFINED)
                };
                if !js_sys::Array::is_array(&list) {
                    return Err(storage_error("list its keys (keys() gave no array)"));
                }
                Ok(Some(
                    js_sys::Array::from(&list)
                        .iter()
                        .filter_map(|k| k.as_string())
                        .collect(),
                ))
            }
        }
    }
}
