use super::*;

fn shape(name: &str, target: &str) -> Option<Shape> {
    classify(name, target)
}

#[test]
fn separators() {
    assert_eq!(shape("lazystatic", "lazy_static"), Some(Shape::Separators));
    assert_eq!(shape("bit_flags", "bitflags"), Some(Shape::Separators));
    assert_eq!(
        shape("tauri_win_rt_notification", "tauri_winrt_notification"),
        Some(Shape::Separators)
    );
    // Too short to be anything but chance.
    assert_eq!(shape("a_bc", "abc"), None);
}

#[test]
fn words_swapped_needs_the_same_words() {
    assert_eq!(shape("if_cfg", "cfg_if"), Some(Shape::WordsSwapped));
    assert_eq!(shape("rpc_monero", "monero_rpc"), Some(Shape::WordsSwapped));
    assert_eq!(shape("if_cfgs", "cfg_if"), None);
}

#[test]
fn affixes_and_versions() {
    assert_eq!(shape("lasso_rs", "lasso"), Some(Shape::Affix("-rs".into())));
    assert_eq!(
        shape("finch_rst", "finch"),
        Some(Shape::Affix("-rst".into()))
    );
    assert_eq!(
        shape("lfest_main", "lfest"),
        Some(Shape::Affix("-main".into()))
    );
    assert_eq!(shape("sha_rust", "sha"), Some(Shape::Affix("-rust".into())));
    assert_eq!(
        shape("rust_tracing", "tracing"),
        Some(Shape::Affix("rust-".into()))
    );
    assert_eq!(
        shape("polymarket_client_sdks", "polymarket_client"),
        Some(Shape::Affix("-sdks".into()))
    );
    assert_eq!(
        shape("monero_rpc_rs", "monero_rpc"),
        Some(Shape::Affix("-rs".into()))
    );
    assert_eq!(
        shape("serde_v2", "serde"),
        Some(Shape::Version("-v2".into()))
    );
    assert_eq!(
        shape("get_size2", "get_size"),
        Some(Shape::Version("2".into()))
    );
    // Companion suffixes are how crates name their own companions.
    assert_eq!(shape("serde_derive", "serde"), None);
    assert_eq!(shape("tokio_macros", "tokio"), None);
    assert_eq!(shape("openssl_sys", "openssl"), None);
    // The stem must be a name, not a fragment.
    assert_eq!(shape("rs_rs", "rs"), None);
}

#[test]
fn plural_and_singular_per_word() {
    assert_eq!(shape("rands", "rand"), Some(Shape::Plural));
    assert_eq!(shape("tracings", "tracing"), Some(Shape::Plural));
    assert_eq!(
        shape("polymarket_clients_sdk", "polymarket_client_sdk"),
        Some(Shape::Plural)
    );
    assert_eq!(
        shape("polymarkets_client_sdk", "polymarket_client_sdk"),
        Some(Shape::Plural)
    );
    assert_eq!(shape("proxies", "proxy"), Some(Shape::Plural));
    assert_eq!(shape("tokio_util", "tokio_utils"), Some(Shape::Singular));
    assert_eq!(shape("boxes", "box"), Some(Shape::Plural));
    assert_eq!(shape("cats_dogs", "cat_dog"), None, "two words changed");
}

#[test]
fn digits_and_homoglyphs() {
    assert_eq!(
        shape("proc_macro1", "proc_macro2"),
        Some(Shape::Digit { from: '2', to: '1' })
    );
    assert_eq!(
        shape("5erde", "serde"),
        Some(Shape::Homoglyph {
            from: "s".into(),
            to: "5".into()
        })
    );
    assert_eq!(
        shape("rnio", "mio"),
        Some(Shape::Homoglyph {
            from: "m".into(),
            to: "rn".into()
        })
    );
    assert_eq!(
        shape("ciap", "clap"),
        Some(Shape::Homoglyph {
            from: "l".into(),
            to: "i".into()
        })
    );
    assert_eq!(
        shape("tok1o", "tokio").map(|s| s.often_innocent()),
        Some(false)
    );
}

#[test]
fn one_keystroke_off() {
    assert_eq!(
        shape("serd", "serde"),
        Some(Shape::Typo(Typo::Omitted('e')))
    );
    assert_eq!(
        shape("postgress", "postgres"),
        Some(Shape::Typo(Typo::Repeated('s')))
    );
    assert_eq!(
        shape("sedre", "serde"),
        Some(Shape::Typo(Typo::Swapped('d', 'r')))
    );
    assert_eq!(
        shape("reqwesr", "reqwest"),
        Some(Shape::Typo(Typo::Substituted {
            from: 't',
            to: 'r',
            keyboard: true
        }))
    );
    assert!(shape("serd", "serde").unwrap().often_innocent());
    // Short names are one keystroke from many others.
    assert_eq!(shape("nom", "mom"), None);
    assert_eq!(shape("hash", "hasp"), None);
    // Two keystrokes are no look-alike.
    assert_eq!(shape("sedr", "serde"), None);
}

#[test]
fn affix_with_one_keystroke() {
    assert_eq!(
        shape("rust_regx", "regex"),
        Some(Shape::AffixTypo("rust-".into(), Typo::Omitted('e')))
    );
    // A changed character on top of an affix is too loose: `sonic-rs` is not `tonic`.
    assert_eq!(shape("sonic_rs", "tonic"), None);
}

#[test]
fn sources_reach_every_shape() {
    for (name, target) in [
        ("serd", "serde"),
        ("rands", "rand"),
        ("postgress", "postgres"),
        ("if_cfg", "cfg_if"),
        ("lasso_rs", "lasso"),
        ("rust_regx", "regex"),
        ("proc_macro1", "proc_macro2"),
        ("get_size2", "get_size"),
        ("serde_v2", "serde"),
        ("rnio", "mio"),
        ("boxes", "box"),
        ("proxies", "proxy"),
        ("sedre", "serde"),
    ] {
        let mut found = false;
        sources(name, &mut |s| found |= s == target);
        assert!(found, "{name} -> {target}");
    }
    let mut any = false;
    sources("ünïcode", &mut |_| any = true);
    sources(&"a".repeat(100_000), &mut |_| any = true);
    assert!(!any);
    assert_eq!(classify(&"a".repeat(100_000), "serde"), None);
}
