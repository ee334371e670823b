//! What a script is rendered with: the contact's fields, its campaign and the agent — for a
//! real hand-out, or for the sample contact a body must render for to be saved.

use serde_json::{Value, json};

use crate::contacts::Attributes;

/// What a script sees: the contact's fields, its campaign and the agent.
pub struct Subject<'a> {
    pub id: i64,
    pub name: Option<&'a str>,
    pub phone: &'a str,
    pub timezone: &'a str,
    pub attributes: &'a Attributes,
    pub campaign: &'a str,
    pub offer: &'a str,
    pub agent: &'a str,
}

impl Subject<'_> {
    /// The variables a body is rendered with. A contact without a name has an empty one, so
    /// "您好{{ name }}" reads "您好" and never the engine's word for nothing ("none").
    pub fn vars(&self) -> Value {
        json!({
            "id": self.id, "name": self.name.unwrap_or(""), "phone": self.phone,
            "timezone": self.timezone,
            "attributes": self.attributes, "campaign": {"name": self.campaign,
            "offer": self.offer}, "agent": {"name": self.agent},
        })
    }

    /// A plausible contact, campaign and agent, which a body must render for within the
    /// limits to be saved.
    pub fn sample() -> Value {
        let attributes: Attributes = [
            ("plan", "全球通 88"),
            ("monthly_spend", "156"),
            ("city", "杭州"),
            ("contract_end", "2026-12-31"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        Subject {
            id: 1,
            name: Some("王芳"),
            phone: "+8613800138000",
            timezone: "Asia/Shanghai",
            attributes: &attributes,
            campaign: "5G 套餐升级",
            offer: "5G 畅享套餐",
            agent: "李娜",
        }
        .vars()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_contact_without_a_name_is_greeted_without_the_word_none() {
        let attributes = Attributes::new();
        let subject = Subject {
            id: 7,
            name: None,
            phone: "+8613800138000",
            timezone: "Asia/Shanghai",
            attributes: &attributes,
            campaign: "5G 升级",
            offer: "5G-PLUS",
            agent: "王芳",
        };
        let text = crate::catalog::Template::render("您好{{ name }}，", &subject.vars(), &|| false);
        assert_eq!(text.as_deref(), Ok("您好，"));
    }
}
