//! Scripts: a body is saved only once it parses and renders for a sample contact within the
//! limits (`catalog::limits`) and the time budget; a hand-out whose render fails anyway (data
//! unlike the sample) is recorded against the script's version for leads to see.

use serde_json::Value;

use crate::codes::Code;
use crate::{
    catalog::Subject,
    catalog::{
        RenderError, Template,
        survey::{Question, parse_questions},
    },
    ids::{CallId, ContactId, ScriptId},
    people::Principal,
    store::StoreError,
    store::scripts::Script,
    text::Name,
    validate::Invalid,
    validate::Validator,
};

use super::{Result, Service, render::Job};

/// The request's questions, if it gave any (`None` inside: it did not); the outer `None` when
/// they are not acceptable (each part named in `v`).
fn questions_of(v: &mut Validator, given: Option<Value>) -> Option<Option<Vec<Question>>> {
    match given {
        None | Some(Value::Null) => Some(None),
        Some(value) => parse_questions(v, value).map(Some),
    }
}

impl Service {
    /// Creates a script at version 1 once its name, body and questions are acceptable.
    #[tracing::instrument(skip_all)]
    pub async fn script_create(
        &self,
        by: &Principal,
        name: &str,
        body: &str,
        questions: Option<Value>,
    ) -> Result<Script> {
        let mut v = Validator::new();
        let name = v.check("name", Name::parse(name));
        let questions = questions_of(&mut v, questions);
        let template = self.check_body(&mut v, Job::Draft(None), body).await;
        let (Some(name), Some(template), Some(questions)) = (name, template, questions) else {
            return Err(v.fail().into());
        };
        let questions = questions.unwrap_or_default();
        Ok(self
            .store
            .script_create(by, name.as_str(), template.as_str(), &questions, self.now())
            .await?)
    }

    /// Saves a new version of a script (and optionally a new name and new questions; without
    /// `questions` the new version asks what the previous one asked) once all are acceptable.
    #[tracing::instrument(skip_all)]
    pub async fn script_update(
        &self,
        by: &Principal,
        id: ScriptId,
        name: Option<&str>,
        body: &str,
        questions: Option<Value>,
    ) -> Result<Script> {
        let mut v = Validator::new();
        let name = v.check_opt("name", name, Name::parse);
        let questions = questions_of(&mut v, questions);
        let template = self.check_body(&mut v, Job::Draft(Some(id)), body).await;
        let (Some(name), Some(template), Some(questions)) = (name, template, questions) else {
            return Err(v.fail().into());
        };
        let name = name.as_ref().map(Name::as_str);
        Ok(self
            .store
            .script_update(
                by,
                id,
                name,
                template.as_str(),
                questions.as_deref(),
                self.now(),
            )
            .await?)
    }

    /// `body` as an agent would read it for the person `contact` (or the sample contact),
    /// saved nowhere: the console's preview. It renders in a worker under a hand-out's limits
    /// and budget; a syntax error, a failure on the data or a limit is a 422 naming `body`, an
    /// unknown person one naming `contact`.
    #[tracing::instrument(skip_all)]
    pub async fn script_preview(
        &self,
        by: &Principal,
        body: &str,
        contact: Option<ContactId>,
    ) -> Result<String> {
        let vars = match contact {
            None => Subject::sample(),
            Some(id) => match self.store.contact_get(id).await {
                Ok(k) => Subject {
                    id: k.id.0,
                    name: k.name.as_deref(),
                    phone: &k.phone,
                    timezone: &k.timezone.map(|z| z.to_string()).unwrap_or_default(),
                    attributes: &k.attributes.0,
                    campaign: "",
                    offer: "",
                    agent: &by.name,
                }
                .vars(),
                Err(StoreError::NotFound) => {
                    let unknown = Code::Unknown
                        .because(format!("no contact has id {}", id.0))
                        .with("value", id.0.to_string());
                    return Err(Invalid::field("contact", unknown).into());
                }
                Err(e) => return Err(e.into()),
            },
        };
        match self.renderer.preview(body, vars).await {
            Ok(text) => Ok(text),
            Err(RenderError::Failed { what, .. }) => {
                Err(Invalid::field("body", Code::TemplateInvalid.because(what)).into())
            }
            Err(error) => {
                let costly = Code::TemplateTooCostly.because(error.to_string());
                Err(Invalid::field("body", costly).into())
            }
        }
    }

    /// The body as a template, if it parses and renders for the sample contact within the
    /// limits; otherwise `body` is named with why. A render that fails for another reason (a
    /// filter that does not fit the sample's data) is no reason to refuse it: real contacts'
    /// data may fit. Parsing runs under the budget too: the engine evaluates constant
    /// expressions while it compiles. Both run in a render worker. For a while after a check of
    /// the same script (or of any new script) ran past its budget, another is refused at once,
    /// whatever its text.
    async fn check_body(&self, v: &mut Validator, job: Job, body: &str) -> Option<Template> {
        let refused = match self.renderer.check(job, body).await {
            Ok(Ok(())) => return Some(Template::checked_elsewhere(body)),
            Ok(Err(syntax)) => Code::TemplateInvalid.because(syntax),
            Err(error) => Code::TemplateTooCostly.because(format!("for a sample contact, {error}")),
        };
        v.push("body", refused);
        None
    }

    /// Records that the hand-out of `call` could not render `script`: logged (ids only, never
    /// the contact's data), counted, and kept with the script's version — once per call, so an
    /// agent retrying the same hand-out adds nothing. Recording is best effort: the call is
    /// already handed out, and a failure to record only loses a line in the record.
    pub(super) async fn script_render_failed(
        &self,
        script: &Script,
        call: CallId,
        error: &RenderError,
    ) {
        metrics::counter!("outcall_script_render_failures_total", "reason" => error.reason())
            .increment(1);
        let message = error.to_string();
        let recorded = self
            .store
            .script_render_failed(script.id, script.version, call, &message, self.now())
            .await;
        match recorded {
            Ok(true) => tracing::warn!(
                script = %script.id, version = script.version, call = %call,
                reason = error.reason(), error = %message,
                "script did not render; the call is handed out with the script marked failed"
            ),
            Ok(false) => {}
            Err(e) => tracing::error!(
                script = %script.id, version = script.version, call = %call, error = %e,
                "could not record a script's render failure"
            ),
        }
    }
}
