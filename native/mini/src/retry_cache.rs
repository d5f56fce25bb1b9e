//! The master's memory of recent mutating requests, keyed by req_id, so a
//! retransmitted request is not executed twice.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// How long an outcome is remembered (Curvine's default).
const TTL: Duration = Duration::from_secs(600);
/// Entries kept before the oldest are forgotten (Curvine's default).
const CAPACITY: usize = 100_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Seen {
    /// First sighting: run the request, then call `finish`.
    New,
    /// The same req_id is being executed right now.
    InProgress,
    /// It already succeeded: answer with a substitute, do not run it again.
    Succeeded,
}

#[derive(Default)]
pub struct RetryCache {
    entries: HashMap<i64, (Instant, bool)>,
}

impl RetryCache {
    /// Looks `req_id` up and marks a first sighting as in progress.
    pub fn begin(&mut self, req_id: i64) -> Seen {
        let now = Instant::now();
        if self.entries.len() >= CAPACITY {
            self.entries
                .retain(|_, (at, _)| now.duration_since(*at) < TTL);
            if self.entries.len() >= CAPACITY {
                self.entries.clear();
            }
        }

        match self.entries.get(&req_id) {
            Some((at, done)) if now.duration_since(*at) < TTL => {
                if *done {
                    Seen::Succeeded
                } else {
                    Seen::InProgress
                }
            }
            _ => {
                self.entries.insert(req_id, (now, false));
                Seen::New
            }
        }
    }

    /// Records the outcome; a failed request may be run again.
    pub fn finish(&mut self, req_id: i64, succeeded: bool) {
        if succeeded {
            self.entries.insert(req_id, (Instant::now(), true));
        } else {
            self.entries.remove(&req_id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_are_remembered_and_failures_forgotten() {
        let mut cache = RetryCache::default();
        assert_eq!(cache.begin(7), Seen::New);
        assert_eq!(cache.begin(7), Seen::InProgress);
        cache.finish(7, true);
        assert_eq!(cache.begin(7), Seen::Succeeded);
        assert_eq!(cache.begin(8), Seen::New);
        cache.finish(8, false);
        assert_eq!(cache.begin(8), Seen::New);
    }
}
