//! Stored lattice definitions (issue 3). Every query takes the tenant first:
//! another tenant's lattice is simply not found. Deletes are soft.

use catalytic_shared::db::DbError;
use catalytic_shared::ids::{LatticeId, TenantId};
use catalytic_shared::job::LatticeDef;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgPool;

#[derive(Debug, Clone)]
pub struct LatticeRow {
    pub id: LatticeId,
    pub name: String,
    pub definition: Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl LatticeRow {
    pub fn definition(&self) -> Result<LatticeDef, DbError> {
        serde_json::from_value(self.definition.clone())
            .map_err(|e| DbError::Corrupt(format!("lattice {}: {e}", self.id)))
    }
}

pub async fn insert(
    conn: &mut sqlx::PgConnection,
    tenant: TenantId,
    id: LatticeId,
    name: &str,
    definition: &LatticeDef,
    vertices: u64,
) -> Result<LatticeRow, DbError> {
    let definition =
        serde_json::to_value(definition).map_err(|e| DbError::Corrupt(e.to_string()))?;
    Ok(sqlx::query_as!(
        LatticeRow,
        r#"INSERT INTO lattices (id, tenant_id, name, definition, vertices)
           VALUES ($1, $2, $3, $4, $5::float8::numeric)
           RETURNING id AS "id: LatticeId", name, definition, created_at, updated_at"#,
        id as LatticeId,
        tenant as TenantId,
        name,
        definition,
        vertices as f64,
    )
    .fetch_one(&mut *conn)
    .await?)
}

/// A live (not deleted) lattice of this tenant.
pub async fn get(
    pool: &PgPool,
    tenant: TenantId,
    id: LatticeId,
) -> Result<Option<LatticeRow>, DbError> {
    Ok(sqlx::query_as!(
        LatticeRow,
        r#"SELECT id AS "id: LatticeId", name, definition, created_at, updated_at
           FROM lattices WHERE id = $1 AND tenant_id = $2 AND deleted_at IS NULL"#,
        id as LatticeId,
        tenant as TenantId,
    )
    .fetch_optional(pool)
    .await?)
}

/// One page, newest first, starting after `cursor` (the last id seen).
/// Index: `lattices_tenant_live`.
pub async fn list(
    pool: &PgPool,
    tenant: TenantId,
    cursor: Option<LatticeId>,
    limit: i64,
) -> Result<Vec<LatticeRow>, DbError> {
    Ok(sqlx::query_as!(
        LatticeRow,
        r#"SELECT id AS "id: LatticeId", name, definition, created_at, updated_at
           FROM lattices
           WHERE tenant_id = $1 AND deleted_at IS NULL AND ($2::uuid IS NULL OR id < $2)
           ORDER BY id DESC
           LIMIT $3"#,
        tenant as TenantId,
        cursor.map(|c| c.as_uuid()),
        limit,
    )
    .fetch_all(pool)
    .await?)
}

/// Renames and/or redefines; None when there is no such live lattice.
pub async fn update(
    pool: &PgPool,
    tenant: TenantId,
    id: LatticeId,
    name: Option<&str>,
    definition: Option<(&LatticeDef, u64)>,
) -> Result<Option<LatticeRow>, DbError> {
    let (definition, vertices) = match definition {
        Some((d, v)) => (
            Some(serde_json::to_value(d).map_err(|e| DbError::Corrupt(e.to_string()))?),
            Some(v as f64),
        ),
        None => (None, None),
    };
    Ok(sqlx::query_as!(
        LatticeRow,
        r#"UPDATE lattices SET name = COALESCE($3, name),
                  definition = COALESCE($4, definition),
                  vertices = COALESCE($5::float8::numeric, vertices),
                  updated_at = now()
           WHERE id = $1 AND tenant_id = $2 AND deleted_at IS NULL
           RETURNING id AS "id: LatticeId", name, definition, created_at, updated_at"#,
        id as LatticeId,
        tenant as TenantId,
        name,
        definition,
        vertices,
    )
    .fetch_optional(pool)
    .await?)
}

/// Soft delete; false when there was no such live lattice.
pub async fn delete(pool: &PgPool, tenant: TenantId, id: LatticeId) -> Result<bool, DbError> {
    let rows = sqlx::query!(
        "UPDATE lattices SET deleted_at = now() WHERE id = $1 AND tenant_id = $2 AND deleted_at IS NULL",
        id as LatticeId,
        tenant as TenantId,
    )
    .execute(pool)
    .await?
    .rows_affected();
    Ok(rows == 1)
}
