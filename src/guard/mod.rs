//! Placeholder: the read-only SQL guard (being written).
