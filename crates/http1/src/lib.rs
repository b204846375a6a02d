//! Sans-IO HTTP/1.1 for evasync: request heads, body framing and the connection state machine.
//!
//! This crate does no IO: every entry point takes bytes and returns a decision. It is filled in by the
//! HTTP server issue; for now it only reserves its place in the workspace.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
