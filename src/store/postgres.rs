//! The shared store: a PostgreSQL database.

use super::{Backend, Location, StoreError};

/// Connects to the PostgreSQL store at `url`.
pub(super) fn open(url: &str) -> Result<Box<dyn Backend>, StoreError> {
    Err(StoreError::new(
        &Location::Postgres(url.to_owned()),
        "PostgreSQL stores are not built yet",
    ))
}
