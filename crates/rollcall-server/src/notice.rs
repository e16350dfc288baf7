//! What live subscribers are told besides attendance changes. A module of its own so that
//! the parts that send notices (the tunnel, the settings followers) need not know the state
//! that carries the channel.

/// Messages for live subscribers other than attendance changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// Names of students, classes, courses or statuses changed: fetch /api/reference again.
    Reference,
    /// Something in /api/status changed (storage, tunnel, settings).
    Status,
    /// An administrator changed a person (role, schools, disabled): each signed-in stream
    /// looks at its session at once instead of at its next periodic check. Not sent to clients.
    People,
    /// The lesson cutoff passed today with lessons still without attendance (once per cutoff
    /// per day, see `lesson_cutoff`).
    LessonsNotTaken(crate::lesson_cutoff::LessonsNotTakenNotice),
}
