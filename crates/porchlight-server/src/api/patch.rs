//! JSON Merge Patch (RFC 7396) for `PATCH /api/v1/members/{id}` and
//! `PATCH /api/v1/people/{id}`.
//!
//! A patch is merged into the resource's full input document (every field it has, as
//! `POST` takes them), and the result goes through the same validation as a new one
//! (`porchlight_core::roster`): only the fields sent change, `null` removes an optional field
//! (a member's own policy setting falls back to the village's), and a bad value is a 400
//! naming the field with nothing changed.

use serde_json::Value;

use crate::error::{ApiError, ApiResult};

/// RFC 7396 §2, `MergePatch(Target, Patch)`: objects merge key by key, `null` removes a key,
/// anything else (arrays included) replaces the target.
pub(crate) fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(serde_json::Map::new());
    }
    if let Value::Object(t) = target {
        for (k, v) in patch {
            if v.is_null() {
                t.remove(k);
            } else {
                merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
    }
}

/// A merged document read back as `T`, errors naming the field.
pub(crate) fn read_doc<T: serde::de::DeserializeOwned>(doc: Value) -> ApiResult<T> {
    serde_path_to_error::deserialize::<_, T>(doc).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.inner().to_string();
        if path == "." {
            // A missing field is reported without a path: name it from the message.
            match inner
                .strip_prefix("missing field `")
                .and_then(|r| r.strip_suffix('`'))
            {
                Some(field) => ApiError::invalid(format!("{field}: cannot be removed")),
                None => ApiError::invalid(inner),
            }
        } else {
            ApiError::invalid(format!("{path}: {inner}"))
        }
    })
}

pub(crate) fn patch_object(patch: &Value) -> ApiResult<&serde_json::Map<String, Value>> {
    patch.as_object().ok_or_else(|| {
        ApiError::invalid("the body must be a JSON object of the fields to change (RFC 7396)")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_patch_follows_rfc_7396_appendix_a() {
        // The RFC's own examples (Appendix A), a selection.
        let cases = [
            (json!({"a": "b"}), json!({"a": "c"}), json!({"a": "c"})),
            (
                json!({"a": "b"}),
                json!({"b": "c"}),
                json!({"a": "b", "b": "c"}),
            ),
            (json!({"a": "b"}), json!({"a": null}), json!({})),
            (
                json!({"a": "b", "b": "c"}),
                json!({"a": null}),
                json!({"b": "c"}),
            ),
            (json!({"a": ["b"]}), json!({"a": "c"}), json!({"a": "c"})),
            (json!({"a": "c"}), json!({"a": ["b"]}), json!({"a": ["b"]})),
            (
                json!({"a": {"b": "c"}}),
                json!({"a": {"b": "d", "c": null}}),
                json!({"a": {"b": "d"}}),
            ),
            (
                json!({"a": [{"b": "c"}]}),
                json!({"a": [1]}),
                json!({"a": [1]}),
            ),
            (
                json!({"e": null}),
                json!({"a": 1}),
                json!({"e": null, "a": 1}),
            ),
            (
                json!([1, 2]),
                json!({"a": "b", "c": null}),
                json!({"a": "b"}),
            ),
            (
                json!({}),
                json!({"a": {"bb": {"ccc": null}}}),
                json!({"a": {"bb": {}}}),
            ),
        ];
        for (mut target, patch, want) in cases {
            merge_patch(&mut target, &patch);
            assert_eq!(target, want, "patch {patch}");
        }
    }
}
