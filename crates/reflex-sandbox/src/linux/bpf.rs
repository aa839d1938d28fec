//! Hand-assembled classic BPF for the seccomp filters seccompiler cannot express: the ABI
//! guard (foreign architectures and x32 are killed) and the monitor's notification filter.

/// `seccomp_data` offsets: the call number, the architecture, the low word of each argument.
pub(super) const NR: u32 = 0;
pub(super) const ARCH: u32 = 4;
pub(super) const fn arg_low(i: u32) -> u32 {
    16 + 8 * i
}

#[cfg(target_arch = "x86_64")]
pub(super) const AUDIT_ARCH: u32 = 0xC000_003E;
#[cfg(target_arch = "aarch64")]
pub(super) const AUDIT_ARCH: u32 = 0xC000_00B7;

/// Call numbers with this bit set are x32 calls on x86_64.
pub(super) const X32_BIT: u32 = 0x4000_0000;

/// A BPF instruction whose jumps name their targets (resolved by [`assemble`]).
pub(super) enum Ins {
    /// Load the 32-bit word at this offset of `seccomp_data`.
    Load(u32),
    /// Jump to the label if the accumulator equals the value.
    JumpIfEq(u32, &'static str),
    /// Jump to the label if the accumulator is greater than or equal to the value.
    JumpIfGe(u32, &'static str),
    Ret(u32),
    Label(&'static str),
}

/// The instructions with labels resolved; a jump too far for BPF is an error.
pub(super) fn assemble(code: &[Ins]) -> Result<Vec<libc::sock_filter>, String> {
    let mut at = std::collections::HashMap::new();
    let mut n = 0usize;
    for i in code {
        match i {
            Ins::Label(l) => {
                at.insert(*l, n);
            }
            _ => n += 1,
        }
    }
    let mut out = Vec::new();
    for i in code {
        let here = out.len();
        let off = |l: &str| -> Result<u8, String> {
            let to = at.get(l).ok_or(format!("no label {l}"))?;
            u8::try_from(to - here - 1).map_err(|_| format!("jump to {l} too far"))
        };
        let f = |code: u32, jt: u8, k: u32| libc::sock_filter {
            code: code as u16,
            jt,
            jf: 0,
            k,
        };
        match i {
            Ins::Label(_) => continue,
            Ins::Load(k) => out.push(f(libc::BPF_LD | libc::BPF_W | libc::BPF_ABS, 0, *k)),
            Ins::JumpIfEq(k, l) => {
                out.push(f(libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K, off(l)?, *k))
            }
            Ins::JumpIfGe(k, l) => {
                out.push(f(libc::BPF_JMP | libc::BPF_JGE | libc::BPF_K, off(l)?, *k))
            }
            Ins::Ret(k) => out.push(f(libc::BPF_RET | libc::BPF_K, 0, *k)),
        }
    }
    Ok(out)
}

/// The start of every filter: calls through a foreign ABI (a 32-bit `int 0x80`, x32 numbers)
/// kill the process; they would otherwise pass rules written for native numbers. Leaves the
/// call number loaded. The filter must end with [`abi_guard_end`].
pub(super) fn abi_guard() -> Vec<Ins> {
    use Ins::*;
    let mut code = vec![
        Load(ARCH),
        JumpIfEq(AUDIT_ARCH, "native-arch"),
        Ret(libc::SECCOMP_RET_KILL_PROCESS),
        Label("native-arch"),
        Load(NR),
    ];
    if cfg!(target_arch = "x86_64") {
        code.push(JumpIfGe(X32_BIT, "foreign-abi"));
    }
    code
}

/// Where [`abi_guard`] sends x32 calls.
pub(super) fn abi_guard_end() -> Vec<Ins> {
    vec![
        Ins::Label("foreign-abi"),
        Ins::Ret(libc::SECCOMP_RET_KILL_PROCESS),
    ]
}

/// Installs a plain filter (no listener) on the calling thread and its future children.
pub(super) fn apply(code: &[Ins]) -> Result<(), String> {
    let mut prog = assemble(code)?;
    let fprog = libc::sock_fprog {
        len: prog.len() as u16,
        filter: prog.as_mut_ptr(),
    };
    // SAFETY: a valid BPF program that outlives the call; no_new_privs is set by Landlock.
    let r = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            0,
            &fprog as *const libc::sock_fprog,
        )
    };
    if r < 0 {
        return Err(std::io::Error::last_os_error().to_string());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_resolve_to_forward_offsets() {
        use Ins::*;
        let prog = assemble(&[Load(NR), JumpIfEq(7, "hit"), Ret(1), Label("hit"), Ret(2)]).unwrap();
        assert_eq!(prog.len(), 4);
        assert_eq!(prog[1].jt, 1, "skips the Ret(1)");
        assert_eq!(prog[3].k, 2);
        assert!(assemble(&[JumpIfEq(1, "nowhere")]).is_err());
    }

    #[test]
    fn the_guard_checks_the_architecture_first() {
        let mut code = abi_guard();
        code.push(Ins::Ret(libc::SECCOMP_RET_ALLOW));
        code.extend(abi_guard_end());
        let prog = assemble(&code).unwrap();
        assert_eq!(prog[0].k, ARCH);
        assert_eq!(prog[1].k, AUDIT_ARCH);
        assert_eq!(prog[2].k, libc::SECCOMP_RET_KILL_PROCESS);
        assert_eq!(prog.last().unwrap().k, libc::SECCOMP_RET_KILL_PROCESS);
        if cfg!(target_arch = "x86_64") {
            assert_eq!(prog[4].k, X32_BIT, "x32 numbers jump to the kill");
            assert_eq!(4 + 1 + prog[4].jt as usize, prog.len() - 1);
        }
    }

    /// `getpid` through the 32-bit ABI (`int 0x80`, call 20): a pid, or an error when the
    /// kernel has no 32-bit emulation.
    #[cfg(target_arch = "x86_64")]
    fn getpid_i386() -> i64 {
        let mut ret: i64 = 20;
        // SAFETY: int 0x80 with eax=20 (getpid) reads and writes nothing but eax.
        unsafe {
            std::arch::asm!("int 0x80", inout("rax") ret, options(nostack));
        }
        ret
    }

    /// Runs `f` in a forked child under the ABI guard; the child's wait status.
    #[cfg(target_arch = "x86_64")]
    fn in_guarded_child(guard: bool, f: fn() -> i32) -> i32 {
        // SAFETY: the child only calls prctl, seccomp (through apply) and f, then _exit.
        match unsafe { libc::fork() } {
            0 => {
                if guard {
                    // SAFETY: prctl with integer arguments.
                    unsafe {
                        libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
                    }
                    let mut code = abi_guard();
                    code.push(Ins::Ret(libc::SECCOMP_RET_ALLOW));
                    code.extend(abi_guard_end());
                    if apply(&code).is_err() {
                        // SAFETY: leaving the forked child.
                        unsafe { libc::_exit(99) }
                    }
                }
                let code = f();
                // SAFETY: leaving the forked child.
                unsafe { libc::_exit(code) }
            }
            pid => {
                let mut status = 0;
                // SAFETY: waiting for our own child.
                unsafe {
                    libc::waitpid(pid, &mut status, 0);
                }
                status
            }
        }
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn foreign_abi_calls_kill_the_caller() {
        let call = || if getpid_i386() > 0 { 0 } else { 1 };
        let control = in_guarded_child(false, call);
        if !(libc::WIFEXITED(control) && libc::WEXITSTATUS(control) == 0) {
            // No 32-bit emulation in this kernel: the channel does not exist here.
            return;
        }
        let guarded = in_guarded_child(true, call);
        assert!(
            libc::WIFSIGNALED(guarded) && libc::WTERMSIG(guarded) == libc::SIGSYS,
            "int 0x80 must kill the caller, status {guarded:#x}"
        );
        // x32 numbers: write(1, "", 0) as call 0x40000001.
        let x32 = || {
            // SAFETY: a zero-length write to fd 1 with an x32 call number.
            let r = unsafe { libc::syscall(0x4000_0001, 1, std::ptr::null::<u8>(), 0) };
            if r >= 0 { 0 } else { 1 }
        };
        let guarded = in_guarded_child(true, x32);
        assert!(
            libc::WIFSIGNALED(guarded) && libc::WTERMSIG(guarded) == libc::SIGSYS,
            "an x32 call must kill the caller, status {guarded:#x}"
        );
        let native = in_guarded_child(true, || 0);
        assert!(libc::WIFEXITED(native) && libc::WEXITSTATUS(native) == 0);
    }
}
