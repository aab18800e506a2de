//! The upload queue's state: each file's phase and progress, the totals, the interrupted
//! uploads waiting for their file. The engine (`uploads::engine`, in the browser) changes it;
//! the view (`uploads::ui`) renders it. Compiled for the server too, which renders the page.
use super::{Meter, OpenUpload};
use leptos::prelude::*;

/// Where one file of the queue is.
#[derive(Clone, Debug, PartialEq)]
pub enum Phase {
    Queued,
    /// Computing the SHA-256 of a small file before it starts (to find duplicates).
    Hashing,
    Uploading,
    /// A part failed and is being sent again after a pause; the reason is shown.
    Retrying(String),
    Paused,
    Verifying,
    /// A file with this content is already in the folder (its name); the person chooses.
    Duplicate(String),
    /// Stored under this name.
    Done(String),
    Skipped,
    Cancelled,
    Failed(String),
}

impl Phase {
    /// Still to finish (counts for "leave the page?" and the tab title).
    pub fn unfinished(&self) -> bool {
        !matches!(
            self,
            Phase::Done(_) | Phase::Skipped | Phase::Cancelled | Phase::Failed(_)
        )
    }
}

/// One file in the queue. Its phase and meter are signals of their own, so progress redraws
/// one row, not the list.
#[derive(Clone)]
pub struct Item {
    pub key: u64,
    pub name: String,
    pub folder_path: String,
    pub size: i64,
    pub phase: RwSignal<Phase>,
    pub meter: RwSignal<Meter>,
}

/// The page's upload queue (owned by the page, so it outlives re-renders of the uploader).
#[derive(Clone, Copy)]
pub struct Queue {
    pub items: RwSignal<Vec<Item>>,
    /// Bytes of every file queued in this visit (skipped and cancelled ones leave).
    pub total: RwSignal<Meter>,
    /// Unfinished uploads from an earlier visit, waiting for their file.
    pub open: RwSignal<Vec<OpenUpload>>,
    /// Parts in flight at once (a setting kept in the browser).
    pub parallel: RwSignal<usize>,
    /// The page's reactive owner: rows made from an event handler must not die with the
    /// uploader component when the page re-renders it.
    pub owner: StoredValue<Option<Owner>>,
}

impl Default for Queue {
    fn default() -> Self {
        Self::new()
    }
}

impl Queue {
    /// A bare queue: pages make theirs with `ui::page_queue`, which also installs the
    /// engine's page-wide hooks (the tab title, the "leave the page?" guard).
    pub fn new() -> Self {
        Queue {
            items: RwSignal::new(Vec::new()),
            total: RwSignal::new(Meter::new(0)),
            open: RwSignal::new(Vec::new()),
            parallel: RwSignal::new(DEFAULT_PARALLEL),
            owner: StoredValue::new(Owner::current()),
        }
    }

    /// (unfinished files, all files) in the queue.
    pub fn counts(&self) -> (usize, usize) {
        self.items.with(|items| {
            let open = items
                .iter()
                .filter(|i| i.phase.with(|p| p.unfinished()))
                .count();
            (open, items.len())
        })
    }

    /// Files that stopped with an error.
    pub fn failed(&self) -> usize {
        self.items.with(|items| {
            items
                .iter()
                .filter(|i| i.phase.with(|p| matches!(p, Phase::Failed(_))))
                .count()
        })
    }

    /// Unfinished files now, without subscribing (for callbacks).
    pub fn unfinished_untracked(&self) -> usize {
        self.items.with_untracked(|items| {
            items
                .iter()
                .filter(|i| i.phase.with_untracked(|p| p.unfinished()))
                .count()
        })
    }
}

/// Parts in flight at once unless the person chose otherwise.
pub const DEFAULT_PARALLEL: usize = 4;
