//! The decision in every state, and a simulated AWS in which runs are killed at random
//! points: AWSCURRENT must work on the server after every write.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use proptest::prelude::*;

use crate::decide::{Done, Goal, Memory, Next, next};
use crate::model::*;

const T0: u64 = 1_800_000_000;

fn at(seconds: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(T0 + seconds)
}

fn token_target() -> Target {
    Target {
        stack: "demo".into(),
        secret: "demo/auth-token".into(),
        replication_group_id: "demo".into(),
        kind: Kind::AuthToken,
    }
}

fn user_target() -> Target {
    Target {
        kind: Kind::UserPassword {
            user_id: "demo-app".into(),
            user_name: "app".into(),
        },
        secret: "demo/users/app".into(),
        ..token_target()
    }
}

fn version(id: &str, stages: &[&str], created: u64) -> Version {
    Version {
        id: id.into(),
        stages: stages.iter().map(|s| (*s).to_owned()).collect(),
        created: at(created),
    }
}

fn available() -> GroupState {
    GroupState {
        status: "available".into(),
        auth_token_status: None,
        other_pending: false,
        token_last_modified: Some(at(0)),
        endpoint: None,
    }
}

fn observed(versions: Vec<Version>) -> Observed {
    Observed {
        secret: SecretState {
            arn: "arn:secret".into(),
            tags: BTreeMap::new(),
            versions,
        },
        group: available(),
        user: Some(UserState {
            status: "active".into(),
        }),
    }
}

fn decide(target: &Target, observed: &Observed, memory: &Memory) -> Next {
    next(
        target,
        observed,
        Previous::Keep,
        Goal::Rotate { version: "new" },
        memory,
        at(100),
    )
    .expect("a decision")
}

fn revoke(observed: &Observed, memory: &Memory, now: u64) -> Next {
    next(
        &token_target(),
        observed,
        Previous::RevokeAfter(Duration::from_secs(60)),
        Goal::RevokeDue,
        memory,
        at(now),
    )
    .expect("a decision")
}

#[test]
fn nothing_pending_creates_the_new_version() {
    let state = observed(vec![version("v1", &[CURRENT], 0)]);
    assert_eq!(
        decide(&token_target(), &state, &Memory::default()),
        Next::Create {
            version: "new".into()
        }
    );
}

#[test]
fn a_pending_version_is_resumed_with_its_own_id_never_a_second_one() {
    let state = observed(vec![
        version("v1", &[CURRENT], 0),
        version("p", &[PENDING], 10),
    ]);
    assert_eq!(
        decide(&token_target(), &state, &Memory::default()),
        Next::Set {
            pending: "p".into(),
            current: "v1".into()
        }
    );
}

#[test]
fn a_busy_group_is_waited_for_before_any_modification() {
    let mut state = observed(vec![
        version("v1", &[CURRENT], 0),
        version("p", &[PENDING], 10),
    ]);
    state.group.status = "modifying".into();
    assert!(
        matches!(decide(&token_target(), &state, &Memory::default()), Next::Wait { why } if why.contains("modifying"))
    );
    state.group.status = "available".into();
    state.group.other_pending = true;
    assert!(matches!(
        decide(&token_target(), &state, &Memory::default()),
        Next::Wait { .. }
    ));
}

#[test]
fn a_rotate_in_progress_is_waited_for_and_never_sent_again() {
    let mut state = observed(vec![
        version("v1", &[CURRENT], 0),
        version("p", &[PENDING], 10),
    ]);
    state.group.status = "modifying".into();
    state.group.auth_token_status = Some("ROTATING".into());
    assert!(matches!(
        decide(&token_target(), &state, &Memory::default()),
        Next::Wait { .. }
    ));
    state.group.status = "available".into();
    assert!(
        matches!(decide(&token_target(), &state, &Memory::default()), Next::Wait { why } if why.contains("ROTATING"))
    );
    // Done: the tokens changed after the pending version was made.
    state.group = GroupState {
        token_last_modified: Some(at(12)),
        ..available()
    };
    assert_eq!(
        decide(&token_target(), &state, &Memory::default()),
        Next::Test {
            pending: "p".into()
        }
    );
}

#[test]
fn a_rotate_this_run_sent_is_waited_for_even_before_aws_shows_it() {
    let state = observed(vec![
        version("v1", &[CURRENT], 0),
        version("p", &[PENDING], 10),
    ]);
    let sent = Memory {
        set: Some("p".into()),
        ..Memory::default()
    };
    assert!(
        matches!(decide(&token_target(), &state, &sent), Next::Wait { why } if why.contains("accepted"))
    );
}

#[test]
fn a_token_change_within_a_second_of_the_pending_version_came_before_it() {
    let mut state = observed(vec![
        version("v1", &[CURRENT], 0),
        version("p", &[PENDING], 10),
    ]);
    state.group.token_last_modified = Some(at(10) + Duration::from_millis(400));
    assert!(matches!(
        decide(&token_target(), &state, &Memory::default()),
        Next::Set { .. }
    ));
}

#[test]
fn tested_then_finished_then_recorded_then_done() {
    let mut state = observed(vec![
        version("v1", &[CURRENT], 0),
        version("p", &[PENDING], 10),
    ]);
    state.group.token_last_modified = Some(at(20));
    let mut tested = Memory {
        rotating: Some("p".into()),
        tested: Some("p".into()),
        ..Memory::default()
    };
    assert_eq!(
        decide(&token_target(), &state, &tested),
        Next::Finish {
            pending: "p".into(),
            current: "v1".into()
        }
    );
    tested.note(&Next::Finish {
        pending: "p".into(),
        current: "v1".into(),
    });
    state.secret.versions = vec![
        version("v1", &[PREVIOUS], 0),
        version("p", &[CURRENT, PENDING], 10),
    ];
    assert_eq!(
        decide(&token_target(), &state, &tested),
        Next::Record {
            current: "p".into(),
            replaced: Some("v1".into()),
        }
    );
    state
        .secret
        .tags
        .insert(ROTATED_TAG.into(), rotated_tag("p", at(30)));
    // A run that asked for another id sees a finished rotation and starts a new one;
    // the run that finished it is done.
    let finished = next(
        &token_target(),
        &state,
        Previous::Keep,
        Goal::Rotate { version: "p" },
        &Memory::default(),
        at(40),
    );
    assert_eq!(
        finished,
        Ok(Next::Done(Done::Rotated {
            version: "p".into()
        }))
    );
}

#[test]
fn a_user_password_is_set_again_by_a_run_that_does_not_know_it_was_set() {
    let state = observed(vec![
        version("v1", &[CURRENT], 0),
        version("p", &[PENDING], 10),
    ]);
    let target = user_target();
    assert!(matches!(
        decide(&target, &state, &Memory::default()),
        Next::Set { .. }
    ));
    let set = Memory {
        set: Some("p".into()),
        ..Memory::default()
    };
    assert_eq!(
        decide(&target, &state, &set),
        Next::Test {
            pending: "p".into()
        }
    );
    let mut modifying = state.clone();
    modifying.user = Some(UserState {
        status: "modifying".into(),
    });
    assert!(
        matches!(decide(&target, &modifying, &set), Next::Wait { why } if why.contains("user app is modifying"))
    );
}

#[test]
fn a_manual_update_in_between_is_what_the_pending_version_is_set_beside() {
    // Someone stored a value by hand while a rotation was pending: AWSCURRENT moved.
    let state = observed(vec![
        version("v1", &[PREVIOUS], 0),
        version("p", &[PENDING], 10),
        version("manual", &[CURRENT], 20),
    ]);
    assert_eq!(
        decide(&user_target(), &state, &Memory::default()),
        Next::Set {
            pending: "p".into(),
            current: "manual".into()
        }
    );
}

#[test]
fn a_secret_without_a_current_version_is_refused() {
    let state = observed(vec![version("p", &[PENDING], 10)]);
    let decided = next(
        &token_target(),
        &state,
        Previous::Keep,
        Goal::Rotate { version: "new" },
        &Memory::default(),
        at(0),
    );
    assert!(decided.is_err());
}

fn rotated_once() -> Observed {
    let mut state = observed(vec![
        version("v1", &[PREVIOUS], 0),
        version("v2", &[CURRENT, PENDING], 10),
    ]);
    state
        .secret
        .tags
        .insert(ROTATED_TAG.into(), rotated_tag("v2", at(30)));
    state.secret.tags.insert(REPLACED_TAG.into(), "v1".into());
    state
}

#[test]
fn keep_never_revokes() {
    let decided = next(
        &token_target(),
        &rotated_once(),
        Previous::Keep,
        Goal::RevokeDue,
        &Memory::default(),
        at(10_000),
    );
    assert!(matches!(
        decided,
        Ok(Next::Done(Done::NothingToRevoke { .. }))
    ));
}

#[test]
fn the_previous_credential_is_revoked_only_after_the_grace_period() {
    let state = rotated_once();
    assert_eq!(
        revoke(&state, &Memory::default(), 60),
        Next::Done(Done::RevokeNotDue { due: at(90) })
    );
    assert_eq!(
        revoke(&state, &Memory::default(), 90),
        Next::Revoke {
            current: "v2".into()
        }
    );
    let mut busy = state.clone();
    busy.group.status = "modifying".into();
    assert!(matches!(
        revoke(&busy, &Memory::default(), 90),
        Next::Wait { .. }
    ));
    let set = Memory {
        revoke_set: Some("v2".into()),
        ..Memory::default()
    };
    assert_eq!(
        revoke(&state, &set, 95),
        Next::TestRevoked {
            current: "v2".into(),
            previous: "v1".into(),
        }
    );
    let tested = Memory {
        revoke_tested: Some("v2".into()),
        ..set
    };
    assert_eq!(
        revoke(&state, &tested, 95),
        Next::RecordRevoked {
            current: "v2".into()
        }
    );
    let mut recorded = state;
    recorded.secret.tags.insert(REVOKED_TAG.into(), "v2".into());
    assert_eq!(
        revoke(&recorded, &Memory::default(), 95),
        Next::Done(Done::Revoked {
            version: "v2".into()
        })
    );
}

#[test]
fn a_grace_period_without_a_record_starts_when_it_is_recorded() {
    let mut state = rotated_once();
    state.secret.tags.remove(ROTATED_TAG);
    assert_eq!(
        revoke(&state, &Memory::default(), 10_000),
        Next::Record {
            current: "v2".into(),
            replaced: None,
        }
    );
}

#[test]
fn nothing_is_revoked_while_a_rotation_is_pending_or_without_a_previous_version() {
    let mut pending = rotated_once();
    pending.secret.versions.push(version("v3", &[PENDING], 50));
    assert!(matches!(
        revoke(&pending, &Memory::default(), 10_000),
        Next::Done(Done::NothingToRevoke { why }) if why.contains("in progress")
    ));
    let first = observed(vec![version("v1", &[CURRENT], 0)]);
    assert!(matches!(
        revoke(&first, &Memory::default(), 10_000),
        Next::Done(Done::NothingToRevoke { .. })
    ));
    // AWSPREVIOUS alone (a rewritten document holds the same credential) is not a
    // previous credential: only what a rotation replaced is.
    let mut rewritten = rotated_once();
    rewritten.secret.tags.remove(REPLACED_TAG);
    assert!(matches!(
        revoke(&rewritten, &Memory::default(), 10_000),
        Next::Done(Done::NothingToRevoke { why }) if why.contains("no rotation has recorded")
    ));
}

/// A simulated Secrets Manager and ElastiCache: versions with values, the server's
/// tokens or passwords, changes that take a second to apply, and `apply` rewriting the
/// current document now and then.
#[derive(Debug, Clone)]
struct World {
    clock: u64,
    versions: Vec<(Version, String)>,
    tags: BTreeMap<String, String>,
    accepted: Vec<String>,
    /// A change being applied: since when, and what the server accepts once it is.
    applying: Option<(u64, Vec<String>)>,
    last_modified: u64,
    next_value: u32,
}

impl World {
    fn new() -> World {
        World {
            clock: 5,
            versions: vec![(version("v0", &[CURRENT], 1), "value-0".into())],
            tags: BTreeMap::new(),
            accepted: vec!["value-0".into()],
            applying: None,
            last_modified: 1,
            next_value: 1,
        }
    }

    /// What AWS shows; a change takes two seconds to apply.
    fn observe(&mut self) -> Observed {
        if let Some((since, accepted)) = self.applying.take() {
            if self.clock >= since + 2 {
                self.accepted = accepted;
                self.last_modified = self.clock;
            } else {
                self.applying = Some((since, accepted));
            }
        }
        let busy = self.applying.is_some();
        Observed {
            secret: SecretState {
                arn: "arn".into(),
                tags: self.tags.clone(),
                versions: self.versions.iter().map(|(v, _)| v.clone()).collect(),
            },
            group: GroupState {
                status: if busy { "modifying" } else { "available" }.into(),
                auth_token_status: None,
                other_pending: false,
                token_last_modified: Some(at(self.last_modified)),
                endpoint: None,
            },
            user: Some(UserState {
                status: "active".into(),
            }),
        }
    }

    fn value(&self, id: &str) -> String {
        self.versions
            .iter()
            .find(|(v, _)| v.id == id)
            .map(|(_, value)| value.clone())
            .unwrap_or_default()
    }

    /// What `apply` does when the connection fields change: a new version with the
    /// current credential becomes AWSCURRENT (AWSPREVIOUS follows), and the rotation's
    /// record moves with it; never while a rotation is pending.
    fn rewrite_document(&mut self) {
        if self
            .versions
            .iter()
            .any(|(v, _)| v.is(PENDING) && !v.is(CURRENT))
        {
            return;
        }
        self.clock += 1;
        let id = format!("doc{}", self.clock);
        let Some(old) = self.versions.iter().position(|(v, _)| v.is(CURRENT)) else {
            return;
        };
        let value = self.versions[old].1.clone();
        let old_id = self.versions[old].0.id.clone();
        for (v, _) in &mut self.versions {
            v.stages.retain(|s| s != PREVIOUS);
        }
        self.versions[old].0.stages = vec![PREVIOUS.into()];
        self.versions
            .push((version(&id, &[CURRENT], self.clock), value));
        let carried = secrets::rotated_at(&self.tags)
            .filter(|(version, _)| *version == old_id)
            .map(|(_, at)| at);
        if let Some(at) = carried {
            self.tags.insert(ROTATED_TAG.into(), rotated_tag(&id, at));
        }
    }

    fn current_works(&self) -> bool {
        let current = self.versions.iter().find(|(v, _)| v.is(CURRENT));
        current.is_some_and(|(_, value)| self.accepted.contains(value))
    }

    /// Performs `step` as AWS would; `false` when a test fails.
    fn perform(&mut self, kind: &Kind, step: &Next, memory: &mut Memory) -> bool {
        self.clock += 1;
        match step {
            Next::Create { version: id } => {
                for (v, _) in &mut self.versions {
                    v.stages.retain(|s| s != PENDING);
                }
                let value = format!("value-{}", self.next_value);
                self.next_value += 1;
                self.versions
                    .push((version(id, &[PENDING], self.clock), value));
            }
            Next::Set { pending, current } => {
                let new = self.value(pending);
                let mut accepted = match kind {
                    // ROTATE keeps the newest token and adds this one.
                    Kind::AuthToken => self.accepted.last().cloned().into_iter().collect(),
                    Kind::UserPassword { .. } => vec![self.value(current)],
                };
                accepted.push(new);
                self.applying = Some((self.clock, accepted));
                memory.set = Some(pending.clone());
            }
            Next::Test { pending } => {
                if !self.accepted.contains(&self.value(pending)) {
                    return false;
                }
                memory.tested = Some(pending.clone());
            }
            Next::Finish { pending, current } => {
                for (v, _) in &mut self.versions {
                    v.stages.retain(|s| s != PREVIOUS);
                    if &v.id == current {
                        v.stages.retain(|s| s != CURRENT);
                        v.stages.push(PREVIOUS.into());
                    }
                    if &v.id == pending {
                        v.stages.push(CURRENT.into());
                    }
                }
            }
            Next::Record { current, replaced } => {
                self.tags
                    .insert(ROTATED_TAG.into(), rotated_tag(current, at(self.clock)));
                if let Some(replaced) = replaced {
                    self.tags.insert(REPLACED_TAG.into(), replaced.clone());
                }
            }
            Next::Revoke { current } => {
                self.applying = Some((self.clock, vec![self.value(current)]));
                memory.revoke_set = Some(current.clone());
            }
            Next::TestRevoked { current, previous } => {
                if self.accepted.contains(&self.value(previous)) {
                    return false;
                }
                memory.revoke_tested = Some(current.clone());
            }
            Next::RecordRevoked { current } => {
                self.tags.insert(REVOKED_TAG.into(), current.clone());
            }
            Next::Wait { .. } | Next::Done(_) => self.clock += 1,
        }
        true
    }
}

/// Runs towards `goal`, killed after `crash_after` steps (memory lost); returns whether
/// it finished.
fn run(world: &mut World, kind: &Kind, goal: Goal<'_>, crash_after: usize) -> bool {
    let target = Target {
        kind: kind.clone(),
        ..token_target()
    };
    let mut memory = Memory::default();
    for _ in 0..crash_after {
        let observed = world.observe();
        let step = next(
            &target,
            &observed,
            Previous::RevokeAfter(Duration::from_secs(3)),
            goal,
            &memory,
            at(world.clock),
        )
        .expect("a decision");
        if let Next::Done(_) = step {
            return true;
        }
        memory.note(&step);
        assert!(
            world.perform(kind, &step, &mut memory),
            "test failed at {step:?}"
        );
        assert!(
            world.current_works(),
            "AWSCURRENT stopped working after {step:?}: {world:?}"
        );
    }
    false
}

fn kinds() -> impl Strategy<Value = Kind> {
    prop_oneof![
        Just(Kind::AuthToken),
        Just(Kind::UserPassword {
            user_id: "u".into(),
            user_name: "app".into()
        }),
    ]
}

proptest! {
    #[test]
    fn no_sequence_of_crashes_leaves_awscurrent_unusable(
        kind in kinds(),
        plan in proptest::collection::vec((0usize..12, 0u8..3), 1..8),
    ) {
        let mut world = World::new();
        for (round, (crash_after, what)) in plan.iter().enumerate() {
            let id = format!("r{round}");
            match what {
                0 => { let _ = run(&mut world, &kind, Goal::Rotate { version: &id }, *crash_after); }
                1 => { let _ = run(&mut world, &kind, Goal::RevokeDue, *crash_after); }
                _ => world.rewrite_document(),
            }
            prop_assert!(world.current_works());
        }
        // A run left alone finishes, with one pending version at most along the way.
        let last = Goal::Rotate { version: "last" };
        prop_assert!(run(&mut world, &kind, last, 40), "the last rotation did not finish");
        let pending = world.versions.iter().filter(|(v, _)| v.is(PENDING) && !v.is(CURRENT)).count();
        prop_assert_eq!(pending, 0);
        prop_assert!(world.current_works());
        world.clock += 10;
        prop_assert!(run(&mut world, &kind, Goal::RevokeDue, 40), "revoking did not finish");
        prop_assert!(world.current_works());
    }
}

#[test]
fn revoking_after_a_rewritten_document_refuses_the_replaced_credential_not_the_current_one() {
    let kind = Kind::AuthToken;
    let mut world = World::new();
    assert!(run(&mut world, &kind, Goal::Rotate { version: "r1" }, 40));
    world.rewrite_document();
    world.clock += 10;
    assert!(run(&mut world, &kind, Goal::RevokeDue, 40));
    assert!(world.current_works());
    assert_eq!(
        world.accepted,
        ["value-1"],
        "only the rotated-in credential"
    );
}

#[test]
fn a_users_id_is_read_from_its_arn() {
    let arn = "arn:aws:elasticache:eu-west-1:111122223333:user:demo-app";
    assert_eq!(crate::user_id_of(arn), Some("demo-app"));
    assert_eq!(
        crate::user_id_of("arn:aws:elasticache:eu-west-1:1:user:"),
        None
    );
    assert_eq!(crate::user_id_of("demo-app"), None);
}

#[test]
fn new_version_ids_are_uuids_secrets_manager_accepts() {
    let id = crate::new_version_id();
    assert_eq!(id.len(), 36, "{id}");
    assert_eq!(id.as_bytes()[14], b'4', "{id}");
    assert!(
        id.chars().all(|c| c.is_ascii_hexdigit() || c == '-'),
        "{id}"
    );
    assert_ne!(id, crate::new_version_id());
}
