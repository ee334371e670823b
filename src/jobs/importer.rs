//! The importer: reads a stored upload into its campaign ([`Service::run_import`] does the
//! work; see there for how it resumes after a crash).
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

/// The job: reads the import as a worker of its own.
pub async fn import(job: ImportJob, ctx: Data<Context>) -> Result<(), BoxDynError> {
    let _reading = ctx.importer.reading();
    let worker = format!(
        "importer-{}-{:x}",
        std::process::id(),
        rand::random::<u32>()
    );
    let result = ctx.service.run_import(job.import_id, &worker).await;
    super::counted("importer", result.map_err(Into::into))
}
