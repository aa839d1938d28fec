//! Reading the memory of a caller stopped on a notification.

use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::FileExt;

/// How many callers' memory stays open at most.
const MEM_CACHE: usize = 256;

/// Reads the memory of stopped callers. A process's `/proc/<pid>/mem` stays open between
/// its calls (opening it is most of the cost of a notification); a descriptor that no longer
/// reads (the process exited, or exec replaced its memory) is opened again.
#[derive(Default)]
pub(super) struct CallerMemory {
    files: HashMap<u32, File>,
}

impl CallerMemory {
    /// Up to `len` bytes at `addr` in process `pid` (empty when nothing can be read).
    pub(super) fn read(&mut self, pid: u32, addr: u64, len: usize) -> Vec<u8> {
        if addr == 0 || len == 0 {
            return Vec::new();
        }
        let mut buf = vec![0u8; len];
        for fresh in [false, true] {
            if fresh || !self.files.contains_key(&pid) {
                // Descriptors of exited processes are not noticed: a bound keeps the init far
                // from its descriptor limit (running out would lose paths and arguments).
                if self.files.len() >= MEM_CACHE {
                    self.files.clear();
                }
                let path = format!("/proc/{pid}/mem");
                let file = File::open(&path).or_else(|e| {
                    if e.raw_os_error() == Some(libc::EMFILE) {
                        self.files.clear();
                        File::open(&path)
                    } else {
                        Err(e)
                    }
                });
                match file {
                    Ok(f) => self.files.insert(pid, f),
                    Err(_) => return Vec::new(),
                };
            }
            if let Some(Ok(n)) = self.files.get(&pid).map(|f| f.read_at(&mut buf, addr))
                && n > 0
            {
                buf.truncate(n);
                return buf;
            }
        }
        Vec::new()
    }

    /// A NUL-terminated string (most are short: read 256 bytes first).
    pub(super) fn string(&mut self, pid: u32, addr: u64) -> String {
        let mut b = self.read(pid, addr, 256);
        if !b.contains(&0) && b.len() == 256 {
            b = self.read(pid, addr, 4096);
        }
        let end = b.iter().position(|c| *c == 0).unwrap_or(b.len());
        String::from_utf8_lossy(&b[..end]).into_owned()
    }

    /// The 8-byte word at `addr` (0 when it cannot be read).
    pub(super) fn u64_at(&mut self, pid: u32, addr: u64) -> u64 {
        let b = self.read(pid, addr, 8);
        u64::from_ne_bytes(b.try_into().unwrap_or([0; 8]))
    }

    /// The first `len` bytes at each of `addrs`: one `process_vm_readv` for many strings (an
    /// exec's environment), each read on its own only where that call stopped short.
    pub(super) fn gather(&mut self, pid: u32, addrs: &[u64], len: usize) -> Vec<Vec<u8>> {
        let mut out = Vec::with_capacity(addrs.len());
        for chunk in addrs.chunks(512) {
            let mut bufs = vec![vec![0u8; len]; chunk.len()];
            let local: Vec<libc::iovec> = bufs
                .iter_mut()
                .map(|b| libc::iovec {
                    iov_base: b.as_mut_ptr().cast(),
                    iov_len: len,
                })
                .collect();
            let remote: Vec<libc::iovec> = chunk
                .iter()
                .map(|a| libc::iovec {
                    iov_base: *a as *mut libc::c_void,
                    iov_len: len,
                })
                .collect();
            // SAFETY: every local iovec points into a buffer of `len` bytes we own; the remote
            // ones are only read by the kernel, in the stopped caller.
            let n = unsafe {
                libc::process_vm_readv(
                    pid as libc::pid_t,
                    local.as_ptr(),
                    local.len() as libc::c_ulong,
                    remote.as_ptr(),
                    remote.len() as libc::c_ulong,
                    0,
                )
            };
            let whole = if n < 0 { 0 } else { n as usize / len.max(1) };
            for (i, b) in bufs.iter_mut().enumerate().skip(whole) {
                *b = self.read(pid, chunk[i], len);
            }
            out.extend(bufs);
        }
        out
    }

    /// Forgets a process about to exec (a vforked child still shares its parent's memory).
    pub(super) fn forget(&mut self, pid: u32) {
        self.files.remove(&pid);
    }
}
