//! Copying the PostgreSQL store whole ([`Copyable`]). Values travel in SQLite's terms (booleans
//! as 0 and 1), so a copy between the two stores compares equal.

use super::super::error::{Error, Result};
use super::super::snapshot::{Copyable, Snapshot, Table, Value, TABLES};
use super::{Outcome, PostgresStore};
use postgres::types::{ToSql, Type};

/// The tables whose first column is an identity (`seq`): copied with their numbers, after which
/// the identity continues from the largest.
const NUMBERED: &[&str] = &["channel_assignments", "audit"];

fn value(row: &postgres::Row, i: usize) -> Outcome<Value> {
    let ty = row.columns()[i].type_().clone();
    Ok(if ty == Type::INT8 {
        row.try_get::<_, Option<i64>>(i)?
            .map_or(Value::Null, Value::Integer)
    } else if ty == Type::INT4 {
        row.try_get::<_, Option<i32>>(i)?
            .map_or(Value::Null, |v| Value::Integer(v.into()))
    } else if ty == Type::BOOL {
        row.try_get::<_, Option<bool>>(i)?
            .map_or(Value::Null, |v| Value::Integer(v.into()))
    } else if ty == Type::BYTEA {
        row.try_get::<_, Option<Vec<u8>>>(i)?
            .map_or(Value::Null, Value::Blob)
    } else {
        row.try_get::<_, Option<String>>(i)?
            .map_or(Value::Null, Value::Text)
    })
}

/// `v` as a parameter for a column of type `ty`.
fn param(v: &Value, ty: &Type, column: &str) -> Result<Box<dyn ToSql + Sync>> {
    let wrong = || Error::invalid(format!("column `{column}`: {v:?} does not fit {ty}"));
    Ok(match (v, ty) {
        (Value::Null, t) if *t == Type::INT8 => Box::new(None::<i64>),
        (Value::Null, t) if *t == Type::INT4 => Box::new(None::<i32>),
        (Value::Null, t) if *t == Type::BOOL => Box::new(None::<bool>),
        (Value::Null, t) if *t == Type::BYTEA => Box::new(None::<Vec<u8>>),
        (Value::Null, _) => Box::new(None::<String>),
        (Value::Integer(i), t) if *t == Type::INT8 => Box::new(*i),
        (Value::Integer(i), t) if *t == Type::INT4 => {
            Box::new(i32::try_from(*i).map_err(|_| wrong())?)
        }
        (Value::Integer(i), t) if *t == Type::BOOL => Box::new(*i != 0),
        (Value::Blob(b), t) if *t == Type::BYTEA => Box::new(b.clone()),
        (Value::Text(s), _) => Box::new(s.clone()),
        _ => return Err(wrong()),
    })
}

impl Copyable for PostgresStore {
    fn snapshot(&self) -> Result<Snapshot> {
        self.read(|tx, _| {
            let mut tables = Vec::new();
            for (name, columns) in TABLES {
                let sql = format!(
                    "SELECT {} FROM {name} ORDER BY {}",
                    columns.join(", "),
                    columns[0]
                );
                let mut rows = Vec::new();
                for row in tx.query(sql.as_str(), &[])? {
                    rows.push(
                        (0..columns.len())
                            .map(|i| value(&row, i))
                            .collect::<Outcome<Vec<_>>>()?,
                    );
                }
                tables.push(Table {
                    name: name.to_string(),
                    rows,
                });
            }
            Ok(Snapshot { tables })
        })
    }

    fn load(&self, s: &Snapshot) -> Result<()> {
        self.write(|tx, _| {
            let held: i64 = tx
                .query_one(
                    "SELECT (SELECT count(*) FROM buckets) + (SELECT count(*) FROM tokens)
                            + (SELECT count(*) FROM audit)",
                    &[],
                )?
                .get(0);
            if held > 0 {
                return Err(Error::conflict("the target registry is not empty")
                    .with_hint("migrate into a new database")
                    .into());
            }
            tx.execute("DELETE FROM registry", &[])?;
            // A release may name, as the one it inherited a revocation from, a release inserted
            // after it: those links are set once every release is in.
            let mut inherited: Vec<(String, String)> = Vec::new();
            for (name, columns) in TABLES {
                let table = s
                    .tables
                    .iter()
                    .find(|t| t.name == *name)
                    .ok_or_else(|| Error::invalid(format!("the copy has no table `{name}`")))?;
                let marks: Vec<String> = (1..=columns.len()).map(|i| format!("${i}")).collect();
                let overriding = if NUMBERED.contains(name) {
                    " OVERRIDING SYSTEM VALUE"
                } else {
                    ""
                };
                let sql = format!(
                    "INSERT INTO {name} ({}){overriding} VALUES ({})",
                    columns.join(", "),
                    marks.join(", ")
                );
                let stmt = tx.prepare(&sql)?;
                let types = stmt.params().to_vec();
                let link = columns.iter().position(|c| *c == "revocation_inherited_from");
                for row in &table.rows {
                    if row.len() != columns.len() {
                        return Err(Error::invalid(format!(
                            "a row of `{name}` has {} values, not {}",
                            row.len(),
                            columns.len()
                        ))
                        .into());
                    }
                    let mut values = row.clone();
                    if let (Some(i), Value::Text(from), Value::Text(id)) =
                        (link, row.get(link.unwrap_or(0)).unwrap_or(&Value::Null), &row[0])
                    {
                        inherited.push((id.clone(), from.clone()));
                        values[i] = Value::Null;
                    }
                    let params = values
                        .iter()
                        .zip(&types)
                        .zip(columns.iter())
                        .map(|((v, t), c)| param(v, t, c))
                        .collect::<Result<Vec<_>>>()?;
                    let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| &**p).collect();
                    tx.execute(&stmt, &refs)?;
                }
                if NUMBERED.contains(name) && !table.rows.is_empty() {
                    tx.execute(
                        format!(
                            "SELECT setval(pg_get_serial_sequence('{name}', 'seq'), (SELECT max(seq) FROM {name}))"
                        )
                        .as_str(),
                        &[],
                    )?;
                }
            }
            for (id, from) in &inherited {
                tx.execute(
                    "UPDATE releases SET revocation_inherited_from = $2 WHERE id = $1",
                    &[id, from],
                )?;
            }
            Ok(())
        })
    }
}
