//! Placeholder: the demo warehouse generator (being written).
