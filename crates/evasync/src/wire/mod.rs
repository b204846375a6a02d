//! The compact formats a binding uses to move the reactor's events out and its own operations
//! in, in bulk: one call per turn each way instead of one per event or operation. Defined here,
//! once, with their encoders, decoders and tests; a binding mirrors the numbers in its own
//! language (the Node binding generates them from these definitions).

pub mod events;
pub mod ops;
