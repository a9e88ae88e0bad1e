//! The spanned syntax tree of an HCL file. Every node keeps the bytes it came from.

use crate::source::Span;

/// An identifier with its span.
#[derive(Clone, Debug, PartialEq)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

/// The contents of a file or of a block: attributes and blocks in source order.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Body {
    pub items: Vec<Structure>,
    pub span: Span,
}

impl Body {
    /// The attributes, in order.
    pub fn attributes(&self) -> impl Iterator<Item = &Attribute> {
        self.items.iter().filter_map(|i| match i {
            Structure::Attribute(a) => Some(a),
            Structure::Block(_) => None,
        })
    }

    /// The blocks, in order.
    pub fn blocks(&self) -> impl Iterator<Item = &Block> {
        self.items.iter().filter_map(|i| match i {
            Structure::Block(b) => Some(b),
            Structure::Attribute(_) => None,
        })
    }

    /// The attribute called `name`, if defined.
    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes().find(|a| a.name.name == name)
    }
}

/// One item of a body.
#[derive(Clone, Debug, PartialEq)]
pub enum Structure {
    Attribute(Attribute),
    Block(Block),
}

impl Structure {
    /// The span of the whole item.
    pub fn span(&self) -> Span {
        match self {
            Structure::Attribute(a) => a.span,
            Structure::Block(b) => b.span,
        }
    }
}

/// `name = expr`
#[derive(Clone, Debug, PartialEq)]
pub struct Attribute {
    pub name: Ident,
    pub expr: Expr,
    pub span: Span,
}

/// `type "label" label { body }`
#[derive(Clone, Debug, PartialEq)]
pub struct Block {
    pub ident: Ident,
    pub labels: Vec<BlockLabel>,
    pub body: Body,
    pub open_brace: Span,
    pub close_brace: Span,
    pub span: Span,
}

impl Block {
    /// The span from the block type through its labels, for pointing at the block as a whole.
    pub fn header_span(&self) -> Span {
        self.ident.span.to(self.open_brace.start_point())
    }
}

/// A block label with its decoded value.
#[derive(Clone, Debug, PartialEq)]
pub struct BlockLabel {
    pub value: String,
    pub quoted: bool,
    pub span: Span,
}

/// An expression with its span.
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

/// The forms of expression.
#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    Null,
    Bool(bool),
    /// A numeric literal, kept as written (`1e3`) so no precision is lost before evaluation.
    Number(String),
    /// A quoted or heredoc template; a plain string literal is a template of one literal part.
    Template(Template),
    Variable(Ident),
    Tuple(Vec<Expr>),
    Object(Vec<ObjectItem>),
    FunctionCall(FunctionCall),
    /// `expr.name` or the legacy `expr.0`.
    GetAttr(Box<Expr>, Ident),
    /// `expr[key]`
    Index(Box<Expr>, Box<Expr>),
    Splat(Splat),
    Unary(UnaryOp, Box<Expr>),
    /// A run of binary operators of one precedence, read left to right: `first op1 e1 op2 e2`
    /// is `(first op1 e1) op2 e2`. Kept flat, a long chain (`a + b + ... + z`) does not nest as
    /// deep as it is long.
    Binary(Box<Expr>, Vec<(BinaryOp, Expr)>),
    Conditional(Box<Expr>, Box<Expr>, Box<Expr>),
    For(Box<ForExpr>),
    /// `( expr )`, kept so an object key in parentheses is evaluated rather than taken literally.
    Parens(Box<Expr>),
}

/// `key = value` inside an object constructor.
#[derive(Clone, Debug, PartialEq)]
pub struct ObjectItem {
    pub key: Expr,
    pub value: Expr,
}

impl ObjectItem {
    /// The literal key name when the key is a bare identifier (`{ foo = 1 }`); the keywords
    /// `null`, `true` and `false` written bare are names here too, as in HCL.
    pub fn bare_key(&self) -> Option<&str> {
        match &self.key.kind {
            ExprKind::Variable(ident) => Some(&ident.name),
            ExprKind::Null => Some("null"),
            ExprKind::Bool(true) => Some("true"),
            ExprKind::Bool(false) => Some("false"),
            _ => None,
        }
    }
}

/// `name(args...)`
#[derive(Clone, Debug, PartialEq)]
pub struct FunctionCall {
    pub name: Ident,
    pub args: Vec<Expr>,
    /// The last argument ends with `...`.
    pub expand_final: bool,
}

/// `source[*].a.b` or `source.*.a`
#[derive(Clone, Debug, PartialEq)]
pub struct Splat {
    pub source: Box<Expr>,
    /// Steps applied to each element, in order.
    pub each: Vec<Traversal>,
    /// `[*]` (true) or the attribute-only `.*` (false).
    pub full: bool,
}

/// One step applied to each element of a splat.
#[derive(Clone, Debug, PartialEq)]
pub enum Traversal {
    Attr(Ident),
    Index(Expr),
}

/// `-` or `!`
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnaryOp {
    Negate,
    Not,
}

/// Binary operators, in HCL's precedence groups.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryOp {
    Or,
    And,
    Equal,
    NotEqual,
    Less,
    LessEqual,
    Greater,
    GreaterEqual,
    Add,
    Subtract,
    Multiply,
    Divide,
    Modulo,
}

impl BinaryOp {
    /// Binding strength: higher binds tighter.
    pub fn precedence(self) -> u8 {
        use BinaryOp::*;
        match self {
            Or => 1,
            And => 2,
            Equal | NotEqual => 3,
            Less | LessEqual | Greater | GreaterEqual => 4,
            Add | Subtract => 5,
            Multiply | Divide | Modulo => 6,
        }
    }

    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        use BinaryOp::*;
        match self {
            Or => "||",
            And => "&&",
            Equal => "==",
            NotEqual => "!=",
            Less => "<",
            LessEqual => "<=",
            Greater => ">",
            GreaterEqual => ">=",
            Add => "+",
            Subtract => "-",
            Multiply => "*",
            Divide => "/",
            Modulo => "%",
        }
    }
}

/// `[for k, v in coll : value if cond]` or `{for k, v in coll : key => value... if cond}`
#[derive(Clone, Debug, PartialEq)]
pub struct ForExpr {
    pub key_var: Option<Ident>,
    pub value_var: Ident,
    pub collection: Expr,
    /// Present for object `for` expressions.
    pub key_expr: Option<Expr>,
    pub value_expr: Expr,
    pub condition: Option<Expr>,
    /// `...` after the value: group values with the same key into tuples.
    pub grouped: bool,
}

/// A template: literal text, interpolations and directives. Strip markers (`~`) and heredoc
/// indentation are already applied to the literal parts.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Template {
    pub parts: Vec<TemplatePart>,
    /// Written as a heredoc rather than in quotes.
    pub heredoc: bool,
}

impl Template {
    /// The text when the template is one literal (or empty), as block labels and keys need.
    pub fn as_literal(&self) -> Option<String> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                TemplatePart::Literal(text, _) => out.push_str(text),
                _ => return None,
            }
        }
        Some(out)
    }
}

/// One piece of a template.
#[derive(Clone, Debug, PartialEq)]
pub enum TemplatePart {
    Literal(String, Span),
    Interpolation(Expr),
    If {
        condition: Expr,
        then: Template,
        otherwise: Option<Template>,
        span: Span,
    },
    For {
        key_var: Option<Ident>,
        value_var: Ident,
        collection: Expr,
        body: Template,
        span: Span,
    },
}
