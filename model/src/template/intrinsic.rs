//! Intrinsic functions and pseudo parameters as typed builders: `Ref`, `Fn::GetAtt`, `Fn::Sub`
//! (string and with-map forms), `Fn::Join`, `Fn::Select`, `Fn::GetAZs`, `Fn::ImportValue`, and
//! `AWS::Region`, `AWS::Partition` and the other pseudo parameters. An `Expr` serialises to the
//! JSON CloudFormation expects, so it can be put anywhere in a resource's properties.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Serialize, Serializer};
use serde_json::{Map, Value, json};

use super::LogicalId;

/// The pseudo parameters CloudFormation defines in every stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Pseudo {
    AccountId,
    NotificationArns,
    NoValue,
    Partition,
    Region,
    StackId,
    StackName,
    UrlSuffix,
}

impl Pseudo {
    pub const ALL: [Pseudo; 8] = [
        Pseudo::AccountId,
        Pseudo::NotificationArns,
        Pseudo::NoValue,
        Pseudo::Partition,
        Pseudo::Region,
        Pseudo::StackId,
        Pseudo::StackName,
        Pseudo::UrlSuffix,
    ];

    /// Its name as a template spells it, e.g. `AWS::Partition`.
    pub const fn name(self) -> &'static str {
        match self {
            Pseudo::AccountId => "AWS::AccountId",
            Pseudo::NotificationArns => "AWS::NotificationARNs",
            Pseudo::NoValue => "AWS::NoValue",
            Pseudo::Partition => "AWS::Partition",
            Pseudo::Region => "AWS::Region",
            Pseudo::StackId => "AWS::StackId",
            Pseudo::StackName => "AWS::StackName",
            Pseudo::UrlSuffix => "AWS::URLSuffix",
        }
    }

    /// The pseudo parameter with this name, if it is one.
    pub fn from_name(name: &str) -> Option<Pseudo> {
        Pseudo::ALL.into_iter().find(|p| p.name() == name)
    }

    /// `${AWS::Partition}` and the like: the form a `Fn::Sub` string uses.
    pub fn sub_variable(self) -> String {
        format!("${{{}}}", self.name())
    }
}

impl fmt::Display for Pseudo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a `Ref` points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefTarget {
    LogicalId(LogicalId),
    Pseudo(Pseudo),
}

impl RefTarget {
    pub fn name(&self) -> &str {
        match self {
            RefTarget::LogicalId(id) => id.as_str(),
            RefTarget::Pseudo(p) => p.name(),
        }
    }
}

/// A value in a template: a literal, or an intrinsic function CloudFormation resolves at deploy time.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Literal(Value),
    Ref(RefTarget),
    GetAtt {
        logical_id: LogicalId,
        attribute: String,
    },
    /// `Fn::Sub`; with no variables it serialises to the string form.
    Sub {
        template: String,
        variables: BTreeMap<String, Expr>,
    },
    Join {
        delimiter: String,
        values: Vec<Expr>,
    },
    Select {
        index: u32,
        list: Box<Expr>,
    },
    /// `Fn::GetAZs`; `None` is the stack's own region (the empty string).
    GetAzs {
        region: Option<Box<Expr>>,
    },
    ImportValue(Box<Expr>),
}

impl Expr {
    pub fn literal(value: impl Into<Value>) -> Expr {
        Expr::Literal(value.into())
    }

    /// `{"Ref": id}`: a parameter's value, or a resource's primary identifier.
    pub fn ref_to(id: &LogicalId) -> Expr {
        Expr::Ref(RefTarget::LogicalId(id.clone()))
    }

    /// `{"Ref": "AWS::Region"}` and the other pseudo parameters.
    pub fn pseudo(pseudo: Pseudo) -> Expr {
        Expr::Ref(RefTarget::Pseudo(pseudo))
    }

    /// `{"Fn::GetAtt": [id, attribute]}`.
    pub fn get_att(id: &LogicalId, attribute: impl Into<String>) -> Expr {
        Expr::GetAtt { logical_id: id.clone(), attribute: attribute.into() }
    }

    /// `{"Fn::Sub": template}`: `${Name}` is a parameter, resource or pseudo parameter,
    /// `${Name.Attribute}` a resource attribute, `${!Literal}` a literal `${Literal}`.
    pub fn sub(template: impl Into<String>) -> Expr {
        Expr::Sub { template: template.into(), variables: BTreeMap::new() }
    }

    /// `{"Fn::Sub": [template, {name: value, ...}]}`.
    pub fn sub_with<K: Into<String>>(
        template: impl Into<String>,
        variables: impl IntoIterator<Item = (K, Expr)>,
    ) -> Expr {
        Expr::Sub { template: template.into(), variables: variables.into_iter().map(|(k, v)| (k.into(), v)).collect() }
    }

    /// `{"Fn::Join": [delimiter, [values...]]}`.
    pub fn join(delimiter: impl Into<String>, values: impl IntoIterator<Item = Expr>) -> Expr {
        Expr::Join { delimiter: delimiter.into(), values: values.into_iter().collect() }
    }

    /// `{"Fn::Select": [index, list]}`.
    pub fn select(index: u32, list: Expr) -> Expr {
        Expr::Select { index, list: Box::new(list) }
    }

    /// `{"Fn::GetAZs": ""}`: the availability zones of the stack's region.
    pub fn get_azs() -> Expr {
        Expr::GetAzs { region: None }
    }

    /// `{"Fn::GetAZs": region}`.
    pub fn get_azs_in(region: Expr) -> Expr {
        Expr::GetAzs { region: Some(Box::new(region)) }
    }

    /// `{"Fn::ImportValue": export_name}`.
    pub fn import_value(export_name: Expr) -> Expr {
        Expr::ImportValue(Box::new(export_name))
    }

    /// The JSON CloudFormation expects for this value.
    pub fn to_value(&self) -> Value {
        match self {
            Expr::Literal(value) => value.clone(),
            Expr::Ref(target) => json!({ "Ref": target.name() }),
            Expr::GetAtt { logical_id, attribute } => json!({ "Fn::GetAtt": [logical_id.as_str(), attribute] }),
            Expr::Sub { template, variables } if variables.is_empty() => json!({ "Fn::Sub": template }),
            Expr::Sub { template, variables } => {
                let map: Map<String, Value> = variables.iter().map(|(k, v)| (k.clone(), v.to_value())).collect();
                json!({ "Fn::Sub": [template, map] })
            }
            Expr::Join { delimiter, values } => {
                let values: Vec<Value> = values.iter().map(Expr::to_value).collect();
                json!({ "Fn::Join": [delimiter, values] })
            }
            Expr::Select { index, list } => json!({ "Fn::Select": [index, list.to_value()] }),
            Expr::GetAzs { region: None } => json!({ "Fn::GetAZs": "" }),
            Expr::GetAzs { region: Some(region) } => json!({ "Fn::GetAZs": region.to_value() }),
            Expr::ImportValue(name) => json!({ "Fn::ImportValue": name.to_value() }),
        }
    }
}

impl Serialize for Expr {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_value().serialize(serializer)
    }
}

impl From<Expr> for Value {
    fn from(expr: Expr) -> Value {
        expr.to_value()
    }
}

impl From<&Expr> for Value {
    fn from(expr: &Expr) -> Value {
        expr.to_value()
    }
}

impl From<Pseudo> for Expr {
    fn from(pseudo: Pseudo) -> Expr {
        Expr::pseudo(pseudo)
    }
}

impl From<&str> for Expr {
    fn from(s: &str) -> Expr {
        Expr::Literal(Value::String(s.to_owned()))
    }
}

impl From<String> for Expr {
    fn from(s: String) -> Expr {
        Expr::Literal(Value::String(s))
    }
}

/// A variable a `Fn::Sub` string names: `${Name}` or `${Name.Attribute}`, but not `${!Literal}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubVariable {
    pub name: String,
    pub attribute: Option<String>,
}

/// The variables a `Fn::Sub` string names, in order, or the offset of a `${` left unclosed.
pub fn sub_variables(template: &str) -> Result<Vec<SubVariable>, usize> {
    let mut found = Vec::new();
    let mut rest = template;
    let mut offset = 0;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            return Err(offset + start);
        };
        let inner = &after[..end];
        if !inner.starts_with('!') {
            let (name, attribute) = match inner.split_once('.') {
                Some((name, attribute)) => (name.to_owned(), Some(attribute.to_owned())),
                None => (inner.to_owned(), None),
            };
            found.push(SubVariable { name, attribute });
        }
        let consumed = start + 2 + end + 1;
        offset += consumed;
        rest = &rest[consumed..];
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> LogicalId {
        LogicalId::new(s).unwrap()
    }

    #[test]
    fn each_function_serialises_to_its_cloudformation_form() {
        assert_eq!(Expr::ref_to(&id("Vpc")).to_value(), json!({"Ref": "Vpc"}));
        assert_eq!(Expr::pseudo(Pseudo::UrlSuffix).to_value(), json!({"Ref": "AWS::URLSuffix"}));
        assert_eq!(Expr::get_att(&id("Cluster"), "Arn").to_value(), json!({"Fn::GetAtt": ["Cluster", "Arn"]}));
        assert_eq!(
            Expr::sub("arn:${AWS::Partition}:s3:::b").to_value(),
            json!({"Fn::Sub": "arn:${AWS::Partition}:s3:::b"})
        );
        assert_eq!(
            Expr::sub_with("${A}-${B}", [("A", Expr::ref_to(&id("Topic"))), ("B", Expr::literal("x"))]).to_value(),
            json!({"Fn::Sub": ["${A}-${B}", {"A": {"Ref": "Topic"}, "B": "x"}]})
        );
        assert_eq!(
            Expr::join(",", [Expr::literal("a"), Expr::pseudo(Pseudo::Region)]).to_value(),
            json!({"Fn::Join": [",", ["a", {"Ref": "AWS::Region"}]]})
        );
        assert_eq!(Expr::select(1, Expr::get_azs()).to_value(), json!({"Fn::Select": [1, {"Fn::GetAZs": ""}]}));
        assert_eq!(Expr::get_azs_in(Pseudo::Region.into()).to_value(), json!({"Fn::GetAZs": {"Ref": "AWS::Region"}}));
        assert_eq!(
            Expr::import_value(Expr::sub("${AWS::StackName}-X")).to_value(),
            json!({"Fn::ImportValue": {"Fn::Sub": "${AWS::StackName}-X"}})
        );
        assert_eq!(serde_json::to_value(Expr::literal(3)).unwrap(), json!(3));
    }

    #[test]
    fn pseudo_parameters_round_trip_by_name() {
        for p in Pseudo::ALL {
            assert_eq!(Pseudo::from_name(p.name()), Some(p));
            assert!(p.name().starts_with("AWS::"));
        }
        assert_eq!(Pseudo::Partition.sub_variable(), "${AWS::Partition}");
        assert_eq!(Pseudo::from_name("AWS::Nope"), None);
    }

    #[test]
    fn sub_variables_skip_literals_and_split_attributes() {
        let vars = sub_variables("arn:${AWS::Partition}:x:${Topic.Arn}:${!Literal}-${Name}").unwrap();
        let names: Vec<_> = vars.iter().map(|v| (v.name.as_str(), v.attribute.as_deref())).collect();
        assert_eq!(names, [("AWS::Partition", None), ("Topic", Some("Arn")), ("Name", None)]);
        assert_eq!(sub_variables("a ${open").unwrap_err(), 2);
        assert!(sub_variables("no variables, {just braces}").unwrap().is_empty());
    }
}
