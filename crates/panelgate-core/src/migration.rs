//! Schema migrations (sea-orm-migration). Tables are derived from the entities, so the
//! schema and the code cannot drift apart; indexes are added explicitly.

use sea_orm::{DbErr, Schema};
use sea_orm_migration::prelude::*;

use crate::entity::{
    admins, backup_jobs, credentials, customers, sequences, settings, subscriptions,
};

pub struct Migrator;

#[sea_orm_migration::async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(InitialSchema)]
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
