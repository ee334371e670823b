//! The read-only handle the HTTP edge reads through: every change goes through an operation of
//! the service (which alone holds the [`Store`]), so validation, audit and events never depend
//! on who wrote the handler. A method here only reads.

use std::collections::BTreeMap;

use super::{
    Result, Store,
    agent_states::StateRow,
    agents::Agent,
    answers::{AnswerTotal, ChoiceCount},
    audit::{AuditFilter, AuditRow},
    callbacks::{CallbackFilter, CallbackRow},
    campaigns::CampaignRow,
    contacts::{ContactRow, EntryRow, HistoryRow, MembershipRow},
    conversions::{FunnelFilter, FunnelRows},
    dnc::DncEntry,
    follow_ups::FollowUpRow,
    imports::ImportRow,
    lists::ListRow,
    offers::Offer,
    pause_reasons::PauseReason,
    scripts::{RenderFailures, Script},
    segments::SegmentRow,
    stats::{ExportRow, Filter, GroupBy},
    targets::TargetRow,
    tokens::TokenRow,
    webhooks::{AttemptRow, DeliveryRow, WebhookRow},
};
use crate::{
    campaigns::CampaignStatus,
    contacts::{ContactState, import::Invalid},
    dispatch::Disposition,
    ids::{
        AgentId, CampaignId, ContactId, DeliveryId, EntryId, FollowUpId, ImportId, ListId, OfferId,
        PauseReasonId, ScriptId, SegmentId, TargetId, TokenId, WebhookId,
    },
    people::Principal,
    stats::{Tally, TargetScope},
    time::Instant,
    webhooks::WebhookEvent,
};

/// Reads only; cheap to clone.
#[derive(Clone)]
pub struct Reads(Store);

impl Reads {
    pub fn new(store: Store) -> Self {
        Self(store)
    }
}

/// Each read the edge makes, passed on to the store as it is.
macro_rules! reads {
    ($( $(#[$meta:meta])* fn $name:ident($($arg:ident: $ty:ty),*) -> $ret:ty; )*) => {
        impl Reads {
            $(
                $(#[$meta])*
                pub async fn $name(&self, $($arg: $ty),*) -> $ret {
                    self.0.$name($($arg),*).await
                }
            )*
        }
    };
}

reads! {
    /// Whether the database answers.
    fn ping() -> bool;
    fn agent_get(id: AgentId) -> Result<Agent>;
    fn agent_list(after: AgentId, limit: i64) -> Result<Vec<Agent>>;
    fn agent_state(agent: AgentId) -> Result<StateRow>;
    fn audit_list(f: &AuditFilter, before: i64, limit: i64) -> Result<Vec<AuditRow>>;
    fn campaign_get(id: CampaignId) -> Result<CampaignRow>;
    fn campaign_contacts(
        campaign: CampaignId, state: Option<ContactState>, after: EntryId, limit: i64
    ) -> Result<Vec<EntryRow>>;
    fn campaign_totals(campaign: CampaignId) -> Result<Vec<(AgentId, String, Disposition, i64)>>;
    fn contact_states(campaign: CampaignId) -> Result<BTreeMap<ContactState, i64>>;
    fn queue_depths() -> Result<Vec<(CampaignId, ContactState, i64)>>;
    fn contact_get(id: ContactId) -> Result<ContactRow>;
    fn contact_by_phone(phone: &str) -> Result<Option<ContactRow>>;
    fn contacts_by_external_id(
        external_id: &str, after: ContactId, limit: i64
    ) -> Result<Vec<ContactRow>>;
    fn campaign_attribute_keys(campaign: CampaignId, limit: i64) -> Result<Vec<String>>;
    fn contacts_by_name(prefix: &str, after: ContactId, limit: i64) -> Result<Vec<ContactRow>>;
    fn contact_memberships(id: ContactId) -> Result<Vec<MembershipRow>>;
    fn contact_history(id: ContactId) -> Result<Vec<HistoryRow>>;
    fn dnc_list(after: &str, limit: i64) -> Result<Vec<DncEntry>>;
    fn funnel_rows(f: FunnelFilter) -> Result<FunnelRows>;
    fn activations(
        scope: TargetScope, scope_id: &str, from: Instant, to: Instant
    ) -> Result<i64>;
    fn import_get(id: ImportId) -> Result<ImportRow>;
    fn import_invalid(id: ImportId, limit: i64) -> Result<Vec<Invalid>>;
    fn offer_get(id: OfferId) -> Result<Offer>;
    fn offer_by_code(code: &str) -> Result<Option<Offer>>;
    fn offer_list(after: OfferId, limit: i64) -> Result<Vec<Offer>>;
    fn outcomes_export(
        campaign: CampaignId, after: (Instant, i64), to: Instant, limit: i64
    ) -> Result<Vec<ExportRow>>;
    fn script_get(id: ScriptId) -> Result<Script>;
    fn script_version(id: ScriptId, version: i64) -> Result<Script>;
    fn script_list(after: ScriptId, limit: i64) -> Result<Vec<Script>>;
    fn script_failures(first: ScriptId, last: ScriptId) -> Result<Vec<RenderFailures>>;
    fn token_list(after: TokenId, limit: i64) -> Result<Vec<TokenRow>>;
    fn segment_list(after: SegmentId, limit: i64) -> Result<Vec<SegmentRow>>;
    fn list_get(id: ListId) -> Result<ListRow>;
    fn list_page(campaign: CampaignId, after: ListId, limit: i64) -> Result<Vec<ListRow>>;
    /// Whose token this is (the hash of its secret), if it admits anyone now.
    fn principal_by_hash(hash: &str, now: Instant) -> Result<Option<Principal>>;
    fn callbacks(filter: CallbackFilter, after: EntryId, limit: i64) -> Result<Vec<CallbackRow>>;
    fn campaign_list(
        status: Option<CampaignStatus>, after: CampaignId, limit: i64
    ) -> Result<Vec<CampaignRow>>;
    fn dnc_get(phone: &str) -> Result<Option<DncEntry>>;
    fn pause_reasons(after: PauseReasonId, limit: i64) -> Result<Vec<PauseReason>>;
    fn follow_ups(open: Option<bool>, after: FollowUpId, limit: i64) -> Result<Vec<FollowUpRow>>;
    fn tally_range(
        group: GroupBy, filter: &Filter, from_hour: i64, to_hour: i64
    ) -> Result<BTreeMap<i64, Tally>>;
    fn target_list(
        scope: Option<&str>, scope_id: Option<&str>, after: TargetId, limit: i64
    ) -> Result<Vec<TargetRow>>;
    fn webhooks_list(
        owner: Option<TokenId>, after: WebhookId, limit: i64
    ) -> Result<Vec<WebhookRow>>;
    fn webhook_get(id: WebhookId) -> Result<Option<WebhookRow>>;
    fn webhook_events(from: WebhookId, to: WebhookId) -> Result<Vec<(WebhookId, WebhookEvent)>>;
    fn webhook_deliveries(
        webhook: WebhookId, after: DeliveryId, limit: i64
    ) -> Result<Vec<DeliveryRow>>;
    fn webhook_attempts(
        webhook: WebhookId, from: DeliveryId, to: DeliveryId
    ) -> Result<Vec<AttemptRow>>;
    fn answer_totals(
        campaign: CampaignId, from: Instant, to: Instant
    ) -> Result<(Vec<AnswerTotal>, Vec<ChoiceCount>)>;
    fn campaign_questions(campaign: CampaignId) -> Result<Vec<crate::catalog::survey::Question>>;
}
