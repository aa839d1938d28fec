//! Landlock (the second file-system layer) and the seccomp deny list.

use super::bpf;
use crate::Profile;
use crate::Rule;
use landlock::{
    ABI, Access, AccessFs, CompatLevel, Compatible, Ruleset, RulesetAttr, RulesetCreatedAttr,
    RulesetStatus, Scope, path_beneath_rules,
};
use seccompiler::{
    SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter, SeccompRule,
    TargetArch,
};
use std::collections::BTreeMap;

/// Read and execute everywhere; write only where the mounts allow it too.
pub(super) fn landlock(p: &Profile) -> Result<(), String> {
    let abi = ABI::V5;
    let mut writable: Vec<&std::path::Path> = p.writable.iter().map(|x| x.as_path()).collect();
    writable.extend(p.scratch.iter().map(|x| x.as_path()));
    for dir in ["/tmp", "/var/tmp", "/dev/shm", "/run"] {
        writable.push(std::path::Path::new(dir));
    }
    let devices = [
        "/dev/null",
        "/dev/zero",
        "/dev/full",
        "/dev/random",
        "/dev/urandom",
        "/dev/ptmx",
        "/dev/pts",
    ];
    let device_access = AccessFs::from_read(abi) | AccessFs::WriteFile | AccessFs::IoctlDev;
    let status = Ruleset::default()
        .set_compatibility(CompatLevel::BestEffort)
        .handle_access(AccessFs::from_all(abi))
        .and_then(|r| r.scope(Scope::Signal | Scope::AbstractUnixSocket))
        .and_then(|r| r.create())
        .and_then(|r| r.add_rules(path_beneath_rules(["/"], AccessFs::from_read(abi))))
        .and_then(|r| {
            r.add_rules(path_beneath_rules(
                devices.iter().filter(|d| std::path::Path::new(d).exists()),
                device_access,
            ))
        })
        .and_then(|r| {
            r.add_rules(path_beneath_rules(
                writable.iter().filter(|w| w.exists()),
                AccessFs::from_all(abi),
            ))
        })
        .and_then(|r| r.restrict_self())
        .map_err(|e| e.to_string())?;
    if status.ruleset == RulesetStatus::NotEnforced {
        return Err("the kernel did not enforce the Landlock ruleset".into());
    }
    Ok(())
}

/// The number of a call in [`crate::DENIED_SYSCALLS`] on this architecture; `Ok(None)` for the
/// calls an architecture does not have (aarch64 has only the `*at` forms).
fn number(name: &str) -> Result<Option<i64>, String> {
    Ok(Some(match name {
        "io_uring_setup" => libc::SYS_io_uring_setup,
        "io_uring_enter" => libc::SYS_io_uring_enter,
        "io_uring_register" => libc::SYS_io_uring_register,
        "ptrace" => libc::SYS_ptrace,
        "process_vm_readv" => libc::SYS_process_vm_readv,
        "process_vm_writev" => libc::SYS_process_vm_writev,
        "unshare" => libc::SYS_unshare,
        "setns" => libc::SYS_setns,
        "clone" => libc::SYS_clone,
        "clone3" => libc::SYS_clone3,
        "mount" => libc::SYS_mount,
        "umount2" => libc::SYS_umount2,
        "mount_setattr" => libc::SYS_mount_setattr,
        "move_mount" => libc::SYS_move_mount,
        "open_tree" => libc::SYS_open_tree,
        "fsopen" => libc::SYS_fsopen,
        "fsmount" => libc::SYS_fsmount,
        "fsconfig" => libc::SYS_fsconfig,
        "fspick" => libc::SYS_fspick,
        "pivot_root" => libc::SYS_pivot_root,
        "chroot" => libc::SYS_chroot,
        "init_module" => libc::SYS_init_module,
        "finit_module" => libc::SYS_finit_module,
        "delete_module" => libc::SYS_delete_module,
        "kexec_load" => libc::SYS_kexec_load,
        "kexec_file_load" => libc::SYS_kexec_file_load,
        "reboot" => libc::SYS_reboot,
        "swapon" => libc::SYS_swapon,
        "swapoff" => libc::SYS_swapoff,
        "add_key" => libc::SYS_add_key,
        "request_key" => libc::SYS_request_key,
        "keyctl" => libc::SYS_keyctl,
        "bpf" => libc::SYS_bpf,
        "perf_event_open" => libc::SYS_perf_event_open,
        "userfaultfd" => libc::SYS_userfaultfd,
        "ioctl" => libc::SYS_ioctl,
        "fchmod" => libc::SYS_fchmod,
        "fchmodat" => libc::SYS_fchmodat,
        "fchmodat2" => libc::SYS_fchmodat2,
        "mknodat" => libc::SYS_mknodat,
        "openat" => libc::SYS_openat,
        "openat2" => libc::SYS_openat2,
        "prctl" => libc::SYS_prctl,
        "memfd_secret" => libc::SYS_memfd_secret,
        "socket" => libc::SYS_socket,
        "socketpair" => libc::SYS_socketpair,
        #[cfg(target_arch = "x86_64")]
        "chmod" => libc::SYS_chmod,
        #[cfg(target_arch = "x86_64")]
        "mknod" => libc::SYS_mknod,
        #[cfg(target_arch = "x86_64")]
        "creat" => libc::SYS_creat,
        #[cfg(target_arch = "x86_64")]
        "open" => libc::SYS_open,
        #[cfg(not(target_arch = "x86_64"))]
        "chmod" | "mknod" | "creat" | "open" => return Ok(None),
        other => return Err(format!("the denied call {other} has no number here")),
    }))
}

/// The seccomp filters built from [`crate::DENIED_SYSCALLS`]: one answering `EPERM`, one
/// answering `ENOSYS`, both behind the ABI guard.
pub(super) fn seccomp() -> Result<(), String> {
    let mut eperm: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
    let mut enosys: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
    for d in crate::DENIED_SYSCALLS {
        for call in d.calls {
            let Some(nr) = number(call)? else { continue };
            match d.rule {
                Rule::Always => {
                    eperm.insert(nr, Vec::new());
                }
                Rule::NotImplemented => {
                    enosys.insert(nr, Vec::new());
                }
                Rule::AnyBit { arg, mask } => {
                    let rules = bits(mask)
                        .map(|bit| {
                            SeccompCondition::new(
                                arg,
                                SeccompCmpArgLen::Qword,
                                SeccompCmpOp::MaskedEq(bit),
                                bit,
                            )
                            .and_then(|c| SeccompRule::new(vec![c]))
                        })
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(|e| e.to_string())?;
                    eperm.entry(nr).or_default().extend(rules);
                }
                Rule::NoneOf { arg, values } => {
                    let conditions = values
                        .iter()
                        .map(|v| {
                            SeccompCondition::new(
                                arg,
                                SeccompCmpArgLen::Dword,
                                SeccompCmpOp::Ne,
                                *v,
                            )
                        })
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(|e| e.to_string())?;
                    let rule = SeccompRule::new(conditions).map_err(|e| e.to_string())?;
                    eperm.entry(nr).or_default().push(rule);
                }
                Rule::Equals { arg, values } => {
                    let rules = values
                        .iter()
                        .map(|v| {
                            SeccompCondition::new(
                                arg,
                                SeccompCmpArgLen::Dword,
                                SeccompCmpOp::Eq,
                                *v,
                            )
                            .and_then(|c| SeccompRule::new(vec![c]))
                        })
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(|e| e.to_string())?;
                    eperm.entry(nr).or_default().extend(rules);
                }
            }
        }
    }
    let arch = if cfg!(target_arch = "x86_64") {
        TargetArch::x86_64
    } else if cfg!(target_arch = "aarch64") {
        TargetArch::aarch64
    } else {
        return Err("seccomp filter: unsupported architecture".into());
    };
    let compile = |rules, errno: i32| -> Result<seccompiler::BpfProgram, String> {
        SeccompFilter::new(
            rules,
            SeccompAction::Allow,
            SeccompAction::Errno(errno as u32),
            arch,
        )
        .and_then(|f| f.try_into())
        .map_err(|e: seccompiler::BackendError| e.to_string())
    };
    let eperm = compile(eperm, libc::EPERM)?;
    let enosys = compile(enosys, libc::ENOSYS)?;
    // The guard first: seccompiler checks the architecture but not the x32 bit.
    let mut guard = bpf::abi_guard();
    guard.push(bpf::Ins::Ret(libc::SECCOMP_RET_ALLOW));
    guard.extend(bpf::abi_guard_end());
    bpf::apply(&guard)?;
    seccompiler::apply_filter(&eperm).map_err(|e| e.to_string())?;
    seccompiler::apply_filter(&enosys).map_err(|e| e.to_string())
}

/// The single bits of `mask`.
fn bits(mask: u64) -> impl Iterator<Item = u64> {
    (0..64).map(|i| 1u64 << i).filter(move |b| mask & b != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_denied_call_has_a_number() {
        for d in crate::DENIED_SYSCALLS {
            for c in d.calls {
                let n = number(c).unwrap();
                if cfg!(target_arch = "x86_64") {
                    assert!(n.is_some(), "{c}");
                }
            }
        }
        assert!(number("no_such_call").is_err());
    }

    #[test]
    fn mask_bits_are_split() {
        assert_eq!(bits(0o6000).collect::<Vec<_>>(), vec![0o2000, 0o4000]);
    }
}
