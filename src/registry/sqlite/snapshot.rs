//! Copying the SQLite store whole ([`Copyable`]).

use super::super::error::{Error, Result};
use super::super::snapshot::{Copyable, Snapshot, Table, Value, TABLES};
use super::SqliteStore;
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::ToSql;

impl ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Value::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Value::Integer(i) => ToSqlOutput::Borrowed(ValueRef::Integer(*i)),
            Value::Text(t) => ToSqlOutput::Borrowed(ValueRef::Text(t.as_bytes())),
            Value::Blob(b) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
        })
    }
}

fn value(v: ValueRef<'_>) -> Result<Value> {
    Ok(match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Integer(i),
        ValueRef::Text(t) => {
            Value::Text(String::from_utf8(t.to_vec()).map_err(|_| Error::Storage {
                message: "a text value is not UTF-8".into(),
            })?)
        }
        ValueRef::Blob(b) => Value::Blob(b.to_vec()),
        ValueRef::Real(_) => {
            return Err(Error::Storage {
                message: "a real number where kiln stores none".into(),
            })
        }
    })
}

impl Copyable for SqliteStore {
    fn snapshot(&self) -> Result<Snapshot> {
        self.read(|tx, _| {
            let mut tables = Vec::new();
            for (name, columns) in TABLES {
                let sql = format!(
                    "SELECT {} FROM {name} ORDER BY {}",
                    columns.join(", "),
                    columns[0]
                );
                let mut stmt = tx.prepare(&sql)?;
                let mut rows = stmt.query([])?;
                let mut out = Vec::new();
                while let Some(row) = rows.next()? {
                    out.push(
                        (0..columns.len())
                            .map(|i| value(row.get_ref(i)?))
                            .collect::<Result<Vec<_>>>()?,
                    );
                }
                tables.push(Table {
                    name: name.to_string(),
                    rows: out,
                });
            }
            Ok(Snapshot { tables })
        })
    }

    fn load(&self, s: &Snapshot) -> Result<()> {
        self.write(|tx, _| {
            let held: i64 = tx.query_row(
                "SELECT (SELECT count(*) FROM buckets) + (SELECT count(*) FROM tokens)
                        + (SELECT count(*) FROM audit)",
                [],
                |r| r.get(0),
            )?;
            if held > 0 {
                return Err(Error::conflict("the target registry is not empty")
                    .with_hint("migrate into a new database"));
            }
            // A release may name, as the release it inherited a revocation from, one inserted
            // after it: check the references at commit, all at once.
            tx.execute_batch("PRAGMA defer_foreign_keys = ON; DELETE FROM registry;")?;
            for (name, columns) in TABLES {
                let table = s
                    .tables
                    .iter()
                    .find(|t| t.name == *name)
                    .ok_or_else(|| Error::invalid(format!("the copy has no table `{name}`")))?;
                let marks: Vec<String> = (1..=columns.len()).map(|i| format!("?{i}")).collect();
                let sql = format!(
                    "INSERT INTO {name} ({}) VALUES ({})",
                    columns.join(", "),
                    marks.join(", ")
                );
                let mut stmt = tx.prepare(&sql)?;
                for row in &table.rows {
                    if row.len() != columns.len() {
                        return Err(Error::invalid(format!(
                            "a row of `{name}` has {} values, not {}",
                            row.len(),
                            columns.len()
                        )));
                    }
                    stmt.execute(rusqlite::params_from_iter(row.iter()))?;
                }
            }
            Ok(())
        })
    }
}
