//! `journal`: the request journal (see [`crate::journal`]). In the database, so that several
//! instances share it; it is trimmed to its configured size.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "journal")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Unix seconds of the core's clock.
    pub at: i64,
    pub request_id: String,
    pub protocol: String,
    pub call: String,
    pub actor: String,
    pub status: i32,
    pub duration_ms: f64,
    /// `,customer:42,task:3,`: every entity the request touched, each between commas.
    pub entities: String,
    /// The request (method, path, redacted query and body), capped.
    #[sea_orm(column_type = "Text")]
    pub request: String,
    /// The response body, redacted and capped.
    #[sea_orm(column_type = "Text")]
    pub response: String,
    /// JSON: `[{"entity":"customer:42","change":{field:{"before":…,"after":…}}}]`.
    #[sea_orm(column_type = "Text")]
    pub changes: String,
    /// Bytes of the texts above (what the size cap counts).
    pub size: i64,
    /// The fault rule that fired for the request (`rule 3: error`), or empty.
    pub fault: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
