//! The file browser's service: listing a folder or a search in pages (keyset, never OFFSET),
//! folders (create, rename, move, delete), renaming and moving files, the trash (files keep
//! the folder path they were deleted from and come back there), details with history, and
//! the purge that deletes trashed objects for good. Every function checks the actor first.
//!
//! One file per part, where a newcomer would look for it; this module publishes them all
//! under `files::service`.
mod changes;
mod details;
mod folders;
mod listing;
mod records;
mod trash;

pub use changes::*;
pub use details::*;
pub use folders::*;
pub use listing::*;
pub use records::*;
pub use trash::*;
