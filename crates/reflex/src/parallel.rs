//! One small worker pool for the fan-outs over a graph (index lookups, archive analyses).

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Applies `f` to every item on up to `workers` threads and returns the results in input
/// order; `progress(done, total)` is called after each item.
pub fn map<T: Sync, R: Send>(
    items: &[T],
    workers: usize,
    progress: &(dyn Fn(usize, usize) + Sync),
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let slots: Vec<Mutex<Option<R>>> = items.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..workers.max(1).min(items.len().max(1)) {
            s.spawn(|| {
                loop {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(k) else { break };
                    let result = f(item);
                    *slots[k].lock().unwrap_or_else(|e| e.into_inner()) = Some(result);
                    progress(done.fetch_add(1, Ordering::Relaxed) + 1, items.len());
                }
            });
        }
    });
    slots
        .into_iter()
        .map(|m| {
            m.into_inner()
                .unwrap_or_else(|e| e.into_inner())
                .expect("every item was processed")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn keeps_order_and_reports_progress() {
        let seen = std::sync::atomic::AtomicUsize::new(0);
        let out = super::map(
            &[1, 2, 3, 4, 5],
            3,
            &|_, total| {
                assert_eq!(total, 5);
                seen.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            },
            |x| x * 10,
        );
        assert_eq!(out, vec![10, 20, 30, 40, 50]);
        assert_eq!(seen.into_inner(), 5);
    }
}
