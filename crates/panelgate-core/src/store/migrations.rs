//! Schema migrations (sea-orm-migration). Tables are derived from the entities, so the
//! schema and the code cannot drift apart; indexes are added explicitly.

use sea_orm::{DbErr, Schema};
use sea_orm_migration::prelude::*;

use crate::entity::{
    admins, backup_archives, backup_jobs, backup_tasks, credentials, customers, sequences,
    settings, storage_settings, subscriptions,
};

pub struct Migrator;

#[sea_orm_migration::async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(InitialSchema), Box::new(BackupEngine)]
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
