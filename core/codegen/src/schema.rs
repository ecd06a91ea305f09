//! Reading Kafka's JSON message schemas (JSON with `//` line comments) into a model.

use serde_json::Value;
use std::path::Path;

/// An inclusive version range; `max == i16::MAX` stands for "N+".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Versions {
    pub min: i16,
    pub max: i16,
}

impl Versions {
    pub const ALL: Versions = Versions {
        min: 0,
        max: i16::MAX,
    };

    /// Parses "3+", "0-5", "7" or "none" (`None`).
    pub fn parse(text: &str) -> Result<Option<Versions>, String> {
        let text = text.trim();
        let number = |s: &str| {
            s.parse::<i16>()
                .map_err(|_| format!("bad version range {text:?}"))
        };
        if text == "none" {
            Ok(None)
        } else if let Some(min) = text.strip_suffix('+') {
            Ok(Some(Versions {
                min: number(min)?,
                max: i16::MAX,
            }))
        } else if let Some((min, max)) = text.split_once('-') {
            Ok(Some(Versions {
                min: number(min)?,
                max: number(max)?,
            }))
        } else {
            let only = number(text)?;
            Ok(Some(Versions {
                min: only,
                max: only,
            }))
        }
    }

    pub fn intersect(self, other: Versions) -> Option<Versions> {
        let min = self.min.max(other.min);
        let max = self.max.min(other.max);
        (min <= max).then_some(Versions { min, max })
    }

    /// Whether `self` holds every version of `within`.
    pub fn covers(self, within: Versions) -> bool {
        self.min <= within.min && self.max >= within.max
    }

    pub fn describe(self) -> String {
        if self.max == i16::MAX {
            format!("{}+", self.min)
        } else if self.min == self.max {
            format!("{}", self.min)
        } else {
            format!("{}-{}", self.min, self.max)
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldType {
    Bool,
    Int8,
    Int16,
    Uint16,
    Int32,
    Int64,
    Float64,
    Uuid,
    String,
    Bytes,
    Records,
    Struct(String),
    Array(Box<FieldType>),
}

impl FieldType {
    fn parse(text: &str) -> FieldType {
        if let Some(inner) = text.strip_prefix("[]") {
            return FieldType::Array(Box::new(FieldType::parse(inner)));
        }
        match text {
            "bool" => FieldType::Bool,
            "int8" => FieldType::Int8,
            "int16" => FieldType::Int16,
            "uint16" => FieldType::Uint16,
            "int32" => FieldType::Int32,
            "int64" => FieldType::Int64,
            "float64" => FieldType::Float64,
            "uuid" => FieldType::Uuid,
            "string" => FieldType::String,
            "bytes" => FieldType::Bytes,
            "records" => FieldType::Records,
            other => FieldType::Struct(other.to_string()),
        }
    }

    /// Types whose wire form can carry a null.
    pub fn can_be_null(&self) -> bool {
        matches!(
            self,
            FieldType::String
                | FieldType::Bytes
                | FieldType::Records
                | FieldType::Struct(_)
                | FieldType::Array(_)
        )
    }
}

#[derive(Debug, Clone)]
pub struct Field {
    pub name: String,
    pub ty: FieldType,
    pub versions: Versions,
    pub nullable: Option<Versions>,
    pub tagged: Option<Versions>,
    pub tag: Option<u32>,
    pub ignorable: bool,
    pub default: Option<String>,
    pub about: String,
    /// A field-level override of the message's flexible versions (RequestHeader's
    /// ClientId keeps its old length prefix in every version).
    pub flexible_override: Option<Option<Versions>>,
    /// Fields of the struct this field declares inline, if any.
    pub inline_struct: Option<Vec<Field>>,
}

#[derive(Debug, Clone)]
pub struct StructDef {
    pub name: String,
    pub about: String,
    pub fields: Vec<Field>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Request,
    Response,
    Header,
    Data,
}

#[derive(Debug, Clone)]
pub struct Schema {
    pub file_name: String,
    pub name: String,
    pub kind: Kind,
    pub api_key: Option<i16>,
    pub valid: Versions,
    pub deprecated: Option<Versions>,
    pub flexible: Option<Versions>,
    pub latest_version_unstable: bool,
    pub listeners: Vec<String>,
    pub fields: Vec<Field>,
    pub common_structs: Vec<StructDef>,
}

/// Removes `//` comments that start a line (after white space), the only kind the
/// schemas use, without touching `//` inside strings such as URLs.
fn strip_comments(text: &str) -> String {
    text.lines()
        .map(|line| {
            if line.trim_start().starts_with("//") {
                ""
            } else {
                line
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn string_of(value: &Value, key: &str) -> Option<String> {
    match value.get(key) {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Bool(b)) => Some(b.to_string()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}

fn versions_of(value: &Value, key: &str, context: &str) -> Result<Option<Versions>, String> {
    match string_of(value, key) {
        None => Ok(None),
        Some(text) => Versions::parse(&text).map_err(|e| format!("{context}: {key}: {e}")),
    }
}

fn parse_fields(value: &Value, context: &str) -> Result<Vec<Field>, String> {
    let Some(list) = value.get("fields").and_then(Value::as_array) else {
        return Ok(Vec::new());
    };
    list.iter().map(|f| parse_field(f, context)).collect()
}

fn parse_field(value: &Value, context: &str) -> Result<Field, String> {
    let name = string_of(value, "name").ok_or(format!("{context}: field without a name"))?;
    let context = format!("{context}.{name}");
    let ty = FieldType::parse(&string_of(value, "type").ok_or(format!("{context}: no type"))?);
    let versions =
        versions_of(value, "versions", &context)?.ok_or(format!("{context}: versions none"))?;
    let inline_struct = if value.get("fields").is_some() {
        Some(parse_fields(value, &context)?)
    } else {
        None
    };
    let flexible_override = match string_of(value, "flexibleVersions") {
        None => None,
        Some(text) => Some(Versions::parse(&text)?),
    };
    let tag = match value.get("tag") {
        None => None,
        // One schema spells its tag as a string ("0").
        Some(tag) => Some(
            tag.as_u64()
                .or_else(|| tag.as_str().and_then(|s| s.parse().ok()))
                .ok_or(format!("{context}: bad tag {tag}"))? as u32,
        ),
    };
    Ok(Field {
        ty,
        versions,
        nullable: versions_of(value, "nullableVersions", &context)?,
        tagged: versions_of(value, "taggedVersions", &context)?,
        tag,
        ignorable: value
            .get("ignorable")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        default: string_of(value, "default"),
        about: string_of(value, "about").unwrap_or_default(),
        flexible_override,
        inline_struct,
        name,
    })
}

pub fn parse_schema(path: &Path) -> Result<Schema, String> {
    let file_name = path.file_name().unwrap().to_string_lossy().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let value: Value = serde_json::from_str(&strip_comments(&text))
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let name = string_of(&value, "name").ok_or(format!("{file_name}: no name"))?;
    let kind = match string_of(&value, "type").as_deref() {
        Some("request") => Kind::Request,
        Some("response") => Kind::Response,
        Some("header") => Kind::Header,
        Some("data") => Kind::Data,
        other => return Err(format!("{file_name}: unknown type {other:?}")),
    };
    let common_structs = match value.get("commonStructs").and_then(Value::as_array) {
        None => Vec::new(),
        Some(list) => list
            .iter()
            .map(|s| {
                let struct_name = string_of(s, "name")
                    .ok_or(format!("{file_name}: common struct without name"))?;
                Ok(StructDef {
                    about: string_of(s, "about").unwrap_or_default(),
                    fields: parse_fields(s, &format!("{name}.{struct_name}"))?,
                    name: struct_name,
                })
            })
            .collect::<Result<_, String>>()?,
    };
    Ok(Schema {
        api_key: value
            .get("apiKey")
            .and_then(Value::as_i64)
            .map(|k| k as i16),
        valid: versions_of(&value, "validVersions", &name)?
            .ok_or(format!("{name}: no validVersions"))?,
        deprecated: versions_of(&value, "deprecatedVersions", &name)?,
        flexible: versions_of(&value, "flexibleVersions", &name)?,
        latest_version_unstable: value
            .get("latestVersionUnstable")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        listeners: value
            .get("listeners")
            .and_then(Value::as_array)
            .map(|l| {
                l.iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default(),
        fields: parse_fields(&value, &name)?,
        common_structs,
        file_name,
        name,
        kind,
    })
}

/// Reads every `*.json` schema in `dirs`, sorted by message name.
pub fn read_schemas(dirs: &[&Path]) -> Result<Vec<Schema>, String> {
    let mut schemas = Vec::new();
    for dir in dirs {
        let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for entry in entries {
            let path = entry.map_err(|e| e.to_string())?.path();
            if path.extension().is_some_and(|ext| ext == "json") {
                schemas.push(parse_schema(&path)?);
            }
        }
    }
    schemas.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(schemas)
}
