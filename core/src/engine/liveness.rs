//! Who this process is, and whether another process on this host is still alive. A job held by a
//! process that is gone can be rescued at once instead of after its lease runs out.

use crate::store::Node;

/// This host's name ("" when the OS will not say).
pub(crate) fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname NUL-terminates within it or fails.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr() as *mut libc::c_char, buf.len()) };
    if rc != 0 {
        return String::new();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

/// The start time of a process as Linux reports it (clock ticks since boot), to tell a reused pid
/// from the process that registered. `None` off Linux or when the process does not exist; also
/// `None` for a zombie, which is dead for our purposes.
pub(crate) fn process_start(pid: i64) -> Option<i64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: split after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    if fields.first() == Some(&"Z") || fields.first() == Some(&"X") {
        return None;
    }
    // `rest` starts at field 3 (state); starttime is field 22.
    fields.get(19)?.parse().ok()
}

/// Whether the process that registered `node` is known to be gone. Only answers for nodes on this
/// host; a node elsewhere is judged by its heartbeat alone.
pub(crate) fn known_dead(node: &Node, this_host: &str) -> bool {
    if node.hostname != this_host || node.pid <= 0 {
        return false;
    }
    if std::path::Path::new("/proc/self/stat").exists() {
        return match process_start(node.pid) {
            None => true,
            Some(start) => node.process_start != 0 && start != node.process_start,
        };
    }
    // SAFETY: signal 0 performs the permission and existence checks only.
    let rc = unsafe { libc::kill(node.pid as libc::pid_t, 0) };
    rc != 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(pid: i64, start: i64, host: &str) -> Node {
        Node {
            id: "n".into(),
            hostname: host.into(),
            pid,
            process_start: start,
            heartbeat_at: 0,
        }
    }

    #[test]
    fn this_process_is_alive_and_a_finished_child_is_not() {
        let me = std::process::id() as i64;
        let start = process_start(me).expect("linux /proc");
        let host = hostname();
        assert!(!known_dead(&node(me, start, &host), &host));
        // Same pid with another start time: the pid was reused, the registrant is gone.
        assert!(known_dead(&node(me, start + 1, &host), &host));
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id() as i64;
        child.wait().unwrap();
        assert!(known_dead(&node(pid, 0, &host), &host));
        // Another host: never judged from here.
        assert!(!known_dead(&node(pid, 0, "elsewhere"), &host));
    }
}
