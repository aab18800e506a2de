//! The file browser: breadcrumbs, search and filters, the listing (folders first, sortable
//! columns, pages loaded on demand), selection (click, shift-click, ctrl/cmd-click, all
//! matching), bulk move / delete / download, drag onto a folder, the details panel and the
//! keyboard (arrows, Enter, Space, Delete, `/`). The view lives in the URL query.
//!
//! One file per part of the page; the listing puts them together.
mod details;
mod dialogs;
mod listing;
mod navigation;
mod rows;
mod trash;

pub use listing::Listing;
pub use rows::{details_href, state_label};
pub use trash::TrashPage;
