//! Fault injection: the `--faults` syntax of DESIGN.md and the decisions drawn from it.
//!
//! SPEC is a comma-separated list of `provider:operation:kind=rate`, rate in 0–1, `*` for any
//! provider or operation. A kind on an operation it does not fit (e.g. `submit:dup`) is refused.

use std::fmt;
use std::str::FromStr;

use rand::Rng;

/// A provider of the sim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Provider {
    VibePeak,
    VideoGen,
    Vidiking,
}

impl Provider {
    pub(crate) const ALL: [Provider; 3] =
        [Provider::VibePeak, Provider::VideoGen, Provider::Vidiking];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Provider::VibePeak => "vibepeak",
            Provider::VideoGen => "videogen",
            Provider::Vidiking => "vidiking",
        }
    }

    pub(crate) fn from_name(s: &str) -> Option<Provider> {
        Provider::ALL.into_iter().find(|p| p.name() == s)
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// An operation a fault applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Submit,
    Status,
    List,
    Cancel,
    Files,
    Endpoints,
    Download,
    Webhook,
}

impl Op {
    const ALL: [Op; 8] = [
        Op::Submit,
        Op::Status,
        Op::List,
        Op::Cancel,
        Op::Files,
        Op::Endpoints,
        Op::Download,
        Op::Webhook,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Op::Submit => "submit",
            Op::Status => "status",
            Op::List => "list",
            Op::Cancel => "cancel",
            Op::Files => "files",
            Op::Endpoints => "endpoints",
            Op::Download => "download",
            Op::Webhook => "webhook",
        }
    }
}

/// What a fault does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Answer 500 or 503.
    Status5xx,
    /// Answer 429 with `Retry-After`.
    Status429,
    /// Close the connection without an answer; the request is not processed.
    Drop,
    /// Delay the answer by 2–5 real seconds.
    Slow,
    /// Submit only: create the task, then close the connection before the answer.
    Lost,
    /// Webhook never delivered.
    Lose,
    /// Webhook delivered twice.
    Dup,
    /// Webhook delivered late.
    Delay,
    /// An extra webhook with a bad signature or a stale timestamp.
    Forge,
}

impl Kind {
    const ALL: [Kind; 9] = [
        Kind::Status5xx,
        Kind::Status429,
        Kind::Drop,
        Kind::Slow,
        Kind::Lost,
        Kind::Lose,
        Kind::Dup,
        Kind::Delay,
        Kind::Forge,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Status5xx => "5xx",
            Kind::Status429 => "429",
            Kind::Drop => "drop",
            Kind::Slow => "slow",
            Kind::Lost => "lost",
            Kind::Lose => "lose",
            Kind::Dup => "dup",
            Kind::Delay => "delay",
            Kind::Forge => "forge",
        }
    }

    fn for_webhooks(self) -> bool {
        matches!(self, Kind::Lose | Kind::Dup | Kind::Delay | Kind::Forge)
    }
}

#[derive(Debug, Clone, PartialEq)]
struct Rule {
    provider: Option<Provider>,
    op: Option<Op>,
    kind: Kind,
    rate: f64,
}

impl Rule {
    fn matches(&self, provider: Provider, op: Op) -> bool {
        self.provider.is_none_or(|p| p == provider) && self.op.is_none_or(|o| o == op)
    }

    /// Whether the kind does anything on `op` (`lost` only on submits, webhook kinds only on
    /// webhooks, the others everywhere but webhooks).
    fn applies_to(&self, op: Op) -> bool {
        match (op, self.kind) {
            (Op::Webhook, k) => k.for_webhooks(),
            (_, k) if k.for_webhooks() => false,
            (Op::Submit, Kind::Lost) => true,
            (_, Kind::Lost) => false,
            _ => true,
        }
    }
}

/// A parsed `--faults` SPEC. `Default` injects nothing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Faults {
    rules: Vec<Rule>,
}

/// Why a `--faults` SPEC was refused; the message names the offending word.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FaultsError {
    /// An entry is not of the form `provider:operation:kind=rate`.
    #[error("fault `{entry}` is not of the form provider:operation:kind=rate")]
    Syntax {
        /// The whole entry.
        entry: String,
    },
    /// The provider word is unknown.
    #[error(
        "unknown provider `{word}` in fault `{entry}` (expected vibepeak, videogen, vidiking or *)"
    )]
    UnknownProvider {
        /// The unknown word.
        word: String,
        /// The whole entry.
        entry: String,
    },
    /// The operation word is unknown.
    #[error(
        "unknown operation `{word}` in fault `{entry}` (expected submit, status, list, cancel, files, endpoints, download, webhook or *)"
    )]
    UnknownOperation {
        /// The unknown word.
        word: String,
        /// The whole entry.
        entry: String,
    },
    /// The kind word is unknown.
    #[error(
        "unknown fault kind `{word}` in fault `{entry}` (expected 5xx, 429, drop, slow, lost, lose, dup, delay or forge)"
    )]
    UnknownKind {
        /// The unknown word.
        word: String,
        /// The whole entry.
        entry: String,
    },
    /// The kind does not fit the operation (e.g. `submit:dup`, `webhook:5xx`).
    #[error("fault kind `{kind}` does not fit operation `{op}` in fault `{entry}`")]
    Misfit {
        /// The operation word.
        op: String,
        /// The kind word.
        kind: String,
        /// The whole entry.
        entry: String,
    },
    /// More than one thing is wrong: each is named, in the order of the SPEC.
    #[error("{} faults refused: {}", .0.len(), join_errors(.0))]
    Several(Vec<FaultsError>),
    /// The rate is not a number in 0–1.
    #[error("rate `{word}` in fault `{entry}` is not a number between 0 and 1")]
    Rate {
        /// The rate word.
        word: String,
        /// The whole entry.
        entry: String,
    },
}

fn join_errors(errors: &[FaultsError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl FromStr for Faults {
    type Err = FaultsError;

    /// Parses every entry and refuses the SPEC when any is wrong, naming every wrong word of
    /// every entry (a user fixing a long SPEC should not meet its errors one run at a time).
    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        let mut rules = Vec::new();
        let mut errors = Vec::new();
        for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            match parse_rule(entry) {
                Ok(rule) => rules.push(rule),
                Err(mut e) => errors.append(&mut e),
            }
        }
        match errors.len() {
            0 => Ok(Faults { rules }),
            1 => Err(errors.remove(0)),
            _ => Err(FaultsError::Several(errors)),
        }
    }
}

/// One `provider:operation:kind=rate` entry, or every reason it is wrong.
fn parse_rule(entry: &str) -> Result<Rule, Vec<FaultsError>> {
    let syntax = || {
        vec![FaultsError::Syntax {
            entry: entry.to_string(),
        }]
    };
    let (lhs, rate_word) = entry.split_once('=').ok_or_else(syntax)?;
    let parts: Vec<&str> = lhs.split(':').map(str::trim).collect();
    let [provider_word, op_word, kind_word] = parts[..] else {
        return Err(syntax());
    };
    let mut errors = Vec::new();
    let provider = match provider_word {
        "*" => Ok(None),
        w => Provider::from_name(w)
            .map(Some)
            .ok_or_else(|| FaultsError::UnknownProvider {
                word: w.to_string(),
                entry: entry.to_string(),
            }),
    };
    let op = match op_word {
        "*" => Ok(None),
        w => Op::ALL
            .into_iter()
            .find(|o| o.name() == w)
            .map(Some)
            .ok_or_else(|| FaultsError::UnknownOperation {
                word: w.to_string(),
                entry: entry.to_string(),
            }),
    };
    let kind = Kind::ALL
        .into_iter()
        .find(|k| k.name() == kind_word)
        .ok_or_else(|| FaultsError::UnknownKind {
            word: kind_word.to_string(),
            entry: entry.to_string(),
        });
    let rate_word = rate_word.trim();
    let rate = rate_word
        .parse()
        .ok()
        .filter(|r: &f64| (0.0..=1.0).contains(r))
        .ok_or_else(|| FaultsError::Rate {
            word: rate_word.to_string(),
            entry: entry.to_string(),
        });
    // `lost` on a non-submit operation is accepted and ignored, as the contract says; a
    // webhook kind off the webhook operation, or a request kind on it, is refused.
    if let (Ok(Some(op)), Ok(kind)) = (&op, &kind) {
        if (*op == Op::Webhook) != kind.for_webhooks() {
            errors.push(FaultsError::Misfit {
                op: op_word.to_string(),
                kind: kind_word.to_string(),
                entry: entry.to_string(),
            });
        }
    }
    match (provider, op, kind, rate) {
        (Ok(provider), Ok(op), Ok(kind), Ok(rate)) if errors.is_empty() => Ok(Rule {
            provider,
            op,
            kind,
            rate,
        }),
        (provider, op, kind, rate) => {
            let mut all: Vec<FaultsError> = [provider.err(), op.err(), kind.err(), rate.err()]
                .into_iter()
                .flatten()
                .collect();
            all.append(&mut errors);
            Err(all)
        }
    }
}

impl fmt::Display for Faults {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.rules.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(
                f,
                "{}:{}:{}={}",
                r.provider.map_or("*", Provider::name),
                r.op.map_or("*", Op::name),
                r.kind.name(),
                r.rate
            )?;
        }
        Ok(())
    }
}

impl Faults {
    /// Whether no fault is configured.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The first request fault that fires for `op` of `provider`, if any (rules tried in order).
    pub(crate) fn roll_request<R: Rng>(
        &self,
        provider: Provider,
        op: Op,
        rng: &mut R,
    ) -> Option<Kind> {
        self.rules
            .iter()
            .filter(|r| r.matches(provider, op) && r.applies_to(op))
            .find(|r| r.rate > 0.0 && rng.gen_bool(r.rate.min(1.0)))
            .map(|r| r.kind)
    }

    /// Every webhook fault that fires for one event of `provider` (each rule rolls once).
    pub(crate) fn roll_webhook<R: Rng>(&self, provider: Provider, rng: &mut R) -> Vec<Kind> {
        let mut out = Vec::new();
        for r in &self.rules {
            if r.matches(provider, Op::Webhook)
                && r.applies_to(Op::Webhook)
                && r.rate > 0.0
                && rng.gen_bool(r.rate.min(1.0))
                && !out.contains(&r.kind)
            {
                out.push(r.kind);
            }
        }
        out
    }

    /// Whether any rule could touch webhooks of `provider` (to skip the dice when none can).
    pub(crate) fn has_webhook_rules(&self, provider: Provider) -> bool {
        self.rules
            .iter()
            .any(|r| r.matches(provider, Op::Webhook) && r.applies_to(Op::Webhook))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn parses_the_design_example() {
        let f: Faults = "*:*:5xx=0.05,videogen:submit:lost=0.1,*:webhook:dup=0.3"
            .parse()
            .unwrap();
        assert_eq!(f.rules.len(), 3);
        assert_eq!(
            f.to_string(),
            "*:*:5xx=0.05,videogen:submit:lost=0.1,*:webhook:dup=0.3"
        );
        assert!("".parse::<Faults>().unwrap().is_empty());
    }

    #[test]
    fn refuses_unknown_words_and_misfits_naming_them() {
        let e = "foo:submit:5xx=0.1".parse::<Faults>().unwrap_err();
        assert!(e.to_string().contains("`foo`"), "{e}");
        let e = "*:poll:5xx=0.1".parse::<Faults>().unwrap_err();
        assert!(e.to_string().contains("`poll`"), "{e}");
        let e = "*:*:boom=0.1".parse::<Faults>().unwrap_err();
        assert!(e.to_string().contains("`boom`"), "{e}");
        let e = "*:submit:dup=0.1".parse::<Faults>().unwrap_err();
        assert!(matches!(e, FaultsError::Misfit { .. }), "{e}");
        assert!(e.to_string().contains("`dup`") && e.to_string().contains("`submit`"));
        let e = "*:webhook:5xx=0.1".parse::<Faults>().unwrap_err();
        assert!(matches!(e, FaultsError::Misfit { .. }), "{e}");
        let e = "*:*:5xx=1.5".parse::<Faults>().unwrap_err();
        assert!(e.to_string().contains("`1.5`"), "{e}");
        let e = "*:*:5xx".parse::<Faults>().unwrap_err();
        assert!(matches!(e, FaultsError::Syntax { .. }), "{e}");
        // `lost` elsewhere than submit is accepted and ignored.
        let f: Faults = "*:status:lost=1".parse().unwrap();
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        assert_eq!(
            f.roll_request(Provider::VideoGen, Op::Status, &mut rng),
            None
        );
    }

    #[test]
    fn a_spec_with_several_mistakes_names_every_one() {
        let e = "foo:submit:5xx=0.1,vibepeak:bogus:dup=0.2,videogen:submit:forge=0.1,*:*:5xx=0.1"
            .parse::<Faults>()
            .unwrap_err();
        assert!(matches!(&e, FaultsError::Several(v) if v.len() == 3), "{e}");
        let msg = e.to_string();
        for word in ["`foo`", "`bogus`", "`forge`", "`submit`"] {
            assert!(msg.contains(word), "{word} missing from: {msg}");
        }
        // Every wrong word of one entry, too.
        let e = "foo:poll:boom=7".parse::<Faults>().unwrap_err();
        let msg = e.to_string();
        for word in ["`foo`", "`poll`", "`boom`", "`7`"] {
            assert!(msg.contains(word), "{word} missing from: {msg}");
        }
    }

    #[test]
    fn star_rules_apply_only_where_they_fit() {
        let f: Faults = "*:*:5xx=1,*:*:dup=1".parse().unwrap();
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        assert_eq!(
            f.roll_request(Provider::Vidiking, Op::Status, &mut rng),
            Some(Kind::Status5xx)
        );
        assert_eq!(
            f.roll_webhook(Provider::Vidiking, &mut rng),
            vec![Kind::Dup]
        );
    }
}
