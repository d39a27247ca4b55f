//! `key=value,key=value` lists as `OTEL_EXPORTER_OTLP_HEADERS` and
//! `OTEL_RESOURCE_ATTRIBUTES` spell them: whitespace around items is trimmed and values
//! are percent-decoded. A malformed list is an error, not a partial result.
use percent_encoding::percent_decode_str;

pub fn parse(s: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for item in s.split(',').map(str::trim) {
        if item.is_empty() {
            continue;
        }
        let Some((k, v)) = item.split_once('=') else {
            return Err(format!("`{item}` is not key=value"));
        };
        let key = decode(k.trim())?;
        if key.is_empty() {
            return Err(format!("`{item}` has an empty key"));
        }
        out.push((key, decode(v.trim())?));
    }
    Ok(out)
}

fn decode(s: &str) -> Result<String, String> {
    percent_decode_str(s)
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|_| format!("`{s}` is not UTF-8 once percent-decoded"))
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn trims_and_percent_decodes() {
        let v = parse(" authorization=Bearer%20abc , x-tenant=a%2Cb,").unwrap();
        assert_eq!(
            v,
            [
                ("authorization".to_string(), "Bearer abc".to_string()),
                ("x-tenant".to_string(), "a,b".to_string())
            ]
        );
        assert_eq!(parse("k=").unwrap(), [("k".to_string(), String::new())]);
    }

    #[test]
    fn rejects_malformed_items() {
        assert!(parse("novalue").unwrap_err().contains("key=value"));
        assert!(parse("=v").unwrap_err().contains("empty key"));
        assert!(parse("k=%FF").unwrap_err().contains("UTF-8"));
    }
}
