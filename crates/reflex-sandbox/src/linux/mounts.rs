//! The file-system view of the sandbox, built in its new mount namespace with the new mount
//! API (`open_tree`, `move_mount`, `mount_setattr`): everything read-only, `nosuid` and
//! `nodev`; fresh tmpfs over the private directories, the homes and the scratch directories;
//! the kept paths put back; a minimal `/dev`; hidden and cleaned files; a new `/proc`.

use super::{SetupError, context, cstring, nix_context};
use crate::{COVERED, DEVICES, Profile};
use nix::mount::{MsFlags, mount};
use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

// The new mount API (same numbers on every architecture).
const SYS_OPEN_TREE: libc::c_long = 428;
const SYS_MOVE_MOUNT: libc::c_long = 429;
const SYS_MOUNT_SETATTR: libc::c_long = 442;
const OPEN_TREE_CLONE: libc::c_uint = 1;
const OPEN_TREE_CLOEXEC: libc::c_uint = libc::O_CLOEXEC as libc::c_uint;
const AT_RECURSIVE: libc::c_uint = 0x8000;
const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 0x4;
const MOUNT_ATTR_RDONLY: u64 = 0x1;
const MOUNT_ATTR_NOSUID: u64 = 0x2;
const MOUNT_ATTR_NODEV: u64 = 0x4;

#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

/// Read-only, `nosuid` and `nodev`: what every kept path but the writable ones becomes.
const RDONLY_NOSUID_NODEV: u64 = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;

fn path_cstring(p: &Path) -> CString {
    cstring(p.as_os_str().as_bytes())
}

/// A detached copy of the mount tree at `path` (taken before anything is changed).
fn clone_tree(path: &Path) -> std::io::Result<OwnedFd> {
    let c = path_cstring(path);
    // SAFETY: open_tree with a valid path; the returned descriptor is owned.
    let fd = unsafe {
        libc::syscall(
            SYS_OPEN_TREE,
            libc::AT_FDCWD,
            c.as_ptr(),
            OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE,
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: a fresh descriptor from the kernel.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

fn move_tree(fd: &OwnedFd, to: &Path) -> std::io::Result<()> {
    let empty = CString::default();
    let c = path_cstring(to);
    // SAFETY: move_mount of a detached tree onto an existing path.
    let r = unsafe {
        libc::syscall(
            SYS_MOVE_MOUNT,
            fd.as_raw_fd(),
            empty.as_ptr(),
            libc::AT_FDCWD,
            c.as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH,
        )
    };
    if r < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

fn set_attr(path: &Path, set: u64, recursive: bool) -> std::io::Result<()> {
    let c = path_cstring(path);
    let attr = MountAttr {
        attr_set: set,
        attr_clr: 0,
        propagation: 0,
        userns_fd: 0,
    };
    // SAFETY: mount_setattr with a correctly sized attribute struct.
    let r = unsafe {
        libc::syscall(
            SYS_MOUNT_SETATTR,
            libc::AT_FDCWD,
            c.as_ptr(),
            if recursive { AT_RECURSIVE } else { 0 },
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    if r < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

fn tmpfs(at: &Path) -> Result<(), SetupError> {
    nix_context(
        &format!("mounting a tmpfs on {}", at.display()),
        mount(
            Some("tmpfs"),
            at,
            Some("tmpfs"),
            MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
            Some("mode=0755"),
        ),
    )
}

/// Nothing done in this mount namespace propagates back to the host.
pub(super) fn make_private() -> Result<(), SetupError> {
    nix_context(
        "making mounts private",
        mount(
            None::<&str>,
            "/",
            None::<&str>,
            MsFlags::MS_REC | MsFlags::MS_PRIVATE,
            None::<&str>,
        ),
    )
}

/// A path kept from the host's view: a detached copy of its mount tree, taken before the
/// view changed, to be put back over the covering tmpfs.
struct KeptTree {
    path: PathBuf,
    writable: bool,
    dir: bool,
    tree: OwnedFd,
}

/// The file-system view: read-only everywhere, fresh tmpfs over the private and covered
/// directories, the kept paths put back (read-only or writable), the home made read-only.
pub(super) fn setup_mounts(p: &Profile) -> Result<(), SetupError> {
    make_private()?;
    let kept = clone_kept_trees(p)?;
    let devices = clone_devices()?;
    context(
        "making the file system read-only, nosuid and nodev (mount_setattr)",
        set_attr(Path::new("/"), RDONLY_NOSUID_NODEV, true),
    )?;
    for dir in ["/tmp", "/var/tmp", "/run"] {
        if Path::new(dir).is_dir() {
            tmpfs(Path::new(dir))?;
        }
    }
    minimal_dev(devices)?;
    let homes = cover_homes_and_scratch(p)?;
    put_back(&kept)?;
    plant(p)?;
    hide(p)?;
    show_cleaned(p)?;
    for home in &homes {
        context(
            format!("making {} read-only", home.display()),
            set_attr(home, RDONLY_NOSUID_NODEV, false),
        )?;
    }
    nix_context(
        "mounting /proc for the new PID namespace",
        mount(
            Some("proc"),
            "/proc",
            Some("proc"),
            MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
            None::<&str>,
        ),
    )
}

/// `x` with symlinks resolved (so mount points are real), or as given when it cannot be.
fn canonical_or_given(x: &Path) -> PathBuf {
    std::fs::canonicalize(x).unwrap_or_else(|_| x.to_path_buf())
}

/// The kept paths, cloned before the view changes; parents before children. A read-only
/// path outside every covered directory stays visible as it is and needs nothing.
fn clone_kept_trees(p: &Profile) -> Result<Vec<KeptTree>, SetupError> {
    // What gets covered by a fresh tmpfs.
    let mut covered: Vec<PathBuf> = COVERED
        .iter()
        .map(|d| canonical_or_given(Path::new(d)))
        .collect();
    covered.push(PathBuf::from("/dev"));
    covered.extend(p.homes.iter().map(|h| canonical_or_given(h)));
    covered.extend(p.scratch.iter().map(|h| canonical_or_given(h)));
    let mut kept: Vec<(PathBuf, bool)> = p
        .read_only
        .iter()
        .map(|x| (x, false))
        .chain(p.writable.iter().map(|x| (x, true)))
        .filter(|(x, _)| x.exists())
        .map(|(x, rw)| (canonical_or_given(x), rw))
        .filter(|(x, rw)| *rw || covered.iter().any(|c| x.starts_with(c)))
        .collect();
    kept.sort_by_key(|(x, _)| x.components().count());
    kept.dedup_by(|a, b| a.0 == b.0);
    let mut trees = Vec::new();
    for (path, writable) in kept {
        let tree = context(format!("keeping {}", path.display()), clone_tree(&path))?;
        let dir = path.is_dir();
        trees.push(KeptTree {
            path,
            writable,
            dir,
            tree,
        });
    }
    Ok(trees)
}

/// The few devices a build uses, cloned before everything becomes nodev.
fn clone_devices() -> Result<Vec<(PathBuf, OwnedFd)>, SetupError> {
    let mut devices = Vec::new();
    for d in DEVICES {
        let path = Path::new("/dev").join(d);
        if path.exists() {
            let fd = context(format!("keeping {}", path.display()), clone_tree(&path))?;
            devices.push((path, fd));
        }
    }
    Ok(devices)
}

/// An empty tmpfs over every home (parents first) and scratch directory; the homes, in that
/// order, to be made read-only once everything is in place.
fn cover_homes_and_scratch(p: &Profile) -> Result<Vec<&Path>, SetupError> {
    let mut homes: Vec<&Path> = p.homes.iter().map(|h| h.as_path()).collect();
    homes.sort_by_key(|h| h.components().count());
    for home in &homes {
        context(
            format!("creating {}", home.display()),
            std::fs::create_dir_all(home),
        )?;
        tmpfs(home)?;
    }
    for s in &p.scratch {
        context(
            format!("creating {}", s.display()),
            std::fs::create_dir_all(s),
        )?;
        tmpfs(s)?;
    }
    Ok(homes)
}

/// Puts the kept trees back where they were, on mount points made for them.
fn put_back(kept: &[KeptTree]) -> Result<(), SetupError> {
    for KeptTree {
        path,
        writable,
        dir,
        tree,
    } in kept
    {
        let made = if *dir {
            std::fs::create_dir_all(path)
        } else {
            path.parent()
                .map_or(Ok(()), std::fs::create_dir_all)
                .and_then(|_| {
                    if path.exists() {
                        Ok(())
                    } else {
                        std::fs::write(path, b"")
                    }
                })
        };
        context(format!("creating the mount point {}", path.display()), made)?;
        context(
            format!("putting back {}", path.display()),
            move_tree(tree, path),
        )?;
        // Writable trees stay nosuid and nodev: a set-uid program or a device node left
        // in target/ means nothing inside (and set-id modes are refused by seccomp).
        let attrs = if *writable {
            MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV
        } else {
            RDONLY_NOSUID_NODEV
        };
        context(
            format!("restricting {}", path.display()),
            set_attr(path, attrs, true),
        )?;
    }
    Ok(())
}

/// Writes the profile's planted files (decoys).
fn plant(p: &Profile) -> Result<(), SetupError> {
    for (path, text) in &p.plant {
        let made = path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|_| std::fs::write(path, text));
        context(format!("planting {}", path.display()), made)?;
    }
    Ok(())
}

/// Empties the profile's hidden files: `/dev/null` mounted over each.
fn hide(p: &Profile) -> Result<(), SetupError> {
    for h in &p.hide {
        if h.is_file() {
            nix_context(
                &format!("hiding {}", h.display()),
                mount(
                    Some("/dev/null"),
                    h,
                    None::<&str>,
                    MsFlags::MS_BIND,
                    None::<&str>,
                ),
            )?;
        }
    }
    Ok(())
}

/// Shows each of the profile's `replace` files as its cleaned text (a read-only copy in
/// `/run` mounted over it).
fn show_cleaned(p: &Profile) -> Result<(), SetupError> {
    for (i, (path, text)) in p.replace.iter().enumerate() {
        if !path.is_file() {
            continue;
        }
        let copy = Path::new("/run/reflex-cleaned").join(i.to_string());
        let made = std::fs::create_dir_all("/run/reflex-cleaned")
            .and_then(|_| std::fs::write(&copy, text));
        context(format!("cleaning {}", path.display()), made)?;
        nix_context(
            &format!("showing {} without its secrets", path.display()),
            mount(
                Some(&copy),
                path,
                None::<&str>,
                MsFlags::MS_BIND,
                None::<&str>,
            ),
        )?;
        context(
            format!("making {} read-only", path.display()),
            set_attr(path, RDONLY_NOSUID_NODEV, false),
        )?;
    }
    Ok(())
}

/// A new `/dev`: the cloned `devices` (null, zero, full, random, urandom), a private devpts
/// instance (no host terminal is reachable), `shm`, and the usual links. Then read-only.
fn minimal_dev(devices: Vec<(PathBuf, OwnedFd)>) -> Result<(), SetupError> {
    let dev = Path::new("/dev");
    nix_context(
        "mounting a new /dev",
        mount(
            Some("tmpfs"),
            dev,
            Some("tmpfs"),
            MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC,
            Some("mode=0755"),
        ),
    )?;
    for (path, fd) in &devices {
        context(
            format!("creating {}", path.display()),
            std::fs::write(path, b""),
        )?;
        context(
            format!("putting back {}", path.display()),
            move_tree(fd, path),
        )?;
    }
    for d in ["pts", "shm"] {
        context(
            format!("creating /dev/{d}"),
            std::fs::create_dir(dev.join(d)),
        )?;
    }
    tmpfs(&dev.join("shm"))?;
    // A private terminal instance: ptys made inside are the sandbox's own. Where the kernel
    // refuses it, there are simply no terminals.
    let pts = mount(
        Some("devpts"),
        &dev.join("pts"),
        Some("devpts"),
        MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC,
        Some("newinstance,ptmxmode=0666,mode=0620"),
    );
    let links: &[(&str, &str)] = &[
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ];
    for (name, to) in links {
        context(
            format!("linking /dev/{name}"),
            std::os::unix::fs::symlink(to, dev.join(name)),
        )?;
    }
    if pts.is_ok() {
        context(
            "linking /dev/ptmx",
            std::os::unix::fs::symlink("pts/ptmx", dev.join("ptmx")),
        )?;
    }
    context(
        "making /dev read-only",
        set_attr(dev, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID, false),
    )
}
