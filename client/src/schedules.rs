//! Cron schedules (issue 21): a cron expression in a time zone and a job
//! template the scheduler submits at each tick; pause, resume, trigger now,
//! the history of runs.

use crate::client::{Client, decode};
use crate::error::Error;
use crate::types::{Items, Schedule, ScheduleRun, Submitted};
use reqwest::{Method, StatusCode};
use serde_json::Value;

impl Client {
    /// `POST /v1/schedules` (`name`, `cron`, `timezone`, `job`, `overlap`,
    /// `catch_up`) → 201 with the next ticks.
    pub async fn create_schedule(&self, body: &Value) -> Result<Schedule, Error> {
        let response = self
            .request(Method::POST, "/v1/schedules")
            .json(body)
            .send()
            .await?;
        decode(response, StatusCode::CREATED, "schedule").await
    }

    /// `GET /v1/schedules`: every schedule of the tenant, oldest first.
    pub async fn list_schedules(&self) -> Result<Items<Schedule>, Error> {
        self.get_json("/v1/schedules", &[], "schedules").await
    }

    /// `GET /v1/schedules/{id}`.
    pub async fn get_schedule(&self, id: uuid::Uuid) -> Result<Schedule, Error> {
        self.get_json(&format!("/v1/schedules/{id}"), &[], "schedule")
            .await
    }

    /// `POST /v1/schedules/{id}/pause` (`paused: true`) or `/resume`.
    pub async fn pause_schedule(&self, id: uuid::Uuid, paused: bool) -> Result<Schedule, Error> {
        let action = match paused {
            true => "pause",
            false => "resume",
        };
        let response = self
            .request(Method::POST, &format!("/v1/schedules/{id}/{action}"))
            .send()
            .await?;
        decode(response, StatusCode::OK, "schedule").await
    }

    /// `POST /v1/schedules/{id}/trigger` → 202: the template submitted now.
    pub async fn trigger_schedule(&self, id: uuid::Uuid) -> Result<Submitted, Error> {
        let response = self
            .request(Method::POST, &format!("/v1/schedules/{id}/trigger"))
            .send()
            .await?;
        decode(response, StatusCode::ACCEPTED, "schedule trigger").await
    }

    /// `GET /v1/schedules/{id}/runs?limit=`: the latest runs, newest first.
    pub async fn schedule_runs(
        &self,
        id: uuid::Uuid,
        limit: Option<u32>,
    ) -> Result<Items<ScheduleRun>, Error> {
        let query: Vec<(&str, String)> = limit
            .map(|l| ("limit", l.to_string()))
            .into_iter()
            .collect();
        self.get_json(&format!("/v1/schedules/{id}/runs"), &query, "schedule runs")
            .await
    }

    /// `DELETE /v1/schedules/{id}` → 204; its jobs stay.
    pub async fn delete_schedule(&self, id: uuid::Uuid) -> Result<(), Error> {
        self.delete(&format!("/v1/schedules/{id}")).await
    }
}
