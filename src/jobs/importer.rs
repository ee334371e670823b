//! The importer: reads a stored upload into its campaign ([`Service::run_import`] does the
//! work; see there for how it resumes after a crash and waits out the database).
//!
//! The job only starts the import on a task of its own. apalis drops a worker's job in flight
//! when the worker ends (as it does when polling its queue fails while the database is away),
//! and an import that outlives an outage must not go down with it; the import's own claim and
//! heartbeat say who is reading it, and the scheduler resumes an import nobody reads.
//!
//! [`Service::run_import`]: crate::service::Service::run_import

use apalis::prelude::{BoxDynError, Data};
use serde::{Deserialize, Serialize};

use super::Context;
use crate::ids::ImportId;

/// Read a stored upload into its campaign.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImportJob {
    pub import_id: ImportId,
}

/// The job: starts reading the import as a worker of its own.
pub async fn import(job: ImportJob, ctx: Data<Context>) -> Result<(), BoxDynError> {
    let ctx: Context = (*ctx).clone();
    let reading = ctx.importer.reading();
    tokio::spawn(async move {
        let _reading = reading;
        let worker = format!(
            "importer-{}-{:x}",
            std::process::id(),
            rand::random::<u32>()
        );
        let result = ctx.service.run_import(job.import_id, &worker).await;
        let _ = super::counted("importer", result.map_err(BoxDynError::from));
    });
    Ok(())
}
