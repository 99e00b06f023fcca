//! Schema migrations (sea-orm-migration). Tables are derived from the entities, so the
//! schema and the code cannot drift apart; indexes are added explicitly.

use sea_orm::{DbErr, Schema};
use sea_orm_migration::prelude::*;

use crate::entity::{
    admins, backup_archives, backup_jobs, backup_tasks, cache_version, credentials, customers,
    funds, invoices, journal, order_actions, orders, plans, sequences, sessions, settings,
    storage_settings, subscriptions,
};

pub struct Migrator;

#[sea_orm_migration::async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(InitialSchema),
            Box::new(BackupEngine),
            Box::new(JobTargetDir),
            Box::new(Sessions),
            Box::new(Orders),
            Box::new(CustomerSearch),
            Box::new(Journal),
            Box::new(TaskFaults),
            Box::new(CustomerOrigin),
            Box::new(CacheVersion),
        ]
    }
}

/// `backup_jobs.target_dir`: the job's destination inside the home, decided by the frontend
/// that planned it (the core no longer reads Froxlor's document-root paths). Databases made
/// from the current entities have it already.
struct JobTargetDir;

impl MigrationName for JobTargetDir {
    fn name(&self) -> &str {
        "m0003_job_target_dir"
    }
}

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for JobTargetDir {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.has_column("backup_jobs", "target_dir").await? {
            return Ok(());
        }
        manager
            .alter_table(
                Table::alter()
                    .table(backup_jobs::Entity)
                    .add_column(
                        ColumnDef::new(backup_jobs::Column::TargetDir)
                            .text()
                            .not_null()
                            .default(""),
                    )
                    .to_owned(),
            )
            .await
    }
}

/// `customers.created_via`: the panel API a customer was created through.
struct CustomerOrigin;

impl MigrationName for CustomerOrigin {
    fn name(&self) -> &str {
        "m0009_customer_origin"
    }
}

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for CustomerOrigin {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.has_column("customers", "created_via").await? {
            return Ok(());
        }
        manager
            .alter_table(
                Table::alter()
                    .table(customers::Entity)
                    .add_column(
                        ColumnDef::new(customers::Column::CreatedVia)
                            .string()
                            .not_null()
                            .default(""),
                    )
                    .to_owned(),
            )
            .await
    }
}

/// `cache_version`: the one row every write moves on (see [`crate::store::cache`]).
struct CacheVersion;

impl MigrationName for CacheVersion {
    fn name(&self) -> &str {
        "m0010_cache_version"
    }
}

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for CacheVersion {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use sea_orm::{EntityTrait, Set};
        let schema = Schema::new(manager.get_database_backend());
        manager
            .create_table(
                schema
                    .create_table_from_entity(cache_version::Entity)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        if cache_version::Entity::find_by_id(1)
            .one(db)
            .await?
            .is_none()
        {
            cache_version::Entity::insert(cache_version::ActiveModel {
                id: Set(1),
                version: Set(0),
            })
            .exec(db)
            .await?;
        }
        Ok(())
    }
}

/// `backup_tasks.fail_at`: the progress a fault rule makes a task fail at.
struct TaskFaults;

impl MigrationName for TaskFaults {
    fn name(&self) -> &str {
        "m0008_task_faults"
    }
}

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for TaskFaults {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // A database created after the column joined the entity has it already.
        if manager.has_column("backup_tasks", "fail_at").await? {
            return Ok(());
        }
        manager
            .alter_table(
                Table::alter()
                    .table(backup_tasks::Entity)
                    .add_column(
                        ColumnDef::new(backup_tasks::Column::FailAt)
                            .big_integer()
                            .null(),
                    )
                    .to_owned(),
            )
            .await
    }
}

/// `sessions`: login sessions and one-time keys, shared by every instance.
struct Sessions;

impl MigrationName for Sessions {
    fn name(&self) -> &str {
        "m0004_sessions"
    }
}

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Sessions {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let schema = Schema::new(manager.get_database_backend());
        manager
            .create_table(schema.create_table_from_entity(sessions::Entity))
            .await?;
        // Pruning by age, and an account's sessions (cap, logout on password change).
        let indexes: [(&str, &[sessions::Column]); 4] = [
            (
                "idx_sessions_used",
                &[sessions::Column::Kind, sessions::Column::LastUsed],
            ),
            (
                "idx_sessions_created",
                &[sessions::Column::Kind, sessions::Column::CreatedAt],
            ),
            ("idx_sessions_customer", &[sessions::Column::CustomerId]),
            ("idx_sessions_admin", &[sessions::Column::AdminId]),
        ];
        for (name, cols) in indexes {
            let mut index = Index::create();
            index.name(name).table(sessions::Entity);
            for col in cols {
                index.col(*col);
            }
            manager.create_index(index.to_owned()).await?;
        }
        Ok(())
    }
}

/// SQLite: `customers_search`, a trigram full-text index of the customer columns searches
/// narrow by (see `Customers::scan_with_owners`), kept in step with `customers` by triggers.
/// The other databases scan (issue 11 names their indexes as the next step).
struct CustomerSearch;

/// The customer columns the search index holds (fixed names, never request text).
pub(crate) const SEARCH_COLUMNS: &str =
    "loginname, name, firstname, company, email, customernumber";

impl MigrationName for CustomerSearch {
    fn name(&self) -> &str {
        "m0006_customer_search"
    }
}

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for CustomerSearch {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != sea_orm::DbBackend::Sqlite {
            return Ok(());
        }
        let cols = SEARCH_COLUMNS;
        let new: String = cols
            .split(", ")
            .map(|c| format!("new.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let old: String = cols
            .split(", ")
            .map(|c| format!("old.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let db = manager.get_connection();
        for sql in [
            format!(
                "CREATE VIRTUAL TABLE customers_search USING fts5({cols}, content='customers', \
                 content_rowid='id', tokenize='trigram')"
            ),
            format!(
                "CREATE TRIGGER customers_search_insert AFTER INSERT ON customers BEGIN \
                 INSERT INTO customers_search(rowid, {cols}) VALUES (new.id, {new}); END"
            ),
            format!(
                "CREATE TRIGGER customers_search_delete AFTER DELETE ON customers BEGIN \
                 INSERT INTO customers_search(customers_search, rowid, {cols}) \
                 VALUES ('delete', old.id, {old}); END"
            ),
            format!(
                "CREATE TRIGGER customers_search_update AFTER UPDATE ON customers BEGIN \
                 INSERT INTO customers_search(customers_search, rowid, {cols}) \
                 VALUES ('delete', old.id, {old}); \
                 INSERT INTO customers_search(rowid, {cols}) VALUES (new.id, {new}); END"
            ),
            "INSERT INTO customers_search(customers_search) VALUES ('rebuild')".to_owned(),
        ] {
            db.execute_unprepared(&sql).await?;
        }
        Ok(())
    }
}

/// `journal`: the request journal, read newest first and by time.
struct Journal;

impl MigrationName for Journal {
    fn name(&self) -> &str {
        "m0007_journal"
    }
}

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Journal {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let schema = Schema::new(manager.get_database_backend());
        manager
            .create_table(schema.create_table_from_entity(journal::Entity))
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_journal_at")
                    .table(journal::Entity)
                    .col(journal::Column::At)
                    .to_owned(),
            )
            .await
    }
}

/// Merge the search index's segments into one (SQLite; nothing elsewhere). A bulk load leaves
/// the trigram index in many segments, and every search then reads each of them: on 100,000
/// imported customers a search took 0.25 ms in the index before this and 0.05 ms after it.
pub(crate) async fn compact_search_index(db: &impl ConnectionTrait) -> Result<(), DbErr> {
    if db.get_database_backend() != sea_orm::DbBackend::Sqlite {
        return Ok(());
    }
    db.execute_unprepared("INSERT INTO customers_search(customers_search) VALUES ('optimize')")
        .await
        .map(drop)
}

/// `plans`, `orders`, `order_actions`, `invoices`, `funds`: product orders (httpapi.com backup
/// orders) and their billing.
struct Orders;

impl MigrationName for Orders {
    fn name(&self) -> &str {
        "m0005_orders"
    }
}

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Orders {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let schema = Schema::new(manager.get_database_backend());
        manager
            .create_table(schema.create_table_from_entity(plans::Entity))
            .await?;
        manager
            .create_table(schema.create_table_from_entity(orders::Entity))
            .await?;
        manager
            .create_table(schema.create_table_from_entity(order_actions::Entity))
            .await?;
        manager
            .create_table(schema.create_table_from_entity(invoices::Entity))
            .await?;
        manager
            .create_table(schema.create_table_from_entity(funds::Entity))
            .await?;
        let indexes = [
            Index::create()
                .name("idx_orders_customer")
                .table(orders::Entity)
                .col(orders::Column::CustomerId)
                .to_owned(),
            Index::create()
                .name("idx_orders_admin")
                .table(orders::Entity)
                .col(orders::Column::AdminId)
                .to_owned(),
            Index::create()
                .name("idx_orders_due")
                .table(orders::Entity)
                .col(orders::Column::Status)
                .col(orders::Column::ExpiresAt)
                .to_owned(),
            Index::create()
                .name("idx_order_actions_order")
                .table(order_actions::Entity)
                .col(order_actions::Column::OrderId)
                .col(order_actions::Column::Status)
                .to_owned(),
            Index::create()
                .name("idx_order_actions_customer")
                .table(order_actions::Entity)
                .col(order_actions::Column::CustomerId)
                .to_owned(),
            Index::create()
                .name("idx_invoices_customer")
                .table(invoices::Entity)
                .col(invoices::Column::CustomerId)
                .to_owned(),
        ];
        for index in indexes {
            manager.create_index(index).await?;
        }
        Ok(())
    }
}

struct InitialSchema;

impl MigrationName for InitialSchema {
    fn name(&self) -> &str {
        "m0001_initial_schema"
    }
}

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for InitialSchema {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let schema = Schema::new(manager.get_database_backend());
        manager
            .create_table(schema.create_table_from_entity(settings::Entity))
            .await?;
        manager
            .create_table(schema.create_table_from_entity(sequences::Entity))
            .await?;
        manager
            .create_table(schema.create_table_from_entity(admins::Entity))
            .await?;
        manager
            .create_table(schema.create_table_from_entity(customers::Entity))
            .await?;
        manager
            .create_table(schema.create_table_from_entity(credentials::Entity))
            .await?;
        manager
            .create_table(schema.create_table_from_entity(subscriptions::Entity))
            .await?;
        manager
            .create_table(schema.create_table_from_entity(backup_jobs::Entity))
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_customers_admin")
                    .table(customers::Entity)
                    .col(customers::Column::AdminId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_credentials_lookup")
                    .table(credentials::Entity)
                    .col(credentials::Column::Kind)
                    .col(credentials::Column::PublicKey)
                    .col(credentials::Column::Lookup)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_backup_jobs_customer")
                    .table(backup_jobs::Entity)
                    .col(backup_jobs::Column::CustomerId)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}

/// Backup tasks, archives and remote-storage settings (issue 3).
struct BackupEngine;

impl MigrationName for BackupEngine {
    fn name(&self) -> &str {
        "m0002_backup_engine"
    }
}

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for BackupEngine {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let schema = Schema::new(manager.get_database_backend());
        manager
            .create_table(schema.create_table_from_entity(backup_tasks::Entity))
            .await?;
        manager
            .create_table(schema.create_table_from_entity(backup_archives::Entity))
            .await?;
        manager
            .create_table(schema.create_table_from_entity(storage_settings::Entity))
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_backup_tasks_state")
                    .table(backup_tasks::Entity)
                    .col(backup_tasks::Column::State)
                    .to_owned(),
            )
            .await?;
        // One task per Froxlor job, even when several instances schedule at once.
        manager
            .create_index(
                Index::create()
                    .name("uq_backup_tasks_job")
                    .table(backup_tasks::Entity)
                    .col(backup_tasks::Column::JobId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use sea_orm::ConnectionTrait;
    use sea_orm_migration::SchemaManager;

    // A database made before `target_dir` existed gets the column from m0003 (and a new one,
    // made from the entities, is left alone).
    #[tokio::test]
    async fn job_target_dir_is_added_to_older_databases() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("old.db").display());
        let db = crate::db::connect(&url).await.unwrap().writer;
        db.execute_unprepared("ALTER TABLE backup_jobs DROP COLUMN target_dir")
            .await
            .unwrap();
        db.execute_unprepared(
            "DELETE FROM seaql_migrations WHERE version = 'm0003_job_target_dir'",
        )
        .await
        .unwrap();
        assert!(!SchemaManager::new(&db)
            .has_column("backup_jobs", "target_dir")
            .await
            .unwrap());
        db.close().await.unwrap();
        let db = crate::db::connect(&url).await.unwrap().writer;
        assert!(SchemaManager::new(&db)
            .has_column("backup_jobs", "target_dir")
            .await
            .unwrap());
    }
}
