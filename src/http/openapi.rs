//! The OpenAPI document: what every route says about itself, plus the problem answers every
//! operation can give, declared once here.

use utoipa::openapi::{
    ContentBuilder, HttpMethod, Ref, RefOr, Response, ResponseBuilder,
    path::Operation,
    security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
};

/// Names the service, the bearer scheme and the common problems in `doc`.
pub fn describe(doc: &mut utoipa::openapi::OpenApi) {
    doc.info.title = "outcall".into();
    doc.info.description = Some("Outbound-call campaign scheduler: HTTP API v1".into());
    doc.info.version = env!("CARGO_PKG_VERSION").into();
    // outcall's own licence, and no person: not the OpenAPI crate's author and licence, which
    // its derive would otherwise put here.
    doc.info.contact = None;
    doc.info.license = Some(
        utoipa::openapi::LicenseBuilder::new()
            .name("MIT")
            .identifier(Some("MIT"))
            .build(),
    );
    let scheme = SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build());
    doc.components
        .get_or_insert_with(Default::default)
        .add_security_scheme("bearer", scheme);
    document_problems(doc);
}

/// The problems every operation may answer: code, description, and whether only operations
/// with a body give it.
const COMMON: &[(u16, &str, bool)] = &[
    (
        400,
        "The request could not be read (malformed JSON, bad query or path parameter)",
        false,
    ),
    (
        401,
        "No token, or an unknown, revoked or deactivated one",
        false,
    ),
    (403, "The token's role may not do this", false),
    (413, "The body is larger than this route accepts", true),
    (415, "The body is not in a format this route reads", true),
    (
        422,
        "A value is not acceptable; `errors` names the field",
        true,
    ),
    (429, "Too many unknown tokens from this address", false),
];

/// A problem+json response with `description`.
fn problem(description: &str) -> RefOr<Response> {
    let content = ContentBuilder::new()
        .schema(Some(Ref::from_schema_name("Problem")))
        .build();
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content("application/problem+json", content)
            .build(),
    )
}

/// Describes the problem answers every operation can give, so the OpenAPI document matches
/// what clients see: 400 (unreadable input), 401, 403, 404 (paths with ids), 413, 415 and 422
/// (bodies) and 429 on every operation that does not already name them, and every error
/// response declared as `application/problem+json` rather than `application/json`.
pub fn document_problems(doc: &mut utoipa::openapi::OpenApi) {
    for (path, item) in doc.paths.paths.iter_mut() {
        let has_path_params = path.contains('{');
        for (method, op) in [
            (HttpMethod::Get, item.get.as_mut()),
            (HttpMethod::Post, item.post.as_mut()),
            (HttpMethod::Put, item.put.as_mut()),
            (HttpMethod::Patch, item.patch.as_mut()),
            (HttpMethod::Delete, item.delete.as_mut()),
        ] {
            if let Some(op) = op {
                let has_body = op.request_body.is_some()
                    || matches!(
                        method,
                        HttpMethod::Post | HttpMethod::Put | HttpMethod::Patch
                    );
                document_operation(op, has_body, has_path_params);
            }
        }
    }
}

fn document_operation(op: &mut Operation, has_body: bool, has_path_params: bool) {
    for (code, status) in op.responses.responses.iter_mut() {
        if (code.starts_with('4') || code.starts_with('5'))
            && let RefOr::T(r) = status
            && let Some(content) = r.content.shift_remove("application/json")
        {
            r.content.insert("application/problem+json".into(), content);
        }
    }
    let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
    let responses = &mut op.responses.responses;
    if has_path_params {
        responses
            .entry("404".to_owned())
            .or_insert_with(|| problem("Nothing at this path"));
    }
    for &(code, description, needs_body) in COMMON {
        if (needs_body && !has_body) || (matches!(code, 401 | 403 | 429) && !secured) {
            continue;
        }
        responses
            .entry(code.to_string())
            .or_insert_with(|| problem(description));
    }
}

#[cfg(test)]
mod tests {
    use super::document_problems;

    #[test]
    fn every_operation_documents_its_problem_answers_as_problem_json() {
        let mut doc = crate::http::openapi();
        document_problems(&mut doc);
        let json = serde_json::to_value(&doc).unwrap();
        let offers = &json["paths"]["/v1/offers"]["post"]["responses"];
        for code in ["400", "401", "403", "409", "415", "422"] {
            assert!(
                offers[code]["content"]["application/problem+json"].is_object(),
                "{code}: {offers}"
            );
        }
        assert!(offers["409"]["content"]["application/json"].is_null());
        let health = &json["paths"]["/healthz"]["get"]["responses"];
        assert!(
            health["401"].is_null(),
            "open routes need no token: {health}"
        );
    }
}
