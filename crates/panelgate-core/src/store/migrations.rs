//! Schema migrations (sea-orm-migration). Tables are derived from the entities, so the
//! schema and the code cannot drift apart; indexes are added explicitly.

use sea_orm::{DbErr, Schema};
use sea_orm_migration::prelude::*;

use crate::entity::{
    admins, backup_archives, backup_jobs, backup_tasks, credentials, customers, funds, invoices,
    order_actions, orders, plans, sequences, sessions, settings, storage_settings, subscriptions,
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
