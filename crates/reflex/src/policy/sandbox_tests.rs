use super::*;

#[test]
fn sandbox_exceptions_need_a_crate_and_a_reason() {
    let ok = Policy::parse(
        Path::new("reflex.toml"),
        "version = 1\n[sandbox]\npass-env = [\"A\"]\n[[sandbox.allow]]\ncrate = \"openssl-sys\"\nenv = [\"OPENSSL_DIR\"]\nread = [\"/opt/x\"]\nreason = \"vendored\"\n", crate::checks::catalog()
    )
    .unwrap();
    assert_eq!(ok.sandbox.pass_env, vec!["A"]);
    let exposed = Policy::parse(
        Path::new("reflex.toml"),
        "version = 1\n[sandbox]\nexpose = [\".env\"]\nunix-sockets = [\"/run/pcscd.sock\"]\n",
        crate::checks::catalog(),
    )
    .unwrap();
    assert_eq!(exposed.sandbox.expose, vec![PathBuf::from(".env")]);
    assert_eq!(
        exposed.sandbox.unix_sockets,
        vec![PathBuf::from("/run/pcscd.sock")]
    );
    assert_eq!(ok.sandbox.allow[0].env, vec!["OPENSSL_DIR"]);
    assert_eq!(ok.sandbox.allow[0].read, vec![PathBuf::from("/opt/x")]);
    let Err(crate::Error::Policy(e)) = Policy::parse(
        Path::new("reflex.toml"),
        "version = 1\n[sandbox]\npas-env = []\n[[sandbox.allow]]\nenv = [\"X\"]\n",
        crate::checks::catalog(),
    ) else {
        panic!("accepted")
    };
    let messages: Vec<&str> = e.problems.iter().map(|p| p.message.as_str()).collect();
    assert_eq!(
        messages,
        vec![
            "unknown key `pas-env`",
            "sandbox exception without a `crate`",
            "sandbox exception without a `reason`",
        ]
    );
}
