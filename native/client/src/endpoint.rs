//! Master endpoints: `host:port` tokens, comma separated.

use std::fmt;

use crate::error::{Error, Result};

/// One `host:port`. IPv6 literals keep their brackets off in `host`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
}

impl Endpoint {
    pub fn new(host: impl Into<String>, port: u16) -> Endpoint {
        Endpoint {
            host: host.into(),
            port,
        }
    }

    /// Parses one `host:port` or `[v6]:port` token.
    pub fn parse(token: &str) -> Result<Endpoint> {
        let token = token.trim();
        let bad = |why: &str| {
            Error::invalid(format!(
                "bad master endpoint {token:?}: {why} (expected host:port)"
            ))
        };
        if token.is_empty() {
            return Err(bad("empty"));
        }

        let (host, port) = if let Some(rest) = token.strip_prefix('[') {
            let (host, after) = rest
                .split_once(']')
                .ok_or_else(|| bad("no closing ']' after the IPv6 address"))?;
            let port = after
                .strip_prefix(':')
                .ok_or_else(|| bad("no port after the IPv6 address"))?;
            (host, port)
        } else {
            let (host, port) = token.rsplit_once(':').ok_or_else(|| bad("no port"))?;
            if host.contains(':') {
                return Err(bad("IPv6 addresses need brackets, as in [::1]:8995"));
            }
            (host, port)
        };

        if host.is_empty() {
            return Err(bad("empty host"));
        }
        if host.chars().any(|c| c.is_whitespace() || c == '/') {
            return Err(bad("the host has a space or a '/'"));
        }
        if port.is_empty() {
            return Err(bad("empty port"));
        }
        let port: u32 = port
            .parse()
            .map_err(|_| bad(&format!("port {port:?} is not a number")))?;
        if port == 0 || port > 65535 {
            return Err(bad(&format!("port {port} is out of range 1..65535")));
        }
        Ok(Endpoint::new(host, port as u16))
    }

    /// Parses a comma-separated list; at least one endpoint, none empty.
    pub fn parse_list(list: &str) -> Result<Vec<Endpoint>> {
        if list.trim().is_empty() {
            return Err(Error::invalid(
                "empty master endpoint list (expected host:port[,host:port...])",
            ));
        }
        let mut out = Vec::new();
        for (i, token) in list.split(',').enumerate() {
            if token.trim().is_empty() {
                return Err(Error::invalid(format!(
                    "empty master endpoint at position {} in {list:?}",
                    i + 1
                )));
            }
            let endpoint = Endpoint::parse(token)?;
            if !out.contains(&endpoint) {
                out.push(endpoint);
            }
        }
        Ok(out)
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_of_names_v4_and_v6() {
        let eps = Endpoint::parse_list(" m1:8995, 10.0.0.2:1 ,[::1]:8995").unwrap();
        assert_eq!(
            eps,
            vec![
                Endpoint::new("m1", 8995),
                Endpoint::new("10.0.0.2", 1),
                Endpoint::new("::1", 8995)
            ]
        );
        assert_eq!(eps[2].to_string(), "[::1]:8995");
        assert_eq!(eps[0].to_string(), "m1:8995");
    }

    #[test]
    fn duplicates_collapse() {
        assert_eq!(Endpoint::parse_list("a:1,a:1").unwrap().len(), 1);
    }

    fn err(list: &str) -> String {
        Endpoint::parse_list(list).unwrap_err().message
    }

    #[test]
    fn bad_tokens_are_named() {
        assert!(err("").contains("empty master endpoint list"));
        assert!(err("a:1,,b:2").contains("position 2"));
        assert!(err("a:1,b").contains("\"b\": no port"));
        assert!(err(":8995").contains("empty host"));
        assert!(err("a:").contains("empty port"));
        assert!(err("a:http").contains("\"http\" is not a number"));
        assert!(err("a:0").contains("out of range"));
        assert!(err("a:65536").contains("65536 is out of range"));
        assert!(err("::1:8995").contains("need brackets"));
        assert!(err("[::1]").contains("no port after"));
        assert!(err("[::1:80").contains("no closing"));
        assert!(err("a b:1").contains("space"));
        assert_eq!(
            Endpoint::parse_list("a:1,b:x").unwrap_err().code,
            crate::error::Code::InvalidArgument
        );
    }
}
