//! Typed values a stage leaves for later stages (a container id, generated passwords,
//! cloned repositories), one per type.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::Mutex;

/// A map from a type to one value of it.
#[derive(Default)]
pub struct Vars {
    map: Mutex<HashMap<TypeId, Box<dyn Any + Send + Sync>>>,
}

impl Vars {
    /// Stores `value`, replacing any earlier value of its type.
    pub fn insert<T: Any + Send + Sync>(&self, value: T) {
        self.lock().insert(TypeId::of::<T>(), Box::new(value));
    }

    /// A copy of the stored value of type `T`.
    pub fn get<T: Any + Send + Sync + Clone>(&self) -> Option<T> {
        self.lock()
            .get(&TypeId::of::<T>())
            .and_then(|b| b.downcast_ref::<T>())
            .cloned()
    }

    /// Removes and returns the stored value of type `T`.
    pub fn take<T: Any + Send + Sync>(&self) -> Option<T> {
        self.lock()
            .remove(&TypeId::of::<T>())
            .and_then(|b| b.downcast::<T>().ok())
            .map(|b| *b)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<TypeId, Box<dyn Any + Send + Sync>>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl std::fmt::Debug for Vars {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Vars({} values)", self.lock().len())
    }
}

#[cfg(test)]
mod tests {
    use super::Vars;

    #[derive(Clone, Debug, PartialEq)]
    struct ContainerId(String);

    #[test]
    fn one_value_per_type() {
        let v = Vars::default();
        assert_eq!(v.get::<ContainerId>(), None);
        v.insert(ContainerId("a".into()));
        v.insert(ContainerId("b".into()));
        v.insert(7u32);
        assert_eq!(v.get::<ContainerId>(), Some(ContainerId("b".into())));
        assert_eq!(v.take::<u32>(), Some(7));
        assert_eq!(v.get::<u32>(), None);
    }
}
