//! Key-value storage for pending logins and sessions: Web Storage, this page's
//! memory, or the app's own adapter (e.g. over Capacitor Preferences), whose
//! methods may return promises.

use js_sys::{Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::config::{parse_storage_kind, StorageKind};
use crate::error::{code, AuthError, Result};

#[wasm_bindgen(module = "/src/wasm/glue.js")]
extern "C" {
    /// One get/set/remove/keys on a store (src/wasm/glue.js): the value, or a
    /// promise of it from an adapter; throws the words of a refusal.
    #[wasm_bindgen(js_name = storeOp, catch)]
    fn store_op(
        target: &JsValue,
        op: &str,
        key: &str,
        value: Option<&str>,
    ) -> std::result::Result<JsValue, JsValue>;
}

pub enum KvStore {
    /// Nothing is kept (the session lives only in the client object).
    Nothing,
    /// This page's memory.
    Page,
    Web(JsValue),
    /// `{ get(key), set(key, value), remove(key), keys?() }`.
    Adapter(Object),
}

fn storage_error(what: &str) -> AuthError {
    AuthError::new(code::STORAGE_ERROR, msg!("the storage refused to {what}"))
}

fn bad_adapter(name: &str) -> AuthError {
    AuthError::new(
        code::INVALID_CONFIG,
        msg!("`{name}` must be \"memory\", \"session\", \"local\" or an object with get, set and remove methods"),
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
            Ok(Some(s)) => Ok(KvStore::Web(s.into())),
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

    /// The store as src/wasm/glue.js's `storeOp` knows it. (The operations
    /// are JS there: the Web Storage and adapter bindings cost more here.)
    async fn op(&self, op: &str, key: &str, value: Option<&str>) -> Result<JsValue> {
        let target = match self {
            KvStore::Nothing => JsValue::NULL,
            KvStore::Page => JsValue::from_str("page"),
            KvStore::Web(s) => s.clone(),
            KvStore::Adapter(o) => o.clone().into(),
        };
        let refused = |e: JsValue| storage_error(&e.as_string().unwrap_or_else(|| op.to_string()));
        let out = store_op(&target, op, key, value).map_err(refused)?;
        if out.has_type::<Promise>() {
            JsFuture::from(Promise::from(out)).await.map_err(refused)
        } else {
            Ok(out)
        }
    }

    pub async fn get(&self, key: &str) -> Result<Option<String>> {
        Ok(self.op("get", key, None).await?.as_string())
    }

    pub async fn set(&self, key: &str, value: &str) -> Result<()> {
        self.op("set", key, Some(value)).await.map(|_| ())
    }

    pub async fn remove(&self, key: &str) -> Result<()> {
        self.op("remove", key, None).await.map(|_| ())
    }

    /// Every key, or `None` for an adapter without a `keys()` method
    /// (Capacitor Preferences has one; its result may be `{ keys: [...] }`).
    pub async fn keys(&self) -> Result<Option<Vec<String>>> {
        let out = self.op("keys", "", None).await?;
        if out.is_null() {
            return Ok(None);
        }
        Ok(Some(
            js_sys::Array::from(&out)
                .iter()
                .filter_map(|k| k.as_string())
                .collect(),
        ))
    }
}
