//! [`WriteTx`]: one write transaction on the writer's connection, with the statements it
//! runs often prepared once per connection (each saves a round trip per call).

use std::collections::HashMap;

use postgres::types::ToSql;
use postgres::{Row, Statement, Transaction};

/// Statements prepared on the writer's connection, by their text.
#[derive(Default)]
pub struct Statements(HashMap<&'static str, Statement>);

impl Statements {
    /// Forgets every statement (their connection is gone).
    pub fn clear(&mut self) {
        self.0.clear();
    }
}

pub struct WriteTx<'c> {
    pub tx: Transaction<'c>,
    statements: &'c mut Statements,
}

impl<'c> WriteTx<'c> {
    pub fn new(tx: Transaction<'c>, statements: &'c mut Statements) -> Self {
        Self { tx, statements }
    }

    fn statement(&mut self, sql: &'static str) -> Result<Statement, postgres::Error> {
        if let Some(statement) = self.statements.0.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.tx.prepare(sql)?;
        self.statements.0.insert(sql, statement.clone());
        Ok(statement)
    }

    pub fn execute(
        &mut self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, postgres::Error> {
        let statement = self.statement(sql)?;
        self.tx.execute(&statement, params)
    }

    pub fn query(
        &mut self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, postgres::Error> {
        let statement = self.statement(sql)?;
        self.tx.query(&statement, params)
    }

    pub fn query_one(
        &mut self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Row, postgres::Error> {
        let statement = self.statement(sql)?;
        self.tx.query_one(&statement, params)
    }

    pub fn query_opt(
        &mut self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Row>, postgres::Error> {
        let statement = self.statement(sql)?;
        self.tx.query_opt(&statement, params)
    }

    pub fn commit(self) -> Result<(), postgres::Error> {
        self.tx.commit()
    }
}
