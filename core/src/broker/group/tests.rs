use super::*;

fn config() -> GroupConfig {
    GroupConfig {
        initial_rebalance_delay: Duration::from_millis(100),
        min_session_timeout_ms: 100,
        max_session_timeout_ms: 60_000,
        max_group_size: 100,
        offset_metadata_max_bytes: 4096,
        offsets_retention: Duration::from_secs(3600),
    }
}

fn request(member_id: &str, instance_id: Option<&str>, protocols: &[&str]) -> JoinRequest {
    JoinRequest {
        member_id: member_id.into(),
        instance_id: instance_id.map(String::from),
        client_id: "client".into(),
        client_host: "/127.0.0.1".into(),
        session_timeout_ms: 1_000,
        rebalance_timeout_ms: 5_000,
        protocol_type: "consumer".into(),
        protocols: protocols
            .iter()
            .map(|p| (p.to_string(), Bytes::from(format!("meta-{p}"))))
            .collect(),
        requires_known_member_id: true,
        supports_skip_assignment: true,
    }
}

fn now_answer<T>(answer: Answer<T>) -> T {
    match answer {
        Answer::Now(response) => response,
        Answer::Wait(_) => panic!("expected an immediate answer"),
    }
}

fn waiting<T>(answer: Answer<T>) -> oneshot::Receiver<T> {
    match answer {
        Answer::Wait(receiver) => receiver,
        Answer::Now(_) => panic!("expected to wait"),
    }
}

/// Runs the KIP-394 round trip for a new dynamic member; returns its id and the
/// receiver of its JoinGroup answer.
fn join_new(
    group: &mut Group,
    now: Instant,
    protocols: &[&str],
) -> (String, oneshot::Receiver<JoinGroupResponse>) {
    let (answer, _) = group.join(request("", None, protocols), now, &config());
    let first = now_answer(answer);
    assert_eq!(first.error_code, ErrorCode::MemberIdRequired.code());
    let member_id = first.member_id;
    let (answer, _) = group.join(request(&member_id, None, protocols), now, &config());
    (member_id, waiting(answer))
}

/// Two members join an empty group together; the join completes after the initial
/// delay, at `now + 150 ms`, and both sync. Returns the group, leader and follower.
fn stable_group_of_two(start: Instant) -> (Group, String, String) {
    let mut group = Group::new("g");
    let (a, mut join_a) = join_new(&mut group, start, &["range"]);
    let (b, mut join_b) = join_new(&mut group, start, &["range"]);
    assert_eq!(group.state, GroupState::PreparingRebalance);
    assert!(
        join_a.try_recv().is_err(),
        "the initial delay holds the join"
    );
    let now = start + Duration::from_millis(150);
    assert!(group.tick(now, &config()));
    let ja = join_a.try_recv().unwrap();
    let jb = join_b.try_recv().unwrap();
    assert_eq!((ja.generation_id, jb.generation_id), (1, 1));
    assert_eq!(ja.leader, jb.leader);
    let leader = ja.leader.clone();
    let (leader_join, follower) = if leader == a {
        (&ja, b.clone())
    } else {
        (&jb, a.clone())
    };
    assert_eq!(
        leader_join.members.len(),
        2,
        "the leader gets every member's metadata"
    );
    assert!(if leader == a {
        jb.members.is_empty()
    } else {
        ja.members.is_empty()
    });
    let mut follower_sync = waiting(group.sync(&follower, None, 1, Vec::new(), now).0);
    let assignments = vec![
        (leader.clone(), Bytes::from_static(b"L")),
        (follower.clone(), Bytes::from_static(b"F")),
    ];
    let (answer, stable) = group.sync(&leader, None, 1, assignments, now);
    assert!(stable);
    assert_eq!(
        waiting(answer).try_recv().unwrap().assignment,
        Bytes::from_static(b"L")
    );
    assert_eq!(
        follower_sync.try_recv().unwrap().assignment,
        Bytes::from_static(b"F")
    );
    assert_eq!(group.state, GroupState::Stable);
    (group, leader, follower)
}

#[test]
fn two_members_join_sync_and_become_stable() {
    let now = Instant::now() + Duration::from_millis(150);
    let (mut group, leader, follower) = stable_group_of_two(now - Duration::from_millis(150));
    assert_eq!(group.heartbeat(&leader, None, 1, now), ErrorCode::None);
    assert_eq!(
        group.heartbeat(&follower, None, 0, now),
        ErrorCode::IllegalGeneration
    );
    assert_eq!(
        group.heartbeat("stranger", None, 1, now),
        ErrorCode::UnknownMemberId
    );
    // A Stable group answers SyncGroup with the member's assignment at once.
    assert_eq!(
        now_answer(group.sync(&follower, None, 1, Vec::new(), now).0).assignment,
        Bytes::from_static(b"F")
    );
}

#[test]
fn a_new_member_triggers_a_rebalance_that_the_others_learn_through_heartbeats() {
    let now = Instant::now() + Duration::from_millis(150);
    let (mut group, leader, follower) = stable_group_of_two(now - Duration::from_millis(150));
    let (newcomer, mut join_new_member) = join_new(&mut group, now, &["range"]);
    assert_eq!(group.state, GroupState::PreparingRebalance);
    assert_eq!(
        group.heartbeat(&follower, None, 1, now),
        ErrorCode::RebalanceInProgress
    );
    let mut join_leader = waiting(
        group
            .join(request(&leader, None, &["range"]), now, &config())
            .0,
    );
    assert!(
        join_new_member.try_recv().is_err(),
        "still waiting for the follower"
    );
    let mut join_follower = waiting(
        group
            .join(request(&follower, None, &["range"]), now, &config())
            .0,
    );
    for response in [
        join_leader.try_recv().unwrap(),
        join_follower.try_recv().unwrap(),
        join_new_member.try_recv().unwrap(),
    ] {
        assert_eq!(response.generation_id, 2);
        assert_eq!(response.leader, leader, "the leader stays the leader");
    }
    assert_eq!(group.members.len(), 3);
    assert!(group.members.contains_key(&newcomer));
}

#[test]
fn a_member_that_leaves_or_goes_silent_is_removed_and_the_group_rebalances() {
    let now = Instant::now() + Duration::from_millis(150);
    let (mut group, leader, follower) = stable_group_of_two(now - Duration::from_millis(150));
    assert_eq!(
        group.leave(&follower, None, now, &config()),
        ErrorCode::None
    );
    assert_eq!(group.state, GroupState::PreparingRebalance);
    let mut rejoin = waiting(
        group
            .join(request(&leader, None, &["range"]), now, &config())
            .0,
    );
    assert_eq!(rejoin.try_recv().unwrap().generation_id, 2);

    // Session expiry: nobody heartbeats for longer than session.timeout.ms.
    let (mut group, leader, _) = stable_group_of_two(now - Duration::from_millis(150));
    assert_eq!(
        group.heartbeat(&leader, None, 1, now + Duration::from_millis(900)),
        ErrorCode::None
    );
    group.tick(now + Duration::from_millis(1_100), &config());
    assert_eq!(group.members.len(), 1, "the silent follower expired");
    assert_eq!(group.state, GroupState::PreparingRebalance);
    // The leader must rejoin within the rebalance timeout, or it is dropped too.
    let new_generation = group.tick(now + Duration::from_millis(1_100 + 5_001), &config());
    assert!(new_generation);
    assert_eq!(group.state, GroupState::Empty);
    assert!(group.members.is_empty());
}

#[test]
fn a_restarted_static_member_gets_its_assignment_back_without_a_rebalance() {
    let now = Instant::now();
    let mut group = Group::new("g");
    let mut join_a = waiting(
        group
            .join(request("", Some("instance-a"), &["range"]), now, &config())
            .0,
    );
    let mut join_b = waiting(
        group
            .join(request("", Some("instance-b"), &["range"]), now, &config())
            .0,
    );
    let now = now + Duration::from_millis(150);
    group.tick(now, &config());
    let (ja, jb) = (join_a.try_recv().unwrap(), join_b.try_recv().unwrap());
    let leader = ja.leader.clone();
    let (leader_id, follower_id) = if leader == ja.member_id {
        (ja.member_id, jb.member_id)
    } else {
        (jb.member_id, ja.member_id)
    };
    let follower_instance = group.members[&follower_id].instance_id.clone().unwrap();
    let _wait = group.sync(&follower_id, Some(&follower_instance), 1, Vec::new(), now);
    group.sync(
        &leader_id,
        None,
        1,
        vec![(follower_id.clone(), Bytes::from_static(b"F"))],
        now,
    );
    assert_eq!(group.state, GroupState::Stable);

    // The follower restarts: it comes back with no member id but its instance id.
    let rejoined = now_answer(
        group
            .join(
                request("", Some(&follower_instance), &["range"]),
                now,
                &config(),
            )
            .0,
    );
    assert_eq!(rejoined.error_code, 0);
    assert_eq!(rejoined.generation_id, 1, "no new generation");
    assert_ne!(rejoined.member_id, follower_id);
    assert_eq!(group.state, GroupState::Stable);
    let sync = now_answer(
        group
            .sync(
                &rejoined.member_id,
                Some(&follower_instance),
                1,
                Vec::new(),
                now,
            )
            .0,
    );
    assert_eq!(sync.assignment, Bytes::from_static(b"F"));
    // The old incarnation is fenced.
    assert_eq!(
        group.heartbeat(&follower_id, Some(&follower_instance), 1, now),
        ErrorCode::FencedInstanceId
    );
}

#[test]
fn join_rejects_bad_session_timeouts_and_incompatible_protocols() {
    let now = Instant::now();
    let mut group = Group::new("g");
    let mut bad = request("", None, &["range"]);
    bad.session_timeout_ms = 10;
    assert_eq!(
        now_answer(group.join(bad, now, &config()).0).error_code,
        ErrorCode::InvalidSessionTimeout.code()
    );
    let (_, _) = join_new(&mut group, now, &["range"]);
    let (answer, _) = group.join(request("", None, &["sticky"]), now, &config());
    assert_eq!(
        now_answer(answer).error_code,
        ErrorCode::InconsistentGroupProtocol.code()
    );
    assert_eq!(
        now_answer(
            group
                .join(request("unknown-id", None, &["range"]), now, &config())
                .0
        )
        .error_code,
        ErrorCode::UnknownMemberId.code()
    );
}

#[test]
fn the_protocol_is_the_one_all_support_that_most_prefer() {
    let now = Instant::now();
    let mut group = Group::new("g");
    let (_, mut a) = join_new(&mut group, now, &["cooperative-sticky", "range"]);
    let (_, mut b) = join_new(&mut group, now, &["range", "cooperative-sticky"]);
    let (_, mut c) = join_new(&mut group, now, &["cooperative-sticky", "range"]);
    group.tick(now + Duration::from_millis(150), &config());
    let _ = (a.try_recv(), b.try_recv());
    assert_eq!(
        c.try_recv().unwrap().protocol_name.as_deref(),
        Some("cooperative-sticky")
    );
}

#[test]
fn the_initial_delay_waits_for_more_members() {
    let now = Instant::now();
    let config = GroupConfig {
        initial_rebalance_delay: Duration::from_millis(300),
        ..config()
    };
    let mut group = Group::new("g");
    let mut first = waiting(
        group
            .join(
                JoinRequest {
                    requires_known_member_id: false,
                    ..request("", None, &["range"])
                },
                now,
                &config,
            )
            .0,
    );
    assert!(first.try_recv().is_err(), "waits for the initial delay");
    let joined_later = now + Duration::from_millis(200);
    let mut second = waiting(
        group
            .join(
                JoinRequest {
                    requires_known_member_id: false,
                    ..request("", None, &["range"])
                },
                joined_later,
                &config,
            )
            .0,
    );
    assert!(
        !group.tick(now + Duration::from_millis(400), &config),
        "the second member restarted the delay"
    );
    assert!(group.tick(now + Duration::from_millis(550), &config));
    assert_eq!(first.try_recv().unwrap().generation_id, 1);
    assert_eq!(second.try_recv().unwrap().generation_id, 1);
}
