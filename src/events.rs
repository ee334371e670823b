//! The live stream's events: what each kind is about. Each is written in the transaction that
//! made it happen (see `store::events`) and streamed by the service's hub.

crate::text_enum! {
    /// What an event of the live stream is about (its SSE `event:` name).
    pub enum EventKind {
        /// An outcome was recorded: campaign, offer, agent, disposition, time; never a phone.
        Outcome = "outcome",
        /// A campaign changed status, or its recurrence re-opened contacts.
        Campaign = "campaign",
    }
}
