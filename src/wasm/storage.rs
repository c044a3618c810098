//! Where pending logins wait: sessionStorage, localStorage, or this page's memory.

use std::cell::RefCell;
use std::collections::BTreeMap;

use crate::config::StorageKind;
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
