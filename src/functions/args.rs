//! A call's arguments, with cty's conversions to the types each parameter declares.

use super::{FunctionError, Spec};
use crate::value::{convert, Number, Type, Value};

/// The (unmarked, known) arguments of one call.
pub(crate) struct Args {
    spec: &'static Spec,
    values: Vec<Value>,
    /// Whether any argument was sensitive before the dispatcher unmarked it.
    pub marked: bool,
}

/// gocty's message when a number does not fit a Go `int`.
pub(crate) const WHOLE_NUMBER: &str =
    "value must be a whole number, between -9223372036854775808 and 9223372036854775807";

impl Args {
    pub fn new(spec: &'static Spec, values: Vec<Value>, marked: bool) -> Args {
        Args {
            spec,
            values,
            marked,
        }
    }

    /// The function's name.
    pub fn name(&self) -> &'static str {
        self.spec.name
    }

    /// How many arguments were given.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Argument `i` as given (null when absent).
    pub fn get(&self, i: usize) -> &Value {
        self.values.get(i).unwrap_or(&Value::Null)
    }

    /// The arguments from `i` on (the variadic ones).
    pub fn rest(&self, i: usize) -> &[Value] {
        self.values.get(i..).unwrap_or(&[])
    }

    fn param_of(spec: &Spec, i: usize) -> &'static str {
        spec.params
            .get(i)
            .copied()
            .or(spec.variadic)
            .unwrap_or("value")
    }

    /// An error about argument `i`.
    pub fn err(&self, i: usize, message: impl std::fmt::Display) -> FunctionError {
        Args::arg_error(self.spec, i, message)
    }

    pub(crate) fn arg_error(
        spec: &Spec,
        i: usize,
        message: impl std::fmt::Display,
    ) -> FunctionError {
        FunctionError {
            message: format!(
                "invalid value for \"{}\" parameter: {message}",
                Args::param_of(spec, i)
            ),
            arg: Some(i),
        }
    }

    /// Argument `i` converted to `ty`; null is an error.
    pub fn convert(&self, i: usize, ty: &Type) -> Result<Value, FunctionError> {
        let v = self.get(i);
        if v.is_null() {
            return Err(self.err(i, "argument must not be null"));
        }
        convert(v.clone(), ty).map_err(|e| self.err(i, e))
    }

    /// Argument `i` as a string (numbers and bools convert).
    pub fn string(&self, i: usize) -> Result<String, FunctionError> {
        match self.convert(i, &Type::String)? {
            Value::String(s) => Ok(s),
            _ => Err(self.err(i, "string required")),
        }
    }

    /// Argument `i` as a number (numeric strings convert).
    pub fn number(&self, i: usize) -> Result<Number, FunctionError> {
        match self.convert(i, &Type::Number)? {
            Value::Number(n) => Ok(n),
            _ => Err(self.err(i, "number required")),
        }
    }

    /// Argument `i` as a whole number that fits an i64, as gocty converts to a Go `int`.
    pub fn int(&self, i: usize) -> Result<i64, FunctionError> {
        let n = self.number(i)?;
        n.to_i64().ok_or_else(|| self.err(i, WHOLE_NUMBER))
    }

    /// Argument `i` converted to `list(elem)`, as its elements.
    pub fn list(&self, i: usize, elem: Type) -> Result<Vec<Value>, FunctionError> {
        match self.convert(i, &Type::List(Box::new(elem)))? {
            Value::List(xs) => Ok(xs),
            _ => Err(self.err(i, "list required")),
        }
    }
}
