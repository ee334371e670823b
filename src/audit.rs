//! The audit log's vocabulary: what was changed and how. Each change made through the API is
//! recorded with who made it, when, and the values before and after (see `store::audit`).

use serde_json::Value;

use crate::ids::{
    AgentId, CampaignId, ListId, OfferId, ScriptId, SegmentId, TargetId, TokenId, WebhookId,
};

crate::text_enum! {
    /// What kind of thing changed.
    pub enum Entity {
        Campaign = "campaign",
        Script = "script",
        Offer = "offer",
        Agent = "agent",
        Token = "token",
        Target = "target",
        /// A phone on the do-not-call list (its id is the phone).
        Dnc = "dnc",
        /// An open callback (its id is the contact's entry in the campaign).
        Callback = "callback",
        /// A call (released by a supervisor or lead).
        Call = "call",
        /// A reason agents may pause for.
        PauseReason = "pause_reason",
        /// A complaint's follow-up (resolved or re-opened).
        FollowUp = "follow_up",
        /// A webhook subscription (created, deleted, a delivery of it retried).
        Webhook = "webhook",
        /// A saved segment of the customer base.
        Segment = "segment",
        /// One import or segment addition into a campaign (switched on or off, emptied).
        List = "list",
        /// A person's contact details (name, time zone, attributes, external id).
        Contact = "contact",
        /// Conversions reported by billing (a file of them uploaded).
        Conversion = "conversion",
    }
}

crate::text_enum! {
    /// What happened to it.
    pub enum Action {
        Create = "create",
        Update = "update",
        Start = "start",
        Pause = "pause",
        Resume = "resume",
        Stop = "stop",
        Delete = "delete",
        Revoke = "revoke",
        /// An agent's token replaced by a new one.
        Rotate = "rotate",
        /// A phone put on the do-not-call list.
        List = "list",
        /// A phone taken off it.
        Unlist = "unlist",
        /// Contacts imported into a campaign.
        Import = "import",
        /// A callback cancelled: nobody calls the person back.
        Cancel = "cancel",
        /// A call handed back for its agent.
        Release = "release",
        /// An agent's state set by a supervisor or lead.
        SetState = "set_state",
        /// A webhook delivery sent again by hand.
        Retry = "retry",
    }
}

/// One change, as the audit log records it.
#[derive(Debug, Clone)]
pub struct Change {
    pub entity: Entity,
    pub entity_id: String,
    pub action: Action,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

impl Change {
    pub fn new(entity: Entity, entity_id: impl ToString, action: Action) -> Self {
        Self {
            entity,
            entity_id: entity_id.to_string(),
            action,
            before: None,
            after: None,
        }
    }

    pub fn before(mut self, value: Value) -> Self {
        self.before = Some(value);
        self
    }

    pub fn after(mut self, value: Value) -> Self {
        self.after = Some(value);
        self
    }
}

/// Ids that name an audited thing.
pub trait Audited: ToString {
    const ENTITY: Entity;
}

impl Audited for CampaignId {
    const ENTITY: Entity = Entity::Campaign;
}
impl Audited for ScriptId {
    const ENTITY: Entity = Entity::Script;
}
impl Audited for OfferId {
    const ENTITY: Entity = Entity::Offer;
}
impl Audited for AgentId {
    const ENTITY: Entity = Entity::Agent;
}
impl Audited for TokenId {
    const ENTITY: Entity = Entity::Token;
}
impl Audited for TargetId {
    const ENTITY: Entity = Entity::Target;
}
impl Audited for WebhookId {
    const ENTITY: Entity = Entity::Webhook;
}
impl Audited for SegmentId {
    const ENTITY: Entity = Entity::Segment;
}
impl Audited for ListId {
    const ENTITY: Entity = Entity::List;
}

/// A change of the thing `id` names.
pub fn change<I: Audited>(id: I, action: Action) -> Change {
    Change::new(I::ENTITY, id, action)
}

impl From<crate::campaigns::Transition> for Action {
    fn from(t: crate::campaigns::Transition) -> Self {
        use crate::campaigns::Transition;
        match t {
            Transition::Start => Action::Start,
            Transition::Pause => Action::Pause,
            Transition::Resume => Action::Resume,
            Transition::Stop => Action::Stop,
        }
    }
}
