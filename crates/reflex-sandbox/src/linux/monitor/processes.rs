//! What the supervisor knows of the build's processes: who each one is (from its exec
//! records, checked against `/proc/<pid>/exe`) and its ancestry up to the command, read
//! while the caller is stopped.

use crate::ChainLink;
use std::collections::HashMap;

/// The sentinel that ends an ancestry the supervisor lost (a process adopted by the init
/// before its first call was seen): never the command, so never cargo.
const LOST: ChainLink = ChainLink {
    pid: 0,
    exe: None,
    argv: Vec::new(),
};

/// The process a thread belongs to, from `/proc/<tid>/status`.
fn tgid(tid: u32) -> Option<u32> {
    let s = std::fs::read_to_string(format!("/proc/{tid}/status")).ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix("Tgid:"))
        .and_then(|v| v.trim().parse().ok())
}

/// `(ppid, start time)` of a process, from `/proc/<pid>/stat`.
pub(super) fn parent_and_start(p: u32) -> Option<(u32, u64)> {
    let s = std::fs::read_to_string(format!("/proc/{p}/stat")).ok()?;
    let rest = s.rsplit(')').next()?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the command: state(0) ppid(1) ... starttime is field 22 of stat, index 19 here.
    Some((fields.get(1)?.parse().ok()?, fields.get(19)?.parse().ok()?))
}

/// An ancestry: a process, then its ancestors, nearest first.
pub(super) type Chain = Vec<ChainLink>;

/// What the supervisor knows of the build's processes. Keys are `(pid, start time)`: a
/// reused pid is another process.
#[derive(Default)]
pub(super) struct Processes {
    /// The command the sandbox started: the top of every complete ancestry.
    pub(super) command: (u32, u64),
    /// What each process exec'd: the executable it runs (`/proc/<pid>/exe` once it does)
    /// and its arguments. A record counts only while `/proc/<pid>/exe` names that
    /// executable (an exec that failed leaves no false identity behind).
    pub(super) execs: HashMap<(u32, u64), (String, Vec<String>)>,
    /// Each process's ancestors, nearest first, as first seen (kept when it execs, and when
    /// its parents are gone: a double-forked daemon keeps the ancestry it had).
    above: HashMap<(u32, u64), Chain>,
    /// Threads: `(tid, start)` -> `(pid, start)` of their process.
    threads: HashMap<(u32, u64), (u32, u64)>,
}

impl Processes {
    /// `(pid, start, ppid)` of the process thread `tid` belongs to.
    pub(super) fn identity(&mut self, tid: u32) -> Option<(u32, u64, u32)> {
        let (ppid, start) = parent_and_start(tid)?;
        let (pid, pstart) = match self.threads.get(&(tid, start)) {
            Some(k) => *k,
            None => {
                let pid = tgid(tid).unwrap_or(tid);
                let pstart = if pid == tid {
                    start
                } else {
                    parent_and_start(pid)?.1
                };
                self.threads.insert((tid, start), (pid, pstart));
                (pid, pstart)
            }
        };
        // A thread's parent is its process's parent.
        Some((pid, pstart, ppid))
    }

    /// The kernel's executable link and, when it still matches, the recorded arguments.
    fn link(&self, pid: u32, start: u64) -> ChainLink {
        let exe = std::fs::read_link(format!("/proc/{pid}/exe"))
            .ok()
            .map(|e| e.to_string_lossy().into_owned());
        let argv = match (&exe, self.execs.get(&(pid, start))) {
            (Some(e), Some((recorded, argv))) if e == recorded => argv.clone(),
            _ => Vec::new(),
        };
        ChainLink { pid, exe, argv }
    }

    /// Records an exec by thread `tid` (its process keeps its pid and start time).
    pub(super) fn exec(&mut self, tid: u32, runs: String, argv: Vec<String>) {
        if let Some((pid, start, _)) = self.identity(tid) {
            self.execs.insert((pid, start), (runs, argv));
        }
    }

    /// The caller's process and its ancestors up to the command, nearest first, read while
    /// the caller is stopped; [`LOST`] ends an ancestry that never reached the command.
    pub(super) fn chain(&mut self, tid: u32) -> Chain {
        let Some((pid, start, ppid)) = self.identity(tid) else {
            return vec![
                ChainLink {
                    pid: tid,
                    ..ChainLink::default()
                },
                LOST,
            ];
        };
        let mut me = self.link(pid, start);
        if (pid, start) == self.command {
            return vec![me];
        }
        let mut above = self.above(pid, start, ppid);
        if above.last().is_some_and(|l| l.pid == 0)
            && let Some(found) = self.adopted(&me)
        {
            self.above.insert((pid, start), found.clone());
            above = found;
        }
        inherit(&mut me, above.first());
        std::iter::once(me).chain(above).collect()
    }

    /// The ancestry of a process the init adopted before its first reported call, when its
    /// executable tells: a fork keeps its executable (nothing in the process can change
    /// `/proc/<pid>/exe`: `PR_SET_MM` is refused), and a compiled build script's path names
    /// one run, whose ancestry was recorded at its exec. Used only when exactly one recorded
    /// exec ran that file (a second run, by whoever, makes it ambiguous: lost).
    fn adopted(&self, me: &ChainLink) -> Option<Chain> {
        let exe = me.exe.as_deref()?;
        reflex_sandbox_contract::target::build_script_crate(exe)?;
        let mut runs = self.execs.iter().filter(|(_, (runs, _))| runs == exe);
        let (key, (_, argv)) = runs.next()?;
        if runs.next().is_some() {
            return None;
        }
        let above = self.above.get(key)?;
        if above.last().is_none_or(|l| l.pid == 0) {
            return None;
        }
        let script = ChainLink {
            pid: key.0,
            exe: Some(exe.to_string()),
            argv: argv.clone(),
        };
        Some(
            std::iter::once(script)
                .chain(above.iter().cloned())
                .collect(),
        )
    }

    /// The ancestors of process `(pid, start)` (whose parent is `ppid`), nearest first, up to
    /// the command or ending with [`LOST`]; remembered for it and for every ancestor walked.
    fn above(&mut self, pid: u32, start: u64, ppid: u32) -> Chain {
        if let Some(c) = self.above.get(&(pid, start)) {
            return c.clone();
        }
        let mut walked: Vec<(ChainLink, (u32, u64))> = Vec::new();
        let mut tail = vec![LOST];
        let mut p = ppid;
        for _ in 0..32 {
            // The init adopts orphans: their ancestry is lost unless it was seen before.
            if p <= 1 && p != self.command.0 {
                break;
            }
            let Some((pp, ps)) = parent_and_start(p) else {
                break;
            };
            let key = (p, ps);
            walked.push((self.link(p, ps), key));
            if key == self.command {
                tail = Vec::new();
                break;
            }
            if let Some(c) = self.above.get(&key) {
                tail = c.clone();
                break;
            }
            p = pp;
        }
        let keys: Vec<(u32, u64)> = walked.iter().map(|(_, k)| *k).collect();
        let mut chain: Chain = walked.into_iter().map(|(l, _)| l).chain(tail).collect();
        // A fork that has not exec'd runs its parent's program with its parent's arguments.
        for i in (0..chain.len().saturating_sub(1)).rev() {
            let (a, b) = chain.split_at_mut(i + 1);
            inherit(&mut a[i], b.first());
        }
        self.above.insert((pid, start), chain.clone());
        for (k, key) in keys.into_iter().enumerate() {
            self.above
                .entry(key)
                .or_insert_with(|| chain[k + 1..].to_vec());
        }
        chain
    }
}

/// A fork that has not exec'd: its parent's program, and so its parent's arguments.
fn inherit(me: &mut ChainLink, parent: Option<&ChainLink>) {
    if let Some(p) = parent
        && me.argv.is_empty()
        && me.exe.is_some()
        && me.exe == p.exe
    {
        me.argv = p.argv.clone();
    }
}
