//! Placeholder: the SQLite adapter is being written.
