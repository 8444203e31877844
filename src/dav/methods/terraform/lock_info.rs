//! Terraform's LockInfo: the JSON object its http backend sends as the body
//! of LOCK and UNLOCK (`{"ID","Operation","Info","Who","Version","Created",
//! "Path"}`), how it is kept with a lock, and the LockInfo a refused LOCK
//! answers with (Terraform decodes that body to say who holds the state).
//!
//! A Terraform lock is an ordinary lock; its LockInfo rides in the lock's
//! `DAV:owner` element as an attribute of deadbolt's own
//! `terraform-lock` element, whose text is a one-line summary. So WebDAV
//! clients, `deadbolt locks list` and every 423 show the summary, and
//! Terraform gets its LockInfo back verbatim, with the ID it chose, which
//! is how its state writes and UNLOCKs name the lock.

use serde_json::{Map, Value};

use crate::authority::view::{owner_text, rfc3339};
use crate::dav::error::{DavError, Disclosure};
use crate::dav::xml::DAV_NS;
use crate::dav::xml::dom::{self, Attribute, Element, Node};
use crate::dav::xml::render::DEADBOLT_NS;
use crate::locks::{ActiveLock, LockError, LockScope};

/// The element inside `DAV:owner` that carries a Terraform lock's LockInfo.
const ELEMENT: &str = "terraform-lock";
/// Its attribute holding the LockInfo JSON.
const ATTRIBUTE: &str = "lockinfo";
/// Longest `ID` accepted: Terraform's are UUIDs (36 characters).
const MAX_ID: usize = 256;

/// The fields Terraform's Go struct decodes as strings: anything else there
/// would make every other Terraform fail to read a refusal naming this lock.
const STRING_FIELDS: &[&str] = &[
    "ID",
    "Operation",
    "Info",
    "Who",
    "Version",
    "Created",
    "Path",
];

/// A LockInfo as the client sent it (unknown fields are kept).
#[derive(Debug, Clone, PartialEq)]
pub struct LockInfo {
    fields: Map<String, Value>,
}

impl LockInfo {
    /// Parses a LOCK or UNLOCK body, already bounded by the XML body limit.
    pub fn parse(body: &[u8]) -> Result<Self, DavError> {
        let fields: Map<String, Value> = serde_json::from_slice(body).map_err(|e| {
            DavError::BadRequest(format!(
                "the body is not a Terraform LockInfo JSON object: {e}"
            ))
        })?;
        if let Some(name) = STRING_FIELDS
            .iter()
            .find(|name| fields.get(**name).is_some_and(|v| !v.is_string()))
        {
            return Err(DavError::BadRequest(format!(
                "the LockInfo's {name} must be a string"
            )));
        }
        let info = Self { fields };
        if info.text("ID").len() > MAX_ID {
            return Err(DavError::BadRequest(format!(
                "the LockInfo's ID is longer than {MAX_ID} characters"
            )));
        }
        Ok(info)
    }

    /// The ID Terraform chose for its lock, when it sent one.
    pub fn id(&self) -> Option<&str> {
        Some(self.text("ID")).filter(|id| !id.is_empty())
    }

    fn text(&self, field: &str) -> &str {
        self.fields.get(field).and_then(Value::as_str).unwrap_or("")
    }

    /// Compact JSON (no insignificant whitespace, so it survives an XML
    /// attribute unchanged).
    pub fn json(&self) -> String {
        Value::Object(self.fields.clone()).to_string()
    }

    /// "Terraform OperationTypeApply by ana@laptop, ID 6f1c…": how the lock
    /// reads to people.
    fn summary(&self) -> String {
        let mut text = String::from("Terraform");
        let operation = self.text("Operation");
        text.push_str(if operation.is_empty() { " lock" } else { " " });
        text.push_str(operation);
        let who = self.text("Who");
        if !who.is_empty() {
            text.push_str(" by ");
            text.push_str(who);
        }
        if let Some(id) = self.id() {
            text.push_str(", ID ");
            text.push_str(id);
        }
        text
    }

    /// The `DAV:owner` element to keep with the lock.
    pub fn to_owner_xml(&self) -> String {
        let carrier = Element {
            namespace: DEADBOLT_NS.to_owned(),
            local: ELEMENT.to_owned(),
            attributes: vec![Attribute {
                namespace: String::new(),
                local: ATTRIBUTE.to_owned(),
                value: self.json(),
            }],
            children: vec![Node::Text(self.summary())],
            lang: None,
        };
        Element {
            namespace: DAV_NS.to_owned(),
            local: "owner".to_owned(),
            attributes: Vec::new(),
            children: vec![Node::Element(carrier)],
            lang: None,
        }
        .to_xml()
    }

    /// The LockInfo kept in a lock's owner, if it is a Terraform lock.
    pub fn of_lock(lock: &ActiveLock) -> Option<Self> {
        let owner = dom::parse(lock.owner.as_deref()?.as_bytes()).ok()?;
        if !owner.is(DAV_NS, "owner") {
            return None;
        }
        let carrier = owner
            .child_elements()
            .find(|e| e.is(DEADBOLT_NS, ELEMENT))?;
        let json = carrier
            .attributes
            .iter()
            .find(|a| a.namespace.is_empty() && a.local == ATTRIBUTE)?;
        Self::parse(json.value.as_bytes()).ok()
    }
}

/// The ID of an UNLOCK body: Terraform's own ID, or `None` for an empty
/// body (what `terraform force-unlock` sends) or a LockInfo without one.
pub fn unlock_id(body: &[u8]) -> Result<Option<String>, DavError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    Ok(LockInfo::parse(body)?.id().map(str::to_owned))
}

/// Whether `id` names `lock`: the ID Terraform chose for it, or (for any
/// lock) its token, which is the ID a refusal gives for a WebDAV lock.
pub fn names(lock: &ActiveLock, id: &str) -> bool {
    lock.token.as_str() == id || LockInfo::of_lock(lock).is_some_and(|i| i.id() == Some(id))
}

/// The LockInfo JSON of a refused Terraform LOCK (the caller sends it for
/// the refusals that are 423s): the holder's for a lock, the hold's for a
/// maintenance hold, otherwise one whose `Info` says why.
pub fn refusal_json(refusal: &LockError, disclosure: Disclosure) -> String {
    let show = disclosure == Disclosure::ShowHolder;
    let mut info = Map::new();
    let mut set = |field: &str, value: String| {
        info.insert(field.to_owned(), Value::String(value));
    };
    set("ID", String::new());
    set("Info", refusal.to_string());
    match refusal {
        LockError::Locked { lock } | LockError::Conflict { lock } => {
            return holder_json(lock, show);
        }
        LockError::Held { hold } => {
            set("Operation", "maintenance hold".to_owned());
            if show {
                set("Who", hold.created_by.clone().unwrap_or_default());
            }
            set("Created", rfc3339(hold.created));
            set("Path", hold.path.key());
        }
        LockError::BeingWritten { path } => set("Path", path.key()),
        // Go cannot decode an empty time: "Created" only when known.
        _ => {}
    }
    Value::Object(info).to_string()
}

/// A Terraform lock's own LockInfo (with the path filled in: that is the
/// server's part); for any other lock (WebDAV's, or any surface's), one
/// that describes it, with its token as the ID. Without `show`, nothing
/// says who holds it.
fn holder_json(lock: &ActiveLock, show: bool) -> String {
    let mut info = match LockInfo::of_lock(lock) {
        Some(terraform) => terraform.fields,
        None => {
            let scope = match lock.scope {
                LockScope::Exclusive => "exclusive",
                LockScope::Shared => "shared",
            };
            let owner = owner_text(lock.owner.as_deref());
            let mut text = format!(
                "{scope} lock on {} (depth {}) until {}",
                lock.root,
                lock.depth.as_str(),
                rfc3339(lock.expires)
            );
            if let Some(owner) = &owner {
                text.push_str("; owner: ");
                text.push_str(owner);
            }
            let who = lock.principal.clone().or(owner).unwrap_or_default();
            let mut info = Map::new();
            for (field, value) in [
                ("ID", lock.token.to_string()),
                ("Operation", "lock".to_owned()),
                ("Info", text),
                ("Who", who),
                ("Created", rfc3339(lock.created)),
            ] {
                info.insert(field.to_owned(), Value::String(value));
            }
            info
        }
    };
    if info
        .get("Path")
        .and_then(Value::as_str)
        .unwrap_or("")
        .is_empty()
    {
        info.insert("Path".to_owned(), Value::String(lock.root.key()));
    }
    if !show {
        for field in ["Who", "Info"] {
            info.insert(field.to_owned(), Value::String(String::new()));
        }
    }
    Value::Object(info).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::locks::{
        LockClient, LockDepth, LockRequest, LockRules, LockTable, LockToken, ResourcePath,
        TimeoutRequest, Timestamp,
    };

    const TERRAFORM: &str = r#"{"ID":"6f1c2a9e-0000-4000-8000-000000000001","Operation":"OperationTypeApply","Info":"","Who":"ana@laptop","Version":"1.11.4","Created":"2026-01-02T03:04:05.123456Z","Path":""}"#;

    /// A lock granted by the core on `/infra/prod.tfstate` at 22:13:20Z.
    fn lock_with(owner: Option<String>, principal: Option<&str>) -> ActiveLock {
        let request = LockRequest {
            token: LockToken("urn:uuid:1".into()),
            root: ResourcePath::from_segments(["infra", "prod.tfstate"]).unwrap(),
            root_is_collection: false,
            scope: LockScope::Exclusive,
            depth: LockDepth::Zero,
            owner,
            principal: principal.map(str::to_owned),
            client: LockClient::default(),
            timeout: vec![TimeoutRequest::Seconds(60)],
        };
        let now = Timestamp(1_700_000_000_000);
        LockRules::default()
            .acquire(&mut LockTable::default(), request, now)
            .unwrap()
    }

    fn json(text: &str) -> Map<String, Value> {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn a_terraform_lock_keeps_its_lockinfo_and_reads_as_a_summary() {
        let info = LockInfo::parse(TERRAFORM.as_bytes()).unwrap();
        let owner = info.to_owner_xml();
        let lock = lock_with(Some(owner.clone()), Some("alice"));
        assert_eq!(LockInfo::of_lock(&lock), Some(info));
        assert_eq!(
            owner_text(Some(&owner)).as_deref(),
            Some(
                "Terraform OperationTypeApply by ana@laptop, ID 6f1c2a9e-0000-4000-8000-000000000001"
            )
        );
        assert!(names(&lock, "6f1c2a9e-0000-4000-8000-000000000001"));
        assert!(names(&lock, "urn:uuid:1"), "the token names it too");
        assert!(!names(&lock, "6f1c2a9e"));
    }

    #[test]
    fn markup_in_a_lockinfo_stays_inside_the_attribute() {
        let body = r#"{"ID":"x\"<y>&z","Who":"</D:owner><evil/>","Info":"a\nb"}"#;
        let info = LockInfo::parse(body.as_bytes()).unwrap();
        let lock = lock_with(Some(info.to_owner_xml()), None);
        let back = LockInfo::of_lock(&lock).unwrap();
        assert_eq!(back.id(), Some("x\"<y>&z"));
        assert_eq!(back.text("Who"), "</D:owner><evil/>");
        assert_eq!(back.text("Info"), "a\nb");
    }

    #[test]
    fn bad_lockinfo_is_refused_with_a_reason() {
        for (body, reason) in [
            (&b"<D:lockinfo/>"[..], "not a Terraform LockInfo"),
            (b"[1]", "not a Terraform LockInfo"),
            (br#"{"ID":7}"#, "ID must be a string"),
            (br#"{"ID":"a","Created":{}}"#, "Created must be a string"),
        ] {
            match LockInfo::parse(body) {
                Err(DavError::BadRequest(text)) => assert!(text.contains(reason), "{text}"),
                other => panic!("{body:?}: {other:?}"),
            }
        }
        let long = format!(r#"{{"ID":"{}"}}"#, "a".repeat(MAX_ID + 1));
        assert!(LockInfo::parse(long.as_bytes()).is_err());
    }

    #[test]
    fn unlock_bodies() {
        assert_eq!(unlock_id(b"").unwrap(), None, "force-unlock sends nothing");
        assert_eq!(unlock_id(b"{}").unwrap(), None);
        assert_eq!(unlock_id(br#"{"ID":"a"}"#).unwrap().as_deref(), Some("a"));
        assert!(unlock_id(b"{").is_err());
    }

    #[test]
    fn a_refusal_by_a_terraform_lock_gives_back_its_lockinfo_with_the_path() {
        let info = LockInfo::parse(TERRAFORM.as_bytes()).unwrap();
        let lock = Box::new(lock_with(Some(info.to_owner_xml()), Some("alice")));
        let refusal = LockError::Conflict { lock };
        let shown = json(&refusal_json(&refusal, Disclosure::ShowHolder));
        let mut expected = json(TERRAFORM);
        expected.insert("Path".into(), "/infra/prod.tfstate".into());
        assert_eq!(shown, expected);
        let hidden = json(&refusal_json(&refusal, Disclosure::HideHolder));
        assert_eq!(hidden["ID"], expected["ID"]);
        assert_eq!(hidden["Who"], "");
    }

    #[test]
    fn a_refusal_by_a_webdav_lock_names_its_token_and_holder() {
        let owner = "<D:owner xmlns:D=\"DAV:\">Ana's laptop</D:owner>".to_owned();
        let lock = Box::new(lock_with(Some(owner), Some("alice")));
        let refusal = LockError::Conflict { lock };
        let shown = json(&refusal_json(&refusal, Disclosure::ShowHolder));
        assert_eq!(shown["ID"], "urn:uuid:1");
        assert_eq!(shown["Who"], "alice");
        assert_eq!(shown["Created"], "2023-11-14T22:13:20Z");
        assert_eq!(shown["Path"], "/infra/prod.tfstate");
        let text = shown["Info"].as_str().unwrap();
        assert!(
            text.contains("exclusive lock on /infra/prod.tfstate (depth 0)")
                && text.contains("Ana's laptop")
        );
        let hidden = json(&refusal_json(&refusal, Disclosure::HideHolder));
        assert_eq!((&hidden["Who"], &hidden["Info"]), (&"".into(), &"".into()));
    }

    #[test]
    fn refusals_without_a_lock_say_why() {
        let busy = LockError::BeingWritten {
            path: ResourcePath::from_segments(["s"]).unwrap(),
        };
        let info = json(&refusal_json(&busy, Disclosure::ShowHolder));
        assert!(info["Info"].as_str().unwrap().contains("being written"));
        assert_eq!((&info["ID"], &info["Path"]), (&"".into(), &"/s".into()));
        assert!(
            !info.contains_key("Created"),
            "Go cannot decode an empty time"
        );
    }
}
