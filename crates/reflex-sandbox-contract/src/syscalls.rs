//! The one table of system calls the sandbox denies. The seccomp filter is built from it (a
//! name the filter cannot map is a setup error, never a silent gap), `--dry-run` prints it and
//! a test checks that the README lists every row.

/// When a call in a [`Denial`] is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    /// Always, with `EPERM`.
    Always,
    /// Always, with `ENOSYS` (callers fall back to an older call the filter can inspect).
    NotImplemented,
    /// With `EPERM` when argument `arg` has any of the bits of `mask`.
    AnyBit { arg: u8, mask: u64 },
    /// With `EPERM` when the low 32 bits of argument `arg` equal one of `values`.
    Equals { arg: u8, values: &'static [u64] },
    /// With `EPERM` when the low 32 bits of argument `arg` equal none of `values`.
    NoneOf { arg: u8, values: &'static [u64] },
}

/// A group of calls refused for one reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Denial {
    pub calls: &'static [&'static str],
    pub rule: Rule,
    pub why: &'static str,
}

/// `clone` flags that create namespaces.
pub const NAMESPACE_FLAGS: u64 =
    0x1000_0000 | 0x0002_0000 | 0x2000_0000 | 0x4000_0000 | 0x0800_0000 | 0x0400_0000 | 0x0200_0000;
/// Push a byte into a terminal's input queue; the Linux console's selection paste.
pub const TIOCSTI: u64 = 0x5412;
pub const TIOCLINUX: u64 = 0x541C;
/// Set-user-ID and set-group-ID mode bits.
pub const SET_ID_BITS: u64 = 0o6000;
/// `prctl(PR_SET_MM, ...)`: rewrite the process's command line, environment or exe link.
pub const PR_SET_MM: u64 = 35;
/// The socket families a build may create: Unix, IPv4, IPv6 (loopback only in the sandbox's
/// network namespace) and netlink (namespaced; getaddrinfo asks it about local addresses).
pub const SOCKET_FAMILIES: &[u64] = &[1, 2, 10, 16];

const SET_ID: &str = "setting set-uid/set-gid bits (a set-uid-root program left in target/)";

pub const DENIED_SYSCALLS: &[Denial] = &[
    Denial {
        calls: &["io_uring_setup", "io_uring_enter", "io_uring_register"],
        rule: Rule::Always,
        why: "io_uring bypasses seccomp and Landlock checks",
    },
    Denial {
        calls: &["ptrace", "process_vm_readv", "process_vm_writev"],
        rule: Rule::Always,
        why: "reading or steering other processes",
    },
    Denial {
        calls: &["unshare", "setns"],
        rule: Rule::Always,
        why: "new namespaces (escaping the rules)",
    },
    Denial {
        calls: &["clone"],
        rule: Rule::AnyBit {
            arg: 0,
            mask: NAMESPACE_FLAGS,
        },
        why: "new namespaces (escaping the rules)",
    },
    Denial {
        calls: &["clone3"],
        rule: Rule::NotImplemented,
        why: "its flags sit behind a pointer; libc falls back to clone, which is checked",
    },
    Denial {
        calls: &[
            "mount",
            "umount2",
            "mount_setattr",
            "move_mount",
            "open_tree",
            "fsopen",
            "fsmount",
            "fsconfig",
            "fspick",
            "pivot_root",
            "chroot",
        ],
        rule: Rule::Always,
        why: "changing the file-system view",
    },
    Denial {
        calls: &[
            "init_module",
            "finit_module",
            "delete_module",
            "kexec_load",
            "kexec_file_load",
            "reboot",
            "swapon",
            "swapoff",
        ],
        rule: Rule::Always,
        why: "the kernel itself",
    },
    Denial {
        calls: &["add_key", "request_key", "keyctl"],
        rule: Rule::Always,
        why: "kernel keyrings (credentials of other processes)",
    },
    Denial {
        calls: &["bpf", "perf_event_open", "userfaultfd"],
        rule: Rule::Always,
        why: "kernel attack surface a build never needs",
    },
    Denial {
        calls: &["ioctl"],
        rule: Rule::Equals {
            arg: 1,
            values: &[TIOCSTI, TIOCLINUX],
        },
        why: "TIOCSTI/TIOCLINUX: typing into a terminal (whatever dev.tty.legacy_tiocsti says)",
    },
    Denial {
        calls: &["chmod", "fchmod", "mknod", "creat"],
        rule: Rule::AnyBit {
            arg: 1,
            mask: SET_ID_BITS,
        },
        why: SET_ID,
    },
    Denial {
        calls: &["fchmodat", "fchmodat2", "mknodat", "open"],
        rule: Rule::AnyBit {
            arg: 2,
            mask: SET_ID_BITS,
        },
        why: SET_ID,
    },
    Denial {
        calls: &["openat"],
        rule: Rule::AnyBit {
            arg: 3,
            mask: SET_ID_BITS,
        },
        why: SET_ID,
    },
    Denial {
        calls: &["openat2"],
        rule: Rule::NotImplemented,
        why: "its mode sits behind a pointer; callers fall back to openat, which is checked",
    },
    Denial {
        calls: &["memfd_secret"],
        rule: Rule::Always,
        why: "memory even the supervisor cannot read: arguments placed there would blind the monitor and the Unix socket check",
    },
    Denial {
        calls: &["socket", "socketpair"],
        rule: Rule::NoneOf {
            arg: 0,
            values: SOCKET_FAMILIES,
        },
        why: "address families other than Unix, IPv4, IPv6 and netlink (AF_VSOCK is not namespaced: it reaches the host of a VM)",
    },
    Denial {
        calls: &["prctl"],
        rule: Rule::Equals {
            arg: 0,
            values: &[PR_SET_MM],
        },
        why: "PR_SET_MM: rewriting the process's own command line or executable link",
    },
];

/// Calls through another ABI than the native one, which neither filter could judge.
pub const FOREIGN_ABI: &str =
    "any call through a foreign ABI (32-bit `int 0x80`, x32): the process is killed (both filters)";

impl Denial {
    /// `ioctl (arg 1 = 0x5412 or 0x541c)`, `chmod, fchmod (arg 1 has bits 0o6000)`.
    pub fn describe(&self) -> String {
        let calls = self.calls.join(", ");
        match self.rule {
            Rule::Always => calls,
            Rule::NotImplemented => format!("{calls} (ENOSYS)"),
            Rule::AnyBit { arg, mask } if mask == SET_ID_BITS => {
                format!("{calls} with a set-uid or set-gid mode (argument {arg})")
            }
            Rule::AnyBit { arg, .. } => format!("{calls} with namespace flags (argument {arg})"),
            Rule::Equals { arg, values } => format!(
                "{calls} with argument {arg} = {}",
                values
                    .iter()
                    .map(|v| format!("{v:#x}"))
                    .collect::<Vec<_>>()
                    .join(" or ")
            ),
            Rule::NoneOf { arg, values } => format!(
                "{calls} with argument {arg} other than {}",
                values
                    .iter()
                    .map(|v| v.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_call_is_named_once() {
        let mut seen = std::collections::HashSet::new();
        for d in DENIED_SYSCALLS {
            for c in d.calls {
                assert!(seen.insert(*c), "{c} is in two rows");
            }
        }
        assert!(seen.contains("ioctl") && seen.contains("fchmodat"));
    }

    #[test]
    fn the_readme_lists_every_row() {
        let readme = include_str!("../../../README.md");
        for d in DENIED_SYSCALLS {
            for c in d.calls {
                assert!(
                    readme.contains(&format!("`{c}`")),
                    "README does not list `{c}` among the denied calls"
                );
            }
        }
    }
}
