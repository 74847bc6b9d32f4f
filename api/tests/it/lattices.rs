use crate::harness::{fields, problem, spawn_app};
use catalytic_shared::tenant::Plan;
use serde_json::{Value, json};

impl crate::harness::TestApp {
    async fn create_lattice(&self, key: &str, body: &Value) -> anyhow::Result<reqwest::Response> {
        Ok(self
            .http
            .post(format!("{}/v1/lattices", self.base))
            .bearer_auth(key)
            .json(body)
            .send()
            .await?)
    }

    fn lattice_request(
        &self,
        method: reqwest::Method,
        key: &str,
        path: &str,
    ) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(key)
    }
}

#[tokio::test]
async fn lattices_are_created_read_listed_updated_and_deleted() -> anyhow::Result<()> {
    let app = spawn_app().await?;
    let response = app
        .create_lattice(&app.key, &json!({"name": "torus", "dimensions": 2, "size": 3, "wrap": true, "blocked": [[1, 1]]}))
        .await?;
    assert_eq!(response.status(), 201);
    let location = response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let created: Value = response.json().await?;
    assert_eq!(
        location,
        format!(
            "/v1/lattices/{}",
            created["id"].as_str().unwrap_or_default()
        )
    );
    assert_eq!(created["vertices"], 9);
    assert_eq!(created["definition"]["wrap"], json!([true, true]));
    // Shown in the shape a create takes (issue 18): coordinates, not indices.
    assert_eq!(created["definition"]["blocked"], json!([[1, 1]]));

    let got: Value = app
        .lattice_request(reqwest::Method::GET, &app.key, &location)
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(got, created);

    let patched: Value = app
        .lattice_request(reqwest::Method::PATCH, &app.key, &location)
        .json(&json!({"name": "renamed", "definition": {"dimensions": 3, "size": 4}}))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(
        (patched["name"].clone(), patched["vertices"].clone()),
        (json!("renamed"), json!(64))
    );

    let deleted = app
        .lattice_request(reqwest::Method::DELETE, &app.key, &location)
        .send()
        .await?;
    assert_eq!(deleted.status(), 204);
    let (status, _) = problem(
        app.lattice_request(reqwest::Method::GET, &app.key, &location)
            .send()
            .await?,
    )
    .await?;
    assert_eq!(status, 404, "a deleted lattice is gone");
    let (status, _) = problem(
        app.lattice_request(reqwest::Method::DELETE, &app.key, &location)
            .send()
            .await?,
    )
    .await?;
    assert_eq!(status, 404);
    app.teardown().await
}

#[tokio::test]
async fn lists_page_with_a_cursor_newest_first() -> anyhow::Result<()> {
    let app = spawn_app().await?;
    let mut ids = Vec::new();
    for i in 0..5 {
        let body: Value = app
            .create_lattice(
                &app.key,
                &json!({"name": format!("l{i}"), "dimensions": 1, "size": 2 + i}),
            )
            .await?
            .json()
            .await?;
        ids.push(body["id"].clone());
    }
    ids.reverse();
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/lattices?limit=2&cursor={c}"),
            None => "/v1/lattices?limit=2".to_owned(),
        };
        let page: Value = app
            .lattice_request(reqwest::Method::GET, &app.key, &path)
            .send()
            .await?
            .json()
            .await?;
        let items = page["items"].as_array().cloned().unwrap_or_default();
        assert!(items.len() <= 2);
        seen.extend(items.iter().map(|i| i["id"].clone()));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, ids, "every lattice once, newest first");
    for bad in [
        "/v1/lattices?limit=0",
        "/v1/lattices?limit=101",
        "/v1/lattices?cursor=nope",
    ] {
        let (status, body) = problem(
            app.lattice_request(reqwest::Method::GET, &app.key, bad)
                .send()
                .await?,
        )
        .await?;
        assert_eq!(status, 422, "{bad}: {body}");
    }
    app.teardown().await
}

#[tokio::test]
async fn another_tenants_lattice_is_404_everywhere() -> anyhow::Result<()> {
    let app = spawn_app().await?;
    let created: Value = app
        .create_lattice(
            &app.key,
            &json!({"name": "mine", "dimensions": 2, "size": 4}),
        )
        .await?
        .json()
        .await?;
    let id = created["id"].as_str().unwrap_or_default().to_owned();
    let other = app.new_tenant_key(Plan::Free).await?;
    let path = format!("/v1/lattices/{id}");
    for method in [reqwest::Method::GET, reqwest::Method::DELETE] {
        let (status, _) = problem(
            app.lattice_request(method.clone(), &other, &path)
                .send()
                .await?,
        )
        .await?;
        assert_eq!(status, 404, "{method}");
    }
    let (status, _) = problem(
        app.lattice_request(reqwest::Method::PATCH, &other, &path)
            .json(&json!({"name": "stolen"}))
            .send()
            .await?,
    )
    .await?;
    assert_eq!(status, 404);
    let listed: Value = app
        .lattice_request(reqwest::Method::GET, &other, "/v1/lattices")
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(listed["items"], json!([]));
    let job = json!({"lattice_id": id, "operation": "components"});
    let (status, _) = problem(app.submit_as(&other, &job).await?).await?;
    assert_eq!(
        status, 404,
        "another tenant's lattice cannot be used for a job"
    );
    assert_eq!(app.submit(&job).await?.status(), 202, "its owner can");
    app.teardown().await
}

#[tokio::test]
async fn jobs_name_a_stored_lattice_until_it_is_deleted() -> anyhow::Result<()> {
    let app = spawn_app().await?;
    let created: Value = app
        .create_lattice(
            &app.key,
            &json!({"name": "grid", "size": [5, 6], "blocked": {"fraction": 0.1, "seed": 3}}),
        )
        .await?
        .json()
        .await?;
    let id = created["id"].as_str().unwrap_or_default().to_owned();
    let response = app
        .submit(&json!({"lattice_id": id, "operation": "analyze"}))
        .await?;
    assert_eq!(response.status(), 202);
    let job: Value = response.json().await?;
    let stored: Value = app
        .get_job_as(&app.key, job["id"].as_str().unwrap_or_default())
        .await?
        .json()
        .await?;
    assert_eq!(
        stored["request"]["lattice"], created["definition"],
        "the job copies the definition"
    );

    let (status, body) = problem(app.submit(&json!({"lattice_id": id, "lattice": {"dimensions": 1, "size": 3}, "operation": "analyze"})).await?).await?;
    assert_eq!(
        (status, fields(&body)),
        (422, vec!["lattice_id".to_owned()])
    );

    app.lattice_request(
        reqwest::Method::DELETE,
        &app.key,
        &format!("/v1/lattices/{id}"),
    )
    .send()
    .await?;
    let (status, _) = problem(
        app.submit(&json!({"lattice_id": id, "operation": "analyze"}))
            .await?,
    )
    .await?;
    assert_eq!(status, 404, "a deleted lattice is 404 for new jobs");
    app.teardown().await
}

#[tokio::test]
async fn bad_lattices_are_422_naming_the_field() -> anyhow::Result<()> {
    let app = spawn_app().await?;
    let cases = [
        (json!({"name": "", "dimensions": 2, "size": 3}), "name"),
        (
            json!({"name": "x", "dimensions": 2, "size": 2, "wrap": true}),
            "definition.wrap",
        ),
        (
            json!({"name": "x", "dimensions": 12, "size": 3}),
            "definition.dimensions",
        ),
        (
            json!({"name": "x", "dimensions": 2, "size": 3, "blocked": [[3, 0]]}),
            "definition.blocked[0][0]",
        ),
        (
            json!({"name": "x", "dimensions": 2, "size": 3, "blocked": {"fraction": -0.1, "seed": 1}}),
            "definition.blocked.fraction",
        ),
    ];
    for (body, field) in cases {
        let (status, problem) = problem(app.create_lattice(&app.key, &body).await?).await?;
        assert_eq!(status, 422, "{body}");
        assert_eq!(fields(&problem), vec![field.to_owned()], "{body}");
    }
    app.teardown().await
}
