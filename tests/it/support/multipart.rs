//! `multipart/form-data` bodies as the fake platforms read them (file uploads, Discord's
//! `payload_json` with `files[n]`).

/// One part of a `multipart/form-data` body.
pub(crate) struct Part {
    pub(crate) name: String,
    pub(crate) filename: Option<String>,
    pub(crate) content: Vec<u8>,
}

/// Splits a multipart body on its boundary; enough of RFC 7578 for what Slack and Discord clients send.
pub(crate) fn multipart_parts(content_type: &str, body: &[u8]) -> Vec<Part> {
    let Some(boundary) = content_type
        .split(';')
        .find_map(|p| p.trim().strip_prefix("boundary="))
        .map(|b| b.trim_matches('"'))
    else {
        return Vec::new();
    };
    let delimiter = format!("--{boundary}").into_bytes();
    let mut parts = Vec::new();
    let mut rest = body;
    while let Some(start) = find(rest, &delimiter) {
        rest = &rest[start + delimiter.len()..];
        if rest.starts_with(b"--") {
            break;
        }
        let end = find(rest, &delimiter).unwrap_or(rest.len());
        let part = &rest[..end];
        let part = part.strip_prefix(b"\r\n").unwrap_or(part);
        let Some(split) = find(part, b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&part[..split]).into_owned();
        let content = &part[split + 4..];
        let content = content.strip_suffix(b"\r\n").unwrap_or(content);
        let attribute = |key: &str| {
            head.lines()
                .find(|line| {
                    line.to_ascii_lowercase()
                        .starts_with("content-disposition:")
                })?
                .split(';')
                .find_map(|field| field.trim().strip_prefix(key)?.strip_prefix('='))
                .map(|value| value.trim_matches('"').to_owned())
        };
        parts.push(Part {
            name: attribute("name").unwrap_or_default(),
            filename: attribute("filename"),
            content: content.to_vec(),
        });
    }
    parts
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
