//! The agent's loop and every eligibility rule, with the manual clock (it starts on Wednesday
//! 2026-11-25 at 10:00 in Shanghai, 02:00 UTC), one subject a file. This one: concurrency, many
//! agents and two processes never holding one contact at the same time.

mod leases;
mod order;
mod outcomes;

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{Backend, TestApp};

async fn a_late_outcome_waits_for_a_hand_out_of_the_same_person_in_flight_and_is_409(app: TestApp) {
    use outcall::{
        clock::Clock,
        ids::{AgentId, CampaignId},
        store::{
            Store,
            queue::{Search, Step},
        },
        time::Instant,
    };
    let first_campaign = app
        .running_campaign(
            json!({"lease": "30s", "priority": 90}),
            "phone\n13800138000\n",
        )
        .await;
    let second_campaign = app
        .running_campaign(
            json!({"lease": "30s", "priority": 10}),
            "phone\n13800138000\n",
        )
        .await;
    let (_, slow) = app.agent("slow", None).await;
    let (other_id, _) = app.agent("other", None).await;
    let (call, _, body) = app.take(&slow).await;
    assert_eq!(body["campaign"]["id"], first_campaign);
    app.advance(31);
    let store = app.running.as_ref().unwrap().store.clone();
    let now = app.clock.now();
    store.reap_expired(now).await.unwrap();
    // A hand-out of the same person through the other campaign, caught before its commit:
    // exactly the statements the dispatcher runs, in one open transaction.
    let mut handout = store.begin().await.unwrap();
    let (second_campaign, other_id) = (CampaignId(second_campaign), AgentId(other_id));
    let within = [second_campaign];
    let search = Search {
        step: Step::Campaign(second_campaign),
        agent: other_id,
        within: &within,
        now,
        since: now.plus_millis(-86_400_000),
        cap: 3,
        batch: 16,
    };
    let candidates = store.candidates(&mut handout, &search).await.unwrap();
    assert_eq!(candidates.len(), 1, "the person is free to hand out again");
    let lease_until = Instant::from_millis(now.millis() + 30_000);
    let claimed = Store::claim(&mut handout, &candidates[0], other_id, 1, lease_until, now)
        .await
        .unwrap();
    assert!(claimed.is_some(), "the hand-out holds the person");
    let late = {
        let client = app.client.clone();
        tokio::spawn(async move {
            client
                .outcome(&slow, call, json!({"disposition": "accepted"}))
                .await
                .status
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    handout.commit().await.unwrap();
    assert_eq!(
        late.await.unwrap(),
        StatusCode::CONFLICT,
        "the late outcome would overlap the hand-out that committed first"
    );
    let entries = app.contacts(first_campaign, None).await;
    assert_eq!(
        entries[0]["attempts"], 0,
        "the refused outcome counted nothing"
    );
}

async fn many_agents_hammering_one_campaign_never_share_a_contact(app: TestApp) {
    let campaign = app.campaign(json!({})).await;
    let contacts = 300;
    let mut csv = String::from("phone\n");
    for i in 0..contacts {
        csv.push_str(&format!("1380000{i:04}\n"));
    }
    app.import_csv(campaign, &csv).await.expect(StatusCode::OK);
    app.start_campaign(campaign).await;
    let mut agents = vec![];
    for i in 0..50 {
        agents.push(app.agent(&format!("agent {i}"), None).await.1);
    }
    let mut tasks = vec![];
    for token in agents {
        let client = app.client.clone();
        tasks.push(tokio::spawn(async move {
            let mut taken = vec![];
            loop {
                let r = client.next(&token).await;
                match r.status {
                    StatusCode::NO_CONTENT => return taken,
                    StatusCode::OK => {}
                    other => panic!("next answered {other}: {}", r.text),
                }
                let call = r.body["call"]["id"].as_i64().unwrap();
                let phone = r.body["contact"]["phone"].as_str().unwrap().to_owned();
                let r = client
                    .outcome(&token, call, json!({"disposition": "accepted"}))
                    .await;
                assert_eq!(r.status, StatusCode::OK, "outcome: {}", r.text);
                taken.push((call, phone));
            }
        }));
    }
    let mut all = vec![];
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let phones: std::collections::HashSet<_> = all.iter().map(|(_, p)| p.clone()).collect();
    let calls: std::collections::HashSet<_> = all.iter().map(|(c, _)| *c).collect();
    assert_eq!(all.len(), contacts, "every contact called exactly once");
    assert_eq!(phones.len(), contacts, "no contact handed to two agents");
    assert_eq!(calls.len(), contacts);
    assert_eq!(app.contacts(campaign, Some("done")).await.len(), contacts);
}

/// An agent's client that sends `next` twice at once (a retry racing the first request) gets one
/// call, twice: never a call and a "nothing due".
async fn two_nexts_of_one_agent_at_once_get_the_same_call(app: TestApp) {
    let campaign = app.campaign(json!({})).await;
    let rounds = 15;
    let mut csv = String::from("phone\n");
    for i in 0..rounds * 2 {
        csv.push_str(&format!("1370000{i:04}\n"));
    }
    app.import_csv(campaign, &csv).await.expect(StatusCode::OK);
    app.start_campaign(campaign).await;
    let (_, token) = app.agent("twice", None).await;
    let next = || {
        let (client, token) = (app.client.clone(), token.clone());
        async move {
            let r = client.next(&token).await;
            let call = if r.status == StatusCode::OK {
                r.body["call"]["id"].as_i64()
            } else {
                None
            };
            (r.status, call)
        }
    };
    for round in 0..rounds {
        let (a, b) = tokio::join!(next(), next());
        assert_eq!(
            (a.0, b.0),
            (StatusCode::OK, StatusCode::OK),
            "round {round}: {a:?} {b:?}"
        );
        assert_eq!(a.1, b.1, "round {round}: two calls for one agent");
        let r = app
            .outcome(&token, a.1.unwrap(), json!({"disposition": "declined"}))
            .await;
        assert_eq!(r.status, StatusCode::OK);
    }
}

crate::on_both_backends!(
    two_nexts_of_one_agent_at_once_get_the_same_call,
    a_late_outcome_waits_for_a_hand_out_of_the_same_person_in_flight_and_is_409,
    many_agents_hammering_one_campaign_never_share_a_contact,
);

mod two_postgres {
    use super::*;

    /// Two server processes on one PostgreSQL database, agents split between them.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn two_processes_never_hand_one_contact_to_two_agents() {
        let first = TestApp::start(Backend::Postgres).await;
        let second = first.another_process().await;
        let on_second = first.with_base(format!("http://{}", second.addr));
        let campaign = first.campaign(json!({})).await;
        let mut csv = String::from("phone\n");
        for i in 0..200 {
            csv.push_str(&format!("1390000{i:04}\n"));
        }
        first
            .import_csv(campaign, &csv)
            .await
            .expect(StatusCode::OK);
        first.start_campaign(campaign).await;
        let mut tasks = vec![];
        for i in 0..40 {
            let token = first.agent(&format!("agent {i}"), None).await.1;
            let client = if i % 2 == 0 {
                first.client.clone()
            } else {
                on_second.clone()
            };
            tasks.push(tokio::spawn(async move {
                let mut taken = vec![];
                loop {
                    let r = client.next(&token).await;
                    if r.status == StatusCode::NO_CONTENT {
                        return taken;
                    }
                    assert_eq!(r.status, StatusCode::OK);
                    let call = r.body["call"]["id"].as_i64().unwrap();
                    taken.push(r.body["contact"]["phone"].as_str().unwrap().to_owned());
                    let r = client
                        .outcome(&token, call, json!({"disposition": "declined"}))
                        .await;
                    assert_eq!(r.status, StatusCode::OK);
                }
            }));
        }
        let mut all = vec![];
        for t in tasks {
            all.extend(t.await.unwrap());
        }
        let unique: std::collections::HashSet<_> = all.iter().collect();
        assert_eq!(all.len(), 200);
        assert_eq!(unique.len(), 200);
        second.shutdown.cancel();
        second.stopped().await.unwrap();
    }
}
