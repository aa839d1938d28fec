//! `cargo reflex drill`.

use clap::{Args, ValueEnum};
use reflex::drill::scenario::{self, Scenario};
use reflex::drill::{Layer, Options, render, tabletop};
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DrillFormat {
    Human,
    Json,
    Markdown,
}

#[derive(Args, Debug)]
pub struct DrillArgs {
    /// Play only these scenarios (repeatable) [default: all]
    #[arg(long = "scenario", short = 's', value_name = "NAME")]
    pub scenarios: Vec<String>,

    /// Also play your own scenarios: a directory with a scenario.toml, or holding such directories (repeatable)
    #[arg(long = "scenarios-dir", value_name = "DIR")]
    pub scenario_dirs: Vec<PathBuf>,

    /// Switch a layer off to see what is missed without it: gate, sandbox or monitor (repeatable)
    #[arg(long = "off", value_name = "LAYER", value_parser = parse_layer)]
    pub off: Vec<Layer>,

    /// Your policy file for the sample projects [default: ./reflex.toml when there is one, else what `init` writes for each]
    #[arg(long, value_name = "FILE", conflicts_with = "starter_policy")]
    pub policy: Option<PathBuf>,

    /// Use the starter policy `init` writes, even where ./reflex.toml exists
    #[arg(long)]
    pub starter_policy: bool,

    /// Output format of the scorecard
    #[arg(long, value_enum, default_value_t = DrillFormat::Human)]
    pub format: DrillFormat,

    /// Write the scorecard to this file instead of standard output
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Scratch directory (created; everything the drill writes goes there) [default: a new temporary directory]
    #[arg(long, value_name = "DIR")]
    pub scratch: Option<PathBuf>,

    /// Keep the scratch directory afterwards
    #[arg(long)]
    pub keep: bool,

    /// The state store that keeps the scorecards: a SQLite file or a postgres:// URL [default: state.sqlite in cargo-reflex's cache directory]
    #[arg(long, value_name = "FILE|URL", env = "CARGO_REFLEX_STATE")]
    pub state: Option<String>,

    /// Do not record this drill in the state store
    #[arg(long)]
    pub no_record: bool,

    /// Show past drills and the trend instead of running one
    #[arg(long, conflicts_with = "tabletop")]
    pub history: bool,

    /// Print the incident-response checklist for a scenario instead of running it
    #[arg(long, value_name = "SCENARIO")]
    pub tabletop: Option<String>,

    /// Who to call, for --tabletop (repeatable), for example "Security on-call: +1 555 0100"
    #[arg(long = "contact", value_name = "WHO", requires = "tabletop")]
    pub contacts: Vec<String>,

    /// Directory trees whose lockfiles --tabletop checks [default: .]
    #[arg(value_name = "PATH", requires = "tabletop")]
    pub paths: Vec<PathBuf>,

    /// List the scenarios and exit
    #[arg(long)]
    pub list: bool,

    /// Less progress on standard error
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

fn parse_layer(s: &str) -> Result<Layer, String> {
    Layer::parse(s).ok_or_else(|| format!("`{s}` is not a layer: gate, sandbox or monitor"))
}

fn write_out(args: &DrillArgs, text: &str) -> Result<(), reflex::Error> {
    match &args.output {
        Some(p) => std::fs::write(p, text).map_err(|e| reflex::Error::io(p, e)),
        None => std::io::stdout()
            .lock()
            .write_all(text.as_bytes())
            .map_err(|e| reflex::Error::io("<stdout>", e)),
    }
}

fn scenarios(args: &DrillArgs) -> Result<Vec<Scenario>, reflex::Error> {
    let mut all = scenario::builtin();
    for d in &args.scenario_dirs {
        all.extend(scenario::load_dir(d)?);
    }
    if args.scenarios.is_empty() {
        return Ok(all);
    }
    let mut chosen = Vec::new();
    for name in &args.scenarios {
        match all.iter().find(|s| &s.name == name) {
            Some(s) => chosen.push(s.clone()),
            None => {
                let names: Vec<&str> = all.iter().map(|s| s.name.as_str()).collect();
                return Err(reflex::Error::Usage(
                    format!("no scenario named `{name}`"),
                    Some(format!("scenarios: {}", names.join(", "))),
                ));
            }
        }
    }
    Ok(chosen)
}

pub fn run(args: DrillArgs) -> Result<u8, reflex::Error> {
    if args.history {
        let store = open_state(&args)?;
        let runs = store.drill_history()?;
        let text = match args.format {
            DrillFormat::Json => serde_json::to_string_pretty(&runs).unwrap_or_default() + "\n",
            _ => render::history(&runs),
        };
        write_out(&args, &text)?;
        return Ok(0);
    }
    let all = scenarios(&args)?;
    if args.list {
        let mut text = String::new();
        let w = all.iter().map(|s| s.name.len()).fold(22, usize::max);
        for s in &all {
            text.push_str(&format!("{:<w$} {}\n", s.name, s.title));
        }
        write_out(&args, &text)?;
        return Ok(0);
    }
    if let Some(name) = &args.tabletop {
        return run_tabletop(&args, &all, name);
    }
    let cargo = std::env::var_os("CARGO")
        .map(PathBuf::from)
        .filter(|c| c.is_file())
        .unwrap_or_else(|| PathBuf::from("cargo"));
    let mut pass_env = Vec::new();
    for k in ["PATH", "RUSTUP_HOME", "RUSTUP_TOOLCHAIN", "CARGO"] {
        if let Ok(v) = std::env::var(k) {
            pass_env.push((k.to_string(), v));
        }
    }
    if std::env::var_os("RUSTUP_HOME").is_none()
        && let Some(home) = std::env::var_os("HOME")
    {
        let rh = Path::new(&home).join(".rustup");
        if rh.is_dir() {
            pass_env.push(("RUSTUP_HOME".into(), rh.display().to_string()));
        }
    }
    let scratch = match &args.scratch {
        Some(d) => {
            if d.exists()
                && std::fs::read_dir(d)
                    .map(|mut r| r.next().is_some())
                    .unwrap_or(false)
            {
                return Err(reflex::Error::Usage(
                    format!("{} is not empty", d.display()),
                    Some("the drill writes only into an empty or new scratch directory".into()),
                ));
            }
            d.clone()
        }
        None => std::env::temp_dir().join(format!(
            "cargo-reflex-drill-{}-{}",
            std::process::id(),
            jiff::Timestamp::now().as_millisecond()
        )),
    };
    // The team's own rules when the drill runs in their repository.
    let policy = match (&args.policy, args.starter_policy) {
        (Some(p), _) => Some(p.clone()),
        (None, false) if Path::new("reflex.toml").is_file() => Some(PathBuf::from("reflex.toml")),
        _ => None,
    };
    if !args.quiet {
        let _ = writeln!(
            std::io::stderr(),
            "drill: policy: {}",
            policy.as_ref().map_or(
                "the starter policy of `cargo reflex init`".to_string(),
                |p| p.display().to_string()
            )
        );
    }
    let exe = std::env::current_exe().map_err(|e| reflex::Error::io("current executable", e))?;
    let opts = Options {
        exe,
        cargo,
        scratch: scratch.clone(),
        pass_env,
        off: args.off.clone(),
        policy: policy.map(|p| std::path::absolute(&p).unwrap_or(p)),
        now: jiff::Timestamp::now(),
    };
    let quiet = args.quiet;
    let mut err = std::io::stderr().lock();
    let mut progress = |msg: &str| {
        if !quiet {
            let _ = writeln!(err, "drill: {msg}");
        }
    };
    let result = reflex::drill::run(&all, &opts, &mut progress);
    if !args.keep {
        let _ = std::fs::remove_dir_all(&scratch);
    }
    let card = result?;
    if !args.no_record {
        let store = open_state(&args)?;
        store.record_drill(&card.records())?;
    }
    let text = match args.format {
        DrillFormat::Human => render::human(&card),
        DrillFormat::Markdown => render::markdown(&card),
        DrillFormat::Json => serde_json::to_string_pretty(&card).unwrap_or_default() + "\n",
    };
    write_out(&args, &text)?;
    if args.keep && !quiet {
        let _ = writeln!(
            std::io::stderr(),
            "drill: scratch kept in {}",
            scratch.display()
        );
    }
    Ok(if card.passed == card.total { 0 } else { 1 })
}

fn open_state(args: &DrillArgs) -> Result<Box<dyn reflex::state::StateStore>, reflex::Error> {
    let store = reflex::state::open(&reflex::state::Location::or_default(args.state.as_deref())?)?;
    if let Some(notice) = store.opened() {
        let _ = std::io::Write::write_all(&mut std::io::stderr(), format!("{notice}\n").as_bytes());
    }
    Ok(store)
}

fn run_tabletop(args: &DrillArgs, all: &[Scenario], name: &str) -> Result<u8, reflex::Error> {
    let Some(s) = all.iter().find(|s| s.name == name) else {
        let names: Vec<&str> = all.iter().map(|s| s.name.as_str()).collect();
        return Err(reflex::Error::Usage(
            format!("no scenario named `{name}`"),
            Some(format!("scenarios: {}", names.join(", "))),
        ));
    };
    let roots = if args.paths.is_empty() {
        vec![std::env::current_dir().map_err(|e| reflex::Error::io(".", e))?]
    } else {
        args.paths.clone()
    };
    let env: Vec<(String, String)> = std::env::vars().collect();
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let cx = tabletop::Checklist::gather(s, &env, home.as_deref(), roots, args.contacts.clone())?;
    let t = tabletop::tabletop(s, &cx);
    let text = match args.format {
        DrillFormat::Json => serde_json::to_string_pretty(&t).unwrap_or_default() + "\n",
        DrillFormat::Markdown => tabletop::human(&t, true),
        DrillFormat::Human => tabletop::human(&t, false),
    };
    write_out(args, &text)?;
    Ok(0)
}
