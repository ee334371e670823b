//! Background work (placeholder while apalis wiring is written).

use tokio_util::sync::CancellationToken;

use crate::{clock::SharedClock, config::Config, store::Store};

#[derive(Clone)]
pub struct Jobs {
    shutdown: CancellationToken,
}

impl Jobs {
    pub async fn start(
        _config: &Config,
        _store: Store,
        _clock: SharedClock,
        shutdown: CancellationToken,
    ) -> anyhow::Result<Self> {
        Ok(Self { shutdown })
    }

    pub async fn stopped(&self) {
        self.shutdown.cancelled().await;
    }
}
