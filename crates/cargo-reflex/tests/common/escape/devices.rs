//! Devices and set-id files: a loop device holding the canary (as root), and the set-uid or
//! set-gid files a build left behind.

use super::{CANARY, note};
use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// Whether this process runs as root (the owner of /proc/self is its effective user).
pub fn is_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// A loop device over a file holding the canary; detached when dropped.
pub struct LoopDevice(pub String);

impl Drop for LoopDevice {
    fn drop(&mut self) {
        let _ = Command::new("losetup").arg("-d").arg(&self.0).status();
    }
}

/// As root, a loop device over `<dir>/block.img` (the canary, then zeros); otherwise why not.
pub fn loop_device(dir: &Path) -> Result<LoopDevice, String> {
    if !is_root() {
        return Err("not root: only root can attach a loop device".into());
    }
    let image = dir.join("block.img");
    let mut data = format!("reflex block device {CANARY}\n").into_bytes();
    data.resize(64 * 1024, 0);
    std::fs::write(&image, data).map_err(|e| e.to_string())?;
    let mut why = String::new();
    // Parallel tests may race for the same free device.
    for _ in 0..5 {
        let out = Command::new("losetup")
            .args(["-f", "--show"])
            .arg(&image)
            .output()
            .map_err(|e| format!("losetup: {e}"))?;
        let dev = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if out.status.success() && dev.starts_with("/dev/") {
            return Ok(LoopDevice(dev));
        }
        why = String::from_utf8_lossy(&out.stderr).trim().to_string();
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(format!("losetup -f --show: {why}"))
}

/// Files under `dir` with a set-uid or set-gid bit.
pub fn set_id_files(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for e in entries.flatten() {
        let Ok(m) = std::fs::symlink_metadata(e.path()) else {
            continue;
        };
        if m.is_dir() {
            found.extend(set_id_files(&e.path()));
        } else if m.permissions().mode() & 0o6000 != 0 {
            found.push(format!(
                "{} {:o}",
                e.path().display(),
                m.permissions().mode()
            ));
        }
    }
    found
}

/// A loop device for the `device-block` channel, named in `targets`; when there can be none
/// (not root, no loop support) the channel is skipped and the test says why.
pub fn block_device(
    dir: &Path,
    targets: &mut BTreeMap<&'static str, String>,
) -> Option<LoopDevice> {
    match loop_device(dir) {
        Ok(dev) => {
            targets.insert("block_device", dev.0.clone());
            Some(dev)
        }
        Err(why) => {
            note(&format!("device-block not tried: {why}"));
            None
        }
    }
}
