//! Judging the network: connections, datagrams and DNS queries (sent, or heard by the DNS
//! sinkhole), with the canaries looked for in what they carry, raw or encoded.

use super::alert::{Alert, DNS_QUERY_ACTION};
use super::analyzer::{Analyzer, Judged, Reported};
use super::{codes, dns};
use crate::finding::Severity;

impl Analyzer {
    /// A connect, a send or a packet the DNS sinkhole heard.
    pub(super) fn network_alerts(&self, j: &Judged<'_>, reported: &mut Reported) -> Vec<Alert> {
        let (ev, who) = (j.ev, &j.who);
        let mut out = Vec::new();
        // `dns-query`: a packet the DNS sinkhole heard (with the sender the supervisor
        // registered when it connected or sent to the resolver, if any).
        let heard = ev.syscall == DNS_QUERY_ACTION;
        let target = ev.dest.clone().unwrap_or_else(|| "unknown".into());
        let bytes: Vec<Vec<u8>> = ev.payloads.iter().map(|h| dns::unhex(h)).collect();
        // A packet to the resolver is seen twice (the send, the sinkhole hearing it; a
        // `write` on a connected socket only the second time): reported once.
        let to_resolver = heard || dns::is_resolver(&target);
        let fresh: Vec<bool> = bytes
            .iter()
            .map(|b| !to_resolver || reported.first_packet(b))
            .collect();
        let names: Vec<(usize, String)> = bytes
            .iter()
            .enumerate()
            .filter_map(|(i, b)| dns::query_name(b).map(|n| (i, n)))
            .collect();
        let is_dns = !names.is_empty();
        for (i, name) in &names {
            if fresh[*i] {
                out.push(self.dns_alert(j, name, heard, &target));
            }
        }
        if is_dns {
            return out;
        }
        // Already reported (heard before the send was, or sent before it was heard).
        if to_resolver && !bytes.is_empty() && !fresh.iter().any(|f| *f) {
            return out;
        }
        let mut leaks = Vec::new();
        for b in &bytes {
            leaks.extend(self.canaries.find_in(&String::from_utf8_lossy(b)));
        }
        // The resolver's connection to the sinkhole: the query it sends is the alert.
        if ev.syscall == "connect" && dns::is_resolver(&target) {
            return out;
        }
        let action = if ev.syscall == "connect" {
            "connect"
        } else {
            "send"
        };
        let mut evidence = vec![if heard {
            format!(
                "a datagram that is no DNS query, heard by the DNS sinkhole (sent from {target})"
            )
        } else {
            format!("{} to {target}", ev.syscall)
        }];
        for l in &leaks {
            evidence.push(format!("canary {} in the payload ({})", l.name, l.encoding));
        }
        let (severity, code, message) = match leaks.first() {
            Some(l) => (
                Severity::Critical,
                &codes::SECRET_EXFILTRATION,
                format!("{who} tried to exfiltrate secret {} via {target}", l.name),
            ),
            None if target.starts_with("unix:/var/run/nscd/")
                || target.starts_with("unix:/run/nscd/") =>
            {
                (
                    Severity::Low,
                    &codes::NETWORK_CONNECT,
                    format!(
                        "{who} asked the name service cache daemon (libc does so for every lookup)"
                    ),
                )
            }
            None if heard => (
                Severity::High,
                &codes::NETWORK_CONNECT,
                format!("{who} sent the DNS sinkhole a datagram that is no DNS query"),
            ),
            None => (
                Severity::High,
                &codes::NETWORK_CONNECT,
                format!("{who} opened a connection to {target}"),
            ),
        };
        out.push(j.alert(severity, code, action, target, evidence, message));
        out
    }

    /// A DNS query for `name` (sent to `target`, or `heard` by the sinkhole from it).
    fn dns_alert(&self, j: &Judged<'_>, name: &str, heard: bool, target: &str) -> Alert {
        let who = &j.who;
        let decoded = dns::decode_labels(name);
        let mut leaks = self.canaries.find_in(name);
        for d in &decoded {
            // Found in what the labels decode to: the labels carried it encoded.
            leaks.extend(self.canaries.find_in(d).into_iter().map(|mut l| {
                if l.encoding == "raw" {
                    l.encoding = "encoded in the labels";
                }
                l
            }));
        }
        let suspicious = dns::looks_like_exfiltration(name);
        let (severity, code) = if !leaks.is_empty() {
            (Severity::Critical, &codes::SECRET_EXFILTRATION)
        } else if suspicious.is_some() {
            (Severity::High, &codes::DNS_EXFILTRATION)
        } else {
            (Severity::Medium, &codes::DNS_QUERY)
        };
        let mut evidence = vec![if heard {
            format!("query {name} heard by the DNS sinkhole (sent from {target})")
        } else {
            format!("query {name} via {target}")
        }];
        if let Some(why) = suspicious {
            evidence.push(why);
        }
        for d in &decoded {
            evidence.push(format!("decoded: {d}"));
        }
        let message = match leaks.first() {
            Some(l) => format!(
                "{who} tried to exfiltrate secret {} via DNS ({})",
                l.name, l.encoding
            ),
            None => format!("{who} resolved {name}"),
        };
        for l in &leaks {
            evidence.push(format!("canary {} found ({})", l.name, l.encoding));
        }
        j.alert(
            severity,
            code,
            DNS_QUERY_ACTION,
            name.to_string(),
            evidence,
            message,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::attribution::Actor;
    use crate::monitor::test_support::*;
    use reflex_sandbox_contract::MonitorEvent;

    /// A DNS query packet for `name` with transaction id `id`, as hex.
    fn query(id: u16, name: &str) -> String {
        let mut p = id.to_be_bytes().to_vec();
        p.extend([1, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
        for label in name.split('.') {
            p.push(label.len() as u8);
            p.extend(label.bytes());
        }
        p.extend([0, 0, 1, 0, 1]);
        p.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn exfil_name() -> String {
        let hexed: String = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
            .bytes()
            .map(|b| format!("{b:02x}"))
            .collect();
        format!(
            "{}.{}.{}.x.invalid",
            &hexed[..30],
            &hexed[30..60],
            &hexed[60..]
        )
    }

    #[test]
    fn queries_the_sinkhole_hears_are_alerted_once_and_attributed() {
        let a = analyzer();
        let name = exfil_name();
        let heard = MonitorEvent {
            syscall: "dns-query".into(),
            dest: Some("127.0.0.1:40000".into()),
            payloads: vec![query(7, &name)],
            chain: script_chain(),
            ..MonitorEvent::default()
        };
        let sent = MonitorEvent {
            syscall: "sendto".into(),
            dest: Some("127.0.0.1:53".into()),
            ..heard.clone()
        };
        // A query written on a connected socket: only the sinkhole hears it.
        let mut reported = Reported::default();
        let got = a.alerts_once(&heard, 1, None, &mut reported);
        assert_eq!(got.len(), 1, "{got:#?}");
        assert_eq!(got[0].code, codes::SECRET_EXFILTRATION.code);
        assert_eq!(got[0].target, name);
        assert_eq!(
            got[0].actor.describe(),
            "build script of evasion-build 0.1.0"
        );
        assert!(got[0].evidence[0].contains("heard by the DNS sinkhole"));
        // The send of the same packet, after or before: one alert in all.
        assert!(a.alerts_once(&sent, 2, None, &mut reported).is_empty());
        let mut reported = Reported::default();
        assert_eq!(a.alerts_once(&sent, 1, None, &mut reported).len(), 1);
        assert!(a.alerts_once(&heard, 2, None, &mut reported).is_empty());
        // Another query (another id) is another alert; nobody's is "an unattributed process".
        let orphan = MonitorEvent {
            payloads: vec![query(8, &name)],
            chain: Vec::new(),
            ..heard.clone()
        };
        let got = a.alerts_once(&orphan, 3, None, &mut reported);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].actor, Actor::Unknown);
        assert_eq!(got[0].actor.describe(), "an unattributed process");
        // Stateless judging still sees each event.
        assert_eq!(a.alerts(&heard, 1).len(), 1);
    }
}
