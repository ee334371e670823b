//! A whole shift through the pages alone, in Chinese and in English (tests/web/scenarios/shift.mjs):
//! the admin makes the lead's and the supervisor's tokens; the lead makes agents, a pause reason,
//! an offer, a script and a campaign and imports a list saved by Excel on Chinese Windows (GBK);
//! two agents work calls; the supervisor pauses one mid-call and releases the other's call from
//! the floor; the wallboard shows the conversion. Afterwards the API must tell the same story.

use chrono::{Duration as Days, Utc};
use chrono_tz::Asia::Shanghai;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{ADMIN_SECRET, TestApp};
use crate::web::scenario;

const PEOPLE: [(&str, &str, &str); 6] = [
    ("13800138000", "王芳", "全球通 88"),
    ("13900139000", "李娜", "5G 畅享 128"),
    ("13700137000", "张伟", "动感地带 38"),
    ("13600136000", "刘洋", "全球通 158"),
    ("13500135000", "陈静", "5G 畅享 98"),
    ("13400134000", "杨磊", "神州行 18"),
];

/// The list as Excel on Chinese Windows saves it: GBK, Chinese headers, CRLF.
fn gbk_list() -> Vec<u8> {
    let mut csv = String::from("手机号码,客户姓名,套餐\r\n");
    for (phone, name, plan) in PEOPLE {
        csv.push_str(&format!("{phone},{name},{plan}\r\n"));
    }
    let (bytes, _, unmappable) = encoding_rs::GBK.encode(&csv);
    assert!(!unmappable, "the list is GBK text");
    bytes.into_owned()
}

async fn shift(app: TestApp, lang: &str) {
    let zh = lang == "zh";
    let tomorrow = (Utc::now().with_timezone(&Shanghai) + Days::days(1)).date_naive();
    let campaign_name = if zh {
        "5G 升级 · 十二月"
    } else {
        "5G upgrade · December"
    };
    let agents = if zh {
        ["赵敏", "孙悦"]
    } else {
        ["Zhao Min", "Sun Yue"]
    };
    let reason = if zh { "辅导" } else { "Coaching" };
    scenario(
        &app,
        "shift",
        json!({
            "lang": lang,
            "admin_token": ADMIN_SECRET,
            "lead_name": if zh { "组长 周婷" } else { "Lead Zhou Ting" },
            "supervisor_name": if zh { "值班主管 吴刚" } else { "Supervisor Wu Gang" },
            "agents": agents,
            "team": "深圳二组",
            "reason": reason,
            "offer": "5G-PLUS",
            "offer_name": if zh { "5G 升级包" } else { "5G upgrade pack" },
            "script_name": if zh { "5G 升级话术" } else { "5G upgrade script" },
            "script_body": "您好{{ name }}，您现在的套餐是{{ attributes[\"套餐\"] }}。",
            "campaign_name": campaign_name,
            "gbk_csv": gbk_list(),
            "first_name": PEOPLE[0].1,
            "first_phone": PEOPLE[0].0,
            "first_plan": PEOPLE[0].2,
            "rows": PEOPLE.len(),
            "callback_local": format!("{}T10:00", tomorrow.format("%Y-%m-%d")),
        }),
    )
    .await;

    // What the pages did, as the API tells it.
    let campaigns = app.get("/v1/campaigns", ADMIN_SECRET).await;
    campaigns.expect(StatusCode::OK);
    let campaign = campaigns.body["items"]
        .as_array()
        .and_then(|l| l.iter().find(|c| c["name"] == campaign_name))
        .cloned()
        .unwrap_or_else(|| panic!("the page made the campaign: {}", campaigns.body));
    assert_eq!(campaign["status"], "active");
    let id = campaign["id"].as_i64().unwrap();
    let contacts = app
        .get(
            &format!("/v1/campaigns/{id}/contacts?limit=100"),
            ADMIN_SECRET,
        )
        .await;
    contacts.expect(StatusCode::OK);
    let contacts = contacts.body["items"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        contacts.len(),
        PEOPLE.len(),
        "every row of the GBK list is in"
    );
    let names: Vec<&str> = contacts.iter().filter_map(|c| c["name"].as_str()).collect();
    assert!(names.contains(&"王芳"), "names are read as GBK: {names:?}");
    let state = |s: &str| contacts.iter().filter(|c| c["state"] == s).count();
    assert_eq!(
        state("scheduled"),
        1,
        "one callback is promised: {contacts:?}"
    );
    assert_eq!(
        state("done"),
        1,
        "the paused agent's conversion is recorded: {contacts:?}"
    );

    let floor = app.get("/v1/floor", ADMIN_SECRET).await;
    floor.expect(StatusCode::OK);
    let agent = |name: &str| -> Value {
        floor.body["agents"]
            .as_array()
            .and_then(|l| l.iter().find(|a| a["name"] == name))
            .cloned()
            .unwrap_or_else(|| panic!("{name} is on the floor: {}", floor.body))
    };
    assert_eq!(
        agent(agents[0])["state"],
        "paused",
        "paused after the call, as the supervisor asked"
    );
    assert_eq!(agent(agents[0])["reason"], reason);
    assert!(
        agent(agents[1])["call"].is_null(),
        "the released call left the second agent"
    );

    let audit = app.get("/v1/audit?limit=200", ADMIN_SECRET).await;
    audit.expect(StatusCode::OK);
    let actions: Vec<String> = audit.body["items"]
        .as_array()
        .map(|l| {
            l.iter()
                .map(|e| {
                    format!(
                        "{}:{}",
                        e["entity"].as_str().unwrap_or(""),
                        e["action"].as_str().unwrap_or("")
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    for wanted in [
        "token:create",
        "agent:create",
        "pause_reason:create",
        "offer:create",
        "script:create",
        "campaign:create",
        "campaign:start",
        "campaign:import",
        "agent:set_state",
        "call:release",
    ] {
        assert!(
            actions.iter().any(|a| a == wanted),
            "{wanted} is audited: {actions:?}"
        );
    }
}

async fn a_whole_shift_runs_through_the_pages_alone_in_chinese(app: TestApp) {
    shift(app, "zh").await;
}

async fn a_whole_shift_runs_through_the_pages_alone_in_english(app: TestApp) {
    shift(app, "en").await;
}

crate::on_both_backends!(
    start = crate::web::browser_app;
    a_whole_shift_runs_through_the_pages_alone_in_chinese,
    a_whole_shift_runs_through_the_pages_alone_in_english,
);
